"""`manage.py consume` as a real process: killed mid-stream, and asked to stop."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from consumers.models import ProcessedEvent
from events.relay import OutboxRelay
from side_effects.models import EffectRecord
from tests.events.samples import publish_driver_events
from tests.processes import BASE_DIR, test_database_url, wait_for


def start_consumer(kafka, tmp_path: Path, log_name: str) -> tuple[subprocess.Popen[bytes], Path]:
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap,
        "KAFKA_TOPIC_PREFIX": kafka.prefix,
        "CONSUMER_EXTRA_MODULES": "tests.consumers.registered",
        "TEST_HANDLER_DELAY": "0.02",
        "KAFKA_CONSUMER_SESSION_TIMEOUT_MS": "6000",
        "VAR_DIR": str(tmp_path),
    }
    log = tmp_path / log_name
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "consume", "test_effects"],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return process, log


def effects() -> int:
    return EffectRecord.objects.count()


@pytest.mark.django_db(transaction=True)
def test_a_consumer_killed_mid_stream_loses_nothing_and_applies_nothing_twice(kafka, tmp_path):
    events = publish_driver_events(drivers=10, per_driver=20)
    assert OutboxRelay().publish_pending() == 200

    first, log = start_consumer(kafka, tmp_path, "first.log")
    try:
        wait_for(lambda: effects() >= 40, timeout=60, what=f"the first consumer to get going ({log})")
    finally:
        first.kill()  # SIGKILL: no commit, no close
        first.wait(10)
    at_kill = effects()
    assert at_kill < 200, "the stream was over before the kill"
    # At-least-once: what is committed was processed; the rest will be redelivered.
    assert sum(kafka.committed(f"{kafka.prefix}test_effects", kafka.topic()).values()) <= at_kill

    second, log = start_consumer(kafka, tmp_path, "second.log")
    try:
        wait_for(lambda: effects() >= 200, timeout=90, what=f"the restarted consumer to finish ({log})")
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    assert second.returncode == 0, log.read_text()

    applied = list(EffectRecord.objects.values_list("event_id", flat=True))
    assert sorted(map(str, applied)) == sorted(str(e.id) for e in events)  # all there, none twice
    assert ProcessedEvent.objects.filter(consumer="test_effects").count() == 200


@pytest.mark.django_db(transaction=True)
def test_sigterm_finishes_the_message_in_hand_commits_and_exits_0(kafka, tmp_path):
    publish_driver_events(drivers=5, per_driver=60)
    assert OutboxRelay().publish_pending() == 300

    process, log = start_consumer(kafka, tmp_path, "consumer.log")
    try:
        wait_for(lambda: effects() >= 30, timeout=60, what=f"the consumer to get going ({log})")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert process.returncode == 0, log.read_text()
    assert "stopped cleanly" in log.read_text()

    processed = ProcessedEvent.objects.filter(consumer="test_effects").count()
    assert 30 <= processed < 300
    assert effects() == processed
    # Everything processed is committed, and nothing more: each partition starts at offset 0.
    committed = kafka.committed(f"{kafka.prefix}test_effects", kafka.topic())
    assert sum(committed.values()) == processed
