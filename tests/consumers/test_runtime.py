"""The consumer runtime against the real broker, with consumers defined here."""

import json
import uuid

import pytest
from django.db import connection, transaction
from prometheus_client import REGISTRY

from consumers.errors import InvalidMessage, PermanentFailure
from consumers.models import ProcessedEvent
from consumers.registry import ConsumerDefinition
from events.envelope import Event, driver_key
from events.models import OutboxEvent
from events.publishing import publish
from events.relay import OutboxRelay
from integrations.http import PermanentHTTPError, TransientHTTPError
from tests.events.samples import driver_status_data
from tests.processes import wait_for


def headers_of(message) -> dict[str, str]:
    return {name: value.decode() for name, value in message.headers()}


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.mark.django_db(transaction=True)
def test_publish_relay_consume_round_trip(kafka, relay, consumer, tmp_path):
    received: list[Event] = []
    definition = ConsumerDefinition(name="round_trip", handlers={"driver.status_changed": received.append})
    processed_before = sample("consumer_messages_processed_total", {"consumer": "round_trip", "outcome": "processed"})
    liveness = tmp_path / "round_trip.alive"
    runner = consumer(definition, liveness_file=liveness)
    relay()
    with transaction.atomic():
        event = publish(event_type="driver.status_changed", key=driver_key(7), data=driver_status_data(driver_id=7))

    wait_for(lambda: received, timeout=30, what="the event at the consumer")
    assert received == [event]
    # The handler ran inside the batch's transaction; its record is there once the batch commits.
    wait_for(ProcessedEvent.objects.exists, timeout=30, what="the batch's commit")
    wait_for(
        lambda: (
            sample("consumer_messages_processed_total", {"consumer": "round_trip", "outcome": "processed"})
            == processed_before + 1
        ),
        timeout=30,
        what="the processed count",
    )
    processed = ProcessedEvent.objects.get()
    assert (processed.consumer, processed.event_id, processed.event_type) == ("round_trip", event.id, event.type)
    assert processed.topic == kafka.topic()
    assert OutboxEvent.objects.get().published_at is not None
    assert liveness.exists()
    runner.stop()
    assert not liveness.exists()


@pytest.mark.django_db(transaction=True)
def test_redelivered_events_are_applied_once_and_other_types_are_skipped(kafka, consumer):
    applied: list[uuid.UUID] = []
    definition = ConsumerDefinition(name="once", handlers={"driver.status_changed": lambda e: applied.append(e.id)})
    with transaction.atomic():
        event = publish(event_type="driver.status_changed", key=driver_key(1), data=driver_status_data(driver_id=1))
    topic = kafka.topic()
    for _ in range(3):  # the same event delivered three times (e.g. a relay that crashed before marking it)
        kafka.produce(topic, event.to_json(), key=event.key, headers={"event_id": str(event.id)})
    other = {"aggregator": "rappi", "order": {"id": "rp-1"}}
    with transaction.atomic():
        skipped = publish(event_type="aggregator.order_received", key="order-1", data=other)
    kafka.produce(topic, skipped.to_json(), key=skipped.key, headers={"event_type": skipped.type})
    kafka.produce(topic, b"not json", key="x", headers={"event_type": "kitchen.status_changed"})
    consumer(definition)

    wait_for(lambda: sum(kafka.committed(definition.group, topic).values()) == 5, timeout=30, what="all committed")
    assert applied == [event.id]
    assert ProcessedEvent.objects.filter(consumer="once").count() == 1
    assert kafka.read(definition.dlq_topic) == []


@pytest.mark.django_db(transaction=True)
def test_transient_errors_are_retried_in_place_then_succeed(kafka, consumer):
    attempts: list[int] = []

    def flaky(event: Event) -> None:
        attempts.append(len(attempts) + 1)
        if len(attempts) < 3:
            raise TransientHTTPError("POST http://waseat/close: HTTP 503", status_code=503)

    definition = ConsumerDefinition(
        name="flaky", handlers={"driver.status_changed": flaky}, retry_backoff_seconds=0.01, max_attempts=5
    )
    retried_before = sample("consumer_messages_retried_total", {"consumer": "flaky"})
    with transaction.atomic():
        publish(event_type="driver.status_changed", key=driver_key(1), data=driver_status_data(driver_id=1))
    OutboxRelay().publish_pending()
    consumer(definition)
    wait_for(lambda: ProcessedEvent.objects.filter(consumer="flaky").exists(), timeout=30, what="processed")
    assert attempts == [1, 2, 3]
    assert sample("consumer_messages_retried_total", {"consumer": "flaky"}) == retried_before + 2
    assert kafka.read(definition.dlq_topic) == []


@pytest.mark.django_db(transaction=True)
def test_failures_reach_the_dead_letter_topic_with_the_contract_headers(kafka, consumer, settings):
    settings.CONSUMER_STATEMENT_TIMEOUT_MS = 300

    def handle(event: Event) -> None:
        kind = event.data["driver"]["name"]
        if kind == "permanent":
            raise PermanentFailure("driver unknown to WASEAT")
        if kind == "http-4xx":
            raise PermanentHTTPError("POST http://waseat/close: HTTP 422", status_code=422)
        if kind == "invalid":
            raise InvalidMessage("unsupported data")
        if kind == "slow":  # a runaway statement: the statement timeout cancels it
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_sleep(5)")
        raise TransientHTTPError("POST http://push/notifications: ConnectError")

    definition = ConsumerDefinition(
        name="failing",
        handlers={"driver.status_changed": handle},
        retry_backoff_seconds=0.01,
        max_attempts=3,
        dlq_ratio_window=100,
    )
    names = ["permanent", "http-4xx", "invalid", "transient", "slow"]
    with transaction.atomic():
        for driver_id, name in enumerate(names, start=1):
            data = driver_status_data(driver_id=driver_id)
            data["driver"]["name"] = name
            publish(event_type="driver.status_changed", key=driver_key(driver_id), data=data)
    OutboxRelay().publish_pending()
    topic = kafka.topic()
    kafka.produce(topic, b"{broken", key="driver-9", headers={"event_type": "driver.status_changed"})
    consumer(definition)

    wait_for(lambda: len(kafka.read(definition.dlq_topic)) == 6, timeout=40, what="six dead letters")
    originals = {(m.partition(), m.offset()): m for m in kafka.read(topic)}
    letters = kafka.read(definition.dlq_topic)
    by_name: dict[str, dict[str, str]] = {}
    for letter in letters:
        headers = headers_of(letter)
        assert headers["consumer"] == "failing"
        assert headers["original_topic"] == topic
        original = originals[(int(headers["original_partition"]), int(headers["original_offset"]))]
        assert letter.value() == original.value()
        assert letter.key() == original.key()
        try:
            name = json.loads(letter.value())["data"]["driver"]["name"]
        except ValueError:
            name = "not-json"
        by_name[name] = headers
    assert {name: headers["attempts"] for name, headers in by_name.items()} == {
        "permanent": "1",
        "http-4xx": "1",
        "invalid": "1",
        "not-json": "1",
        "transient": "3",
        "slow": "3",
    }
    assert by_name["permanent"]["error"].startswith("PermanentFailure")
    assert by_name["http-4xx"]["error"].startswith("PermanentHTTPError")
    assert by_name["not-json"]["error"].startswith("InvalidEvent")
    assert by_name["transient"]["error"].startswith("TransientHTTPError")
    assert by_name["slow"]["error"].startswith("OperationalError")  # canceled by the statement timeout
    assert by_name["permanent"]["event_type"] == "driver.status_changed"
    wait_for(lambda: sum(kafka.committed(definition.group, topic).values()) == 6, timeout=10, what="committed")
    assert not ProcessedEvent.objects.filter(consumer="failing").exists()  # every failed attempt rolled back
