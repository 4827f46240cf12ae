"""The waseat consumer calls WASEAT with no database transaction open, then records the close.
A consumer killed between the call and the record repeats the call, with the same idempotency key."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import transaction
from django.utils import timezone

from consumers.models import ProcessedEvent
from delivery.models import Delivery, DeliveryStatus
from delivery.selectors.snapshots import delivery_snapshot, delivery_with_related
from events.envelope import driver_key
from events.publishing import publish
from events.relay import OutboxRelay
from side_effects.models import EffectKind, EffectRecord
from tests.factories import DriverFactory, order_for
from tests.processes import BASE_DIR, test_database_url, wait_for
from tests.reliability.report import DrillResult, record


class Waseat:
    """A local WASEAT: records each close with the number of open database transactions at that moment,
    and kills the consumer instead of answering the first one."""

    def __init__(self, database_url: str) -> None:
        self.calls: list[dict[str, Any]] = []
        self.consumer: subprocess.Popen[bytes] | None = None
        self._database_url = database_url
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                state.calls.append(
                    {"key": self.headers.get("Idempotency-Key"), "open_transactions": state.open_transactions()}
                )
                if len(state.calls) == 1 and state.consumer is not None:
                    state.consumer.kill()  # dies after the call reached WASEAT, before it recorded the close
                    state.consumer.wait(10)
                    return
                body = b"{}"
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def open_transactions(self) -> int:
        with psycopg.connect(self._database_url) as conn, conn.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            )
            row = cursor.fetchone()
            return int(row[0]) if row else 0

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def start_waseat_consumer(kafka: Any, waseat: Waseat, tmp_path: Path, log_name: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "KAFKA_TOPIC_PREFIX": kafka.prefix,
        "WASEAT_BASE_URL": waseat.url,
        "WASEAT_API_KEY": "test-key",
        "HTTP_CLIENT_TIMEOUT_SECONDS": "30",
        "VAR_DIR": str(tmp_path),
    }
    with (tmp_path / log_name).open("wb") as output:
        process = subprocess.Popen(
            # Static membership: the restarted process takes the killed one's place without a rebalance.
            [sys.executable, "manage.py", "consume_waseat", "--instance-id", "test"],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    waseat.consumer = process
    return process


@pytest.mark.django_db(transaction=True)
def test_a_crash_between_the_call_and_the_record_repeats_the_call_with_the_same_key(kafka, tmp_path):
    waseat = Waseat(test_database_url())
    order = order_for()
    delivery = Delivery.objects.create(
        order=order, driver=DriverFactory.create(), status=DeliveryStatus.DELIVERED, finished_at=timezone.now()
    )
    with transaction.atomic():
        snapshot = delivery_snapshot(delivery_with_related().get(pk=delivery.pk))
        event = publish(event_type="delivery.delivered", key=driver_key(delivery.driver_id), data=snapshot)
    OutboxRelay().publish_pending()
    try:
        first = start_waseat_consumer(kafka, waseat, tmp_path, "first.log")
        wait_for(lambda: first.poll() is not None, timeout=60, what="the first consumer to be killed at its call")
        assert len(waseat.calls) == 1
        assert not EffectRecord.objects.filter(kind=EffectKind.WASEAT_CLOSE, outcome="ok").exists()
        assert not ProcessedEvent.objects.filter(consumer="waseat").exists()

        restarted = time.monotonic()
        second = start_waseat_consumer(kafka, waseat, tmp_path, "second.log")
        try:
            wait_for(
                lambda: ProcessedEvent.objects.filter(consumer="waseat", event_id=event.id).exists(),
                timeout=60,
                what="the restarted consumer to close the order",
            )
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
        recover_seconds = time.monotonic() - restarted
        assert second.returncode == 0, (tmp_path / "second.log").read_text()
    finally:
        waseat.close()

    key = f"close-{order.albaik_identifier}"
    assert waseat.calls == [{"key": key, "open_transactions": 0}, {"key": key, "open_transactions": 0}]
    closes = EffectRecord.objects.filter(kind=EffectKind.WASEAT_CLOSE)
    record(
        DrillResult(
            drill="waseat consumer killed between the close and its record",
            requests=1,
            failed_requests=0,
            events_lost=0 if closes.filter(outcome="ok").exists() else 1,
            duplicate_effects=max(closes.filter(outcome="ok").count() - 1, 0),
            recover_seconds=round(recover_seconds, 2),
        )
    )
    assert [(c.outcome, c.path) for c in closes] == [("ok", "consumer")]
    assert json.loads(json.dumps(closes[0].detail))["albaik_identifier"] == order.albaik_identifier
