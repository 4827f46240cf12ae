"""Tansu killed and restarted under a stream of updates: the relay process heals by itself.

Tansu keeps its log in memory, so a restart loses what it held; what the project can lose is an
outbox event, so the drill counts: every event ends up published, and the new broker holds every
event published after the restart exactly once, in per-key order. No process is touched.
"""

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from events.envelope import driver_key
from events.models import OutboxEvent
from events.publishing import publish
from tests.events.samples import driver_status_data
from tests.kafka import KafkaTestBroker
from tests.processes import BASE_DIR, test_database_url, wait_for
from tests.reliability.report import DrillResult, record, scale
from tests.tansu import TansuBroker

DRIVERS = 10


class UpdateStream:
    """A writer thread: one event per driver per round, each key's `sequence` counting up, until stopped."""

    def __init__(self) -> None:
        self.written = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="update-stream", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        sequence = 0
        try:
            while not self._stop.is_set():
                with transaction.atomic():
                    for driver_id in range(1, DRIVERS + 1):
                        publish(
                            event_type="driver.status_changed",
                            key=driver_key(driver_id),
                            data=driver_status_data(driver_id=driver_id, sequence=sequence),
                        )
                self.written += DRIVERS
                sequence += 1
                self._stop.wait(0.02)  # pacing: a steady stream, not a burst
        except BaseException as exc:
            self.error = exc
        finally:
            connection.close()

    def start(self) -> "UpdateStream":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        assert self.error is None, self.error


def start_relay(*, bootstrap: str, prefix: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "KAFKA_TOPIC_PREFIX": prefix,
        "OUTBOX_RELAY_STALL_SECONDS": "3",
    }
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "manage.py", "relay_outbox"],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def published() -> int:
    return OutboxEvent.objects.filter(published_at__isnull=False).count()


def published_at_least(count: int) -> bool:
    return published() >= count


def published_since(since: datetime) -> bool:
    return OutboxEvent.objects.filter(published_at__gte=since).exists()


@pytest.mark.django_db(transaction=True)
def test_the_relay_recovers_by_itself_when_the_broker_restarts(tmp_path, settings):
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings.KAFKA_TOPIC_PREFIX = prefix
    between, after_restart, restarts = scale(100, 1000), scale(200, 3000), scale(1, 3)
    with TansuBroker(log=tmp_path / "tansu.log") as tansu:
        settings.KAFKA_BOOTSTRAP_SERVERS = tansu.bootstrap
        broker = KafkaTestBroker(bootstrap=tansu.bootstrap, prefix=prefix)
        relay_log = tmp_path / "relay.log"
        relay = start_relay(bootstrap=tansu.bootstrap, prefix=prefix, log=relay_log)
        stream = UpdateStream().start()
        recover_seconds = 0.0
        try:
            for _ in range(restarts):
                target = published() + between
                wait_for(partial(published_at_least, target), timeout=60, what=f"the relay publishing ({relay_log})")
                tansu.kill()
                restarted_at = timezone.now()
                restarted = time.monotonic()
                tansu.start()
                wait_for(
                    partial(published_since, restarted_at),
                    timeout=60,
                    what=f"a publication after the restart ({relay_log})",
                )
                recover_seconds = max(recover_seconds, time.monotonic() - restarted)
            written_at_restart = stream.written
            wait_for(lambda: stream.written >= written_at_restart + after_restart, timeout=120, what="more updates")
            stream.stop()
            wait_for(
                lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(),
                timeout=60,
                what=f"every event published ({relay_log})",
            )
            assert relay.poll() is None, relay_log.read_text()  # the same relay process throughout

            messages: list[Any] = broker.read(broker.topic(), timeout=30)
        finally:
            stream.stop()
            relay.terminate()
            relay.wait(30)
            broker.close()

    log = relay_log.read_text()
    assert "replacing the producer" in log, log[-3000:]
    unpublished = OutboxEvent.objects.filter(published_at__isnull=True).count()
    # Only the last broker can be read: it must hold every event written after the old one was killed (an event
    # the old broker acknowledged just before the kill may be marked published after it, so the publication
    # time cannot tell which broker took it).
    expected = {
        str(event_id)
        for event_id in OutboxEvent.objects.filter(created_at__gte=restarted_at).values_list("event_id", flat=True)
    }
    copies = Counter(dict(m.headers())["event_id"].decode() for m in messages)
    missing = expected - set(copies)
    duplicates = sum(count - 1 for count in copies.values() if count > 1)
    sequences: dict[bytes, list[int]] = defaultdict(list)
    for message in messages:
        sequences[message.key() or b""].append(json.loads(message.value())["data"]["sequence"])
    out_of_order = [key for key, seen in sequences.items() if seen != sorted(seen)]
    record(
        DrillResult(
            drill="relay: Tansu killed and restarted",
            requests=stream.written,
            failed_requests=0,
            events_lost=unpublished + len(missing),
            duplicate_effects=duplicates,
            recover_seconds=recover_seconds,
        )
    )
    assert unpublished == 0
    assert not missing, f"{len(missing)} events published after the restart are not on the broker"
    assert duplicates == 0
    assert not out_of_order
