"""The arroyo runtime's flow control against the real broker: retries that pause only their
partition, batches, skipped work, the dead-letter limit across restarts, and health."""

import json
import signal
import time
import uuid
from collections import defaultdict
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from prometheus_client import REGISTRY

from consumers.errors import PermanentFailure
from consumers.models import DeadLetter, ProcessedEvent
from consumers.registry import ConsumerDefinition, register
from consumers.runtime.health import ProgressHealth
from events.envelope import Event, driver_key
from events.publishing import publish
from events.relay import OutboxRelay
from integrations.http import TransientHTTPError
from tests.events.samples import driver_status_data, publish_driver_events
from tests.kafka import TCPGate
from tests.processes import wait_for


def partitions_of(kafka) -> dict[str, int]:
    """Key -> partition, as the broker placed the published events."""
    return {m.key().decode(): m.partition() for m in kafka.read(kafka.topic())}


def processed(name: str) -> int:
    return ProcessedEvent.objects.filter(consumer=name).count()


@pytest.mark.django_db(transaction=True)
def test_a_retrying_partition_pauses_alone_while_polling_and_other_partitions_go_on(kafka, consumer):
    applied: dict[str, list[int]] = defaultdict(list)
    broken = {"driver-1"}
    attempts: list[float] = []

    def handle(event: Event) -> None:
        if event.key in broken:
            attempts.append(time.monotonic())
            raise TransientHTTPError("HTTP 503")
        transaction.on_commit(lambda: applied[event.key].append(event.data["sequence"]))

    definition = ConsumerDefinition(
        name="paused", handlers={"driver.status_changed": handle}, retry_backoff_seconds=0.05, max_attempts=10_000
    )
    publish_driver_events(drivers=12, per_driver=3)
    OutboxRelay().publish_pending()
    placed = partitions_of(kafka)
    stuck = placed["driver-1"]
    assert len(set(placed.values())) > 1, "every key landed in one partition"
    consumer(definition)

    # Every partition but the retrying one is done, while driver-1 is still being retried.
    flowing = {key for key, partition in placed.items() if partition != stuck}
    wait_for(lambda: {k for k, seqs in applied.items() if seqs == [0, 1, 2]} == flowing, timeout=30, what="others")
    # Polling goes on: events published now, on other partitions, are handled too.
    later = [e for e in publish_driver_events(drivers=12, per_driver=1) if placed[e.key] != stuck]
    OutboxRelay().publish_pending()
    wait_for(lambda: all(len(applied[e.key]) == 4 for e in later), timeout=30, what="the later events")
    # Keys behind the failing message in its partition wait: per-key order.
    assert not any(applied[key] for key, partition in placed.items() if partition == stuck)
    wait_for(lambda: len(attempts) >= 3, timeout=10, what="retries of driver-1")
    assert REGISTRY.get_sample_value("consumer_partitions_retrying", {"consumer": "paused"}) == 1

    broken.clear()
    wait_for(lambda: applied["driver-1"] == [0, 1, 2, 0], timeout=30, what="driver-1 after the fix")
    behind = [key for key, partition in placed.items() if partition == stuck]
    wait_for(lambda: all(applied[key] == [0, 1, 2, 0] for key in behind), timeout=30, what="keys behind, in order")


@pytest.mark.django_db(transaction=True)
def test_a_batch_is_one_transaction_and_a_failure_in_it_keeps_the_others_once_and_in_order(kafka, consumer):
    transactions: set[int] = set()
    applied: list[int] = []
    failed: set[uuid.UUID] = set()

    def handle(event: Event) -> None:
        sequence = event.data["sequence"]
        if sequence == 150 and event.id not in failed:
            failed.add(event.id)
            raise RuntimeError("deadlock detected")
        with connection.cursor() as cursor:
            cursor.execute("SELECT txid_current()")
            transactions.add(cursor.fetchone()[0])
        transaction.on_commit(lambda: applied.append(sequence))

    definition = ConsumerDefinition(
        name="batched", handlers={"driver.status_changed": handle}, retry_backoff_seconds=0.01, batch_size=100
    )
    events = publish_driver_events(drivers=1, per_driver=300)
    OutboxRelay().publish_pending()
    duplicate = events[10]
    kafka.produce(kafka.topic(), duplicate.to_json(), key=duplicate.key)  # a redelivery of an earlier event
    consumer(definition)

    wait_for(lambda: processed("batched") == 300, timeout=60, what="300 processed")
    wait_for(lambda: sum(kafka.committed(definition.group, kafka.topic()).values()) == 301, timeout=10, what="commit")
    assert applied == list(range(300))  # each once, in order, the failed one retried in its place
    assert len(transactions) < 30  # batches, not one transaction per message
    assert failed


@pytest.mark.django_db(transaction=True)
def test_work_done_in_the_request_is_skipped_without_touching_the_database(kafka, consumer):
    handled: list[uuid.UUID] = []
    definition = ConsumerDefinition(
        name="skipping", work="driver_status", handlers={"driver.status_changed": lambda e: handled.append(e.id)}
    )
    with transaction.atomic():
        done_in_request = [
            publish(
                event_type="driver.status_changed",
                key=driver_key(driver_id),
                data=driver_status_data(driver_id=driver_id),
                handled_synchronously=["driver_status"],
            )
            for driver_id in range(1, 6)
        ]
        left = publish(event_type="driver.status_changed", key=driver_key(9), data=driver_status_data(driver_id=9))
    OutboxRelay().publish_pending()
    consumer(definition)

    wait_for(lambda: sum(kafka.committed(definition.group, kafka.topic()).values()) == 6, timeout=30, what="commit")
    assert handled == [left.id]
    assert list(ProcessedEvent.objects.filter(consumer="skipping").values_list("event_id", flat=True)) == [left.id]
    assert not ProcessedEvent.objects.filter(event_id__in=[e.id for e in done_in_request]).exists()


def always_fails(event: Event) -> None:
    raise PermanentFailure("every message fails after a bad deploy")


def consume_until_halted(name: str) -> None:
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    with pytest.raises(CommandError) as caught:
        call_command("consume", name)
    assert caught.value.returncode == 3
    assert (signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)) == handlers


@pytest.mark.django_db(transaction=True)
def test_the_dead_letter_limit_survives_a_restart_until_it_is_reset(kafka):
    definition = ConsumerDefinition(
        name="limited", handlers={"driver.status_changed": always_fails}, dlq_ratio_limit=0.5, dlq_ratio_window=10
    )
    register(definition)
    publish_driver_events(drivers=1, per_driver=30)  # one key: one partition
    assert OutboxRelay().publish_pending() == 30

    def dead_letters() -> int:
        return len(kafka.read(definition.dlq_topic))

    def committed() -> int:
        return sum(kafka.committed(definition.group, kafka.topic()).values())

    consume_until_halted("limited")
    # The 10th message would make 10 failures out of 10: it is neither dead-lettered nor committed.
    assert (dead_letters(), committed(), DeadLetter.objects.filter(consumer="limited").count()) == (9, 9, 9)

    consume_until_halted("limited")  # a restart stops at the same message: the limit was kept
    assert (dead_letters(), committed()) == (9, 9)

    out = StringIO()
    call_command("dead_letter_limit", "limited", "--reset", "--json", stdout=out)
    assert json.loads(out.getvalue())["cleared"] == 9
    # Counted afresh (cleared ones count as not failed): offsets 9-12 go, the 5th of the last 10 stops it.
    consume_until_halted("limited")
    assert (dead_letters(), committed()) == (13, 13)


def test_health_is_refreshed_only_while_the_consumer_makes_progress(tmp_path: Path):
    health = ProgressHealth(consumer="probe", path=tmp_path / "probe.alive", stall_seconds=0.2)
    health.beat()
    assert json.loads(health.path.read_text())["pending"] == 0  # idle is healthy
    health.pending, health._touched_at = 5, 0.0
    health.progressed()
    health.beat()
    assert health.healthy()
    time.sleep(0.3)  # no message finished for longer than the stall limit
    assert not health.healthy()
    before = health.path.stat().st_mtime
    health._touched_at = 0.0
    health.beat()
    assert health.path.stat().st_mtime == before


def health_check(path: Path, max_age: float) -> bool:
    try:
        call_command(
            "consumer_health", "any", "--liveness-file", str(path), "--max-age", str(max_age), stdout=StringIO()
        )
    except CommandError:
        return False
    return True


@pytest.mark.django_db(transaction=True)
def test_a_wedged_dead_letter_write_is_unhealthy_until_it_goes_through(kafka, consumer, tmp_path, settings):
    settings.CONSUMER_HEALTH_STALL_SECONDS = 1.0
    gate = TCPGate(kafka.bootstrap)  # the dead-letter producer's only way to the broker, closed for now
    definition = ConsumerDefinition(name="wedged", handlers={"driver.status_changed": always_fails})
    health = tmp_path / "wedged.alive"
    publish_driver_events(drivers=1, per_driver=1)
    OutboxRelay().publish_pending()
    consumer(definition, liveness_file=health, dead_letter_bootstrap=gate.address)

    wait_for(lambda: DeadLetter.objects.filter(consumer="wedged").exists(), timeout=30, what="the dead letter")
    wait_for(lambda: not health_check(health, max_age=1.5), timeout=15, what="the consumer to look unhealthy")
    assert kafka.committed(definition.group, kafka.topic()) == {}  # not committed before it is acknowledged

    gate.open()
    try:
        wait_for(lambda: len(kafka.read(definition.dlq_topic)) == 1, timeout=30, what="the dead letter written")
        wait_for(lambda: health_check(health, max_age=1.5), timeout=15, what="healthy again")
        wait_for(lambda: sum(kafka.committed(definition.group, kafka.topic()).values()) == 1, timeout=10, what="commit")
    finally:
        gate.close()
