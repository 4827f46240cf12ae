"""The customer_notifications consumer, a real process, is SIGKILLed mid-stream and restarted.

Counted at the push gateway (a real local server, idempotent by `Idempotency-Key` like the real
one): every status event reaches the customer, none under two keys; redeliveries after the kill
carry the same key, so the gateway applies them once.
"""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from waffle.models import Flag

from delivery.models import DriverStatus
from delivery.services.orders import ItemRequest, order_place
from events.models import OutboxEvent
from events.relay import OutboxRelay
from tests.factories import BranchFactory, CustomerFactory, DriverFactory, MenuItemFactory
from tests.http_servers import RecordingServer, Reply
from tests.processes import BASE_DIR, test_database_url, wait_for
from tests.reliability.report import DrillResult, record, scale

pytestmark = pytest.mark.django_db(transaction=True)


def start_consumer(kafka: Any, push: RecordingServer, tmp_path: Path, log_name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "KAFKA_TOPIC_PREFIX": kafka.prefix,
        "KAFKA_CONSUMER_SESSION_TIMEOUT_MS": "6000",
        "PUSH_GATEWAY_URL": push.url,
        "VAR_DIR": str(tmp_path),
    }
    with (tmp_path / log_name).open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "manage.py", "consume", "customer_notifications"],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def test_a_killed_consumer_loses_no_notification_and_sends_none_twice(
    kafka: Any, recording_server: RecordingServer, tmp_path: Path
) -> None:
    push = recording_server
    push.answer = lambda request: Reply(status=200, delay=0.02)  # a gateway that takes a moment
    count = scale(40, 300)
    Flag.objects.create(name="kafka_customer_notification", everyone=True)
    branch = BranchFactory.create()
    item = MenuItemFactory.create()
    for _ in range(count):
        DriverFactory.create(status=DriverStatus.AVAILABLE, latitude=branch.latitude, longitude=branch.longitude)
        order_place(
            customer=CustomerFactory.create(),
            branch_id=branch.pk,
            latitude=branch.latitude,
            longitude=branch.longitude,
            items=[ItemRequest(menu_item_id=item.pk, quantity=1)],
        )
    expected = {str(e) for e in OutboxEvent.objects.filter(type="trip.assigned").values_list("event_id", flat=True)}
    assert len(expected) == count
    OutboxRelay().publish_pending()

    def keys() -> Counter[str]:
        return Counter(r.headers["Idempotency-Key"] for r in list(push.requests))

    first = start_consumer(kafka, push, tmp_path, "first.log")
    try:
        wait_for(lambda: len(keys()) >= count // 4, timeout=60, what="the consumer to get going")
    finally:
        first.kill()  # SIGKILL: no commit, no close
        first.wait(10)
    killed_at = time.monotonic()
    assert len(keys()) < count, "the stream was over before the kill"

    second = start_consumer(kafka, push, tmp_path, "second.log")
    try:
        wait_for(lambda: set(keys()) >= expected, timeout=120, interval=0.2, what="every notification")
        recovered = time.monotonic() - killed_at
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)

    delivered = keys()
    by_status: Counter[tuple[str, str]] = Counter()
    for key in delivered:
        body = next(r.body for r in push.requests if r.headers["Idempotency-Key"] == key)
        by_status[(body["albaik_identifier"], body["status"])] += 1
    record(
        DrillResult(
            drill=f"notification consumer SIGKILLed mid-stream ({count} events)",
            requests=sum(delivered.values()),
            failed_requests=0,
            events_lost=len(expected - set(delivered)),
            # Two keys for one order's status would be two pushes the gateway cannot merge.
            duplicate_effects=sum(n - 1 for n in by_status.values()) + len(set(delivered) - expected),
            recover_seconds=round(recovered, 1),
        )
    )
    assert set(delivered) == expected
    assert set(by_status.values()) == {1}
    assert second.returncode == 0
