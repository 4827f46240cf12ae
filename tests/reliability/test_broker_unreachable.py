"""The network to Kafka is down for 30 s while drivers keep the API busy: no request fails, no event is lost.

The web server is a real uvicorn process; the relay runs on a thread behind a TCP gate to the real
broker. While the gate is closed the requests answer from PostgreSQL and their events wait in the
outbox; when it opens, every event reaches the topic exactly once.
"""

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from delivery.models import DriverStatus
from delivery.services.accounts import token_issue
from events.models import OutboxEvent
from tests.driver_api.queries import UPDATE_DRIVER_STATUS
from tests.factories import DriverFactory
from tests.kafka import TCPGate
from tests.processes import wait_for
from tests.reliability.report import DrillResult, record, scale

pytestmark = pytest.mark.django_db(transaction=True)


def test_broker_unreachable_under_a_stream_of_updates(kafka: Any, relay: Any, web: Any) -> None:
    outage_seconds = scale(3, 30)
    tokens = [token_issue(user=DriverFactory.create(status=DriverStatus.UNAVAILABLE).user) for _ in range(8)]
    base = web(workers=2, KAFKA_BOOTSTRAP_SERVERS=kafka.bootstrap, KAFKA_TOPIC_PREFIX=kafka.prefix)
    gate = TCPGate(kafka.bootstrap)  # closed: connections to the broker are refused
    relay(bootstrap=gate.address)
    outcomes: list[bool] = []
    lock = threading.Lock()
    deadline = time.monotonic() + outage_seconds

    def stream(token: str) -> None:
        """One driver going available and unavailable as fast as the API answers."""
        with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Token {token}"}) as client:
            status = "AVAILABLE"
            while time.monotonic() < deadline:
                response = client.post(
                    "/graphql/", json={"query": UPDATE_DRIVER_STATUS, "variables": {"status": status}}
                )
                ok = response.status_code == 200 and response.json()["data"]["updateDriverStatus"]["errors"] == []
                with lock:
                    outcomes.append(ok)
                status = "UNAVAILABLE" if status == "AVAILABLE" else "AVAILABLE"

    with ThreadPoolExecutor(max_workers=len(tokens)) as pool:
        list(pool.map(stream, tokens))
    written = list(OutboxEvent.objects.values_list("event_id", flat=True))
    assert written, "the stream wrote no events"
    assert not OutboxEvent.objects.filter(published_at__isnull=False).exists()  # the broker was unreachable

    gate.open()
    reopened = time.monotonic()
    try:
        wait_for(
            lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(),
            timeout=60,
            what="the outbox to drain",
        )
        recovered = time.monotonic() - reopened
    finally:
        gate.close()
    sent = Counter(dict(m.headers())["event_id"].decode() for m in kafka.read(kafka.topic()))
    expected = Counter(str(event_id) for event_id in written)
    record(
        DrillResult(
            drill=f"broker unreachable {outage_seconds} s under a stream of updates",
            requests=len(outcomes),
            failed_requests=outcomes.count(False),
            events_lost=sum((expected - sent).values()),
            duplicate_effects=sum((sent - expected).values()),
            recover_seconds=round(recovered, 1),
        )
    )
    assert all(outcomes)
    assert sent == expected
