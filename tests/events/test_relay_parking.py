"""Poison never blocks: an event the broker refuses is parked, visible, and everything else flows."""

import json
import uuid
from io import StringIO

import pytest
from confluent_kafka import KafkaError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from delivery.models import Order
from events.envelope import driver_key
from events.models import OutboxEvent
from events.publishing import EventTooLarge, publish
from events.relay import OutboxRelay
from tests.driver_api.queries import UPDATE_DRIVER_STATUS, UPDATE_ORDER
from tests.events.samples import driver_status_data, publish_driver_events
from tests.processes import wait_for


def oversized_row(*, key: str, size: int) -> OutboxEvent:
    """An outbox row bigger than the producer takes, as written before the size check (or under a larger limit)."""
    event_id = uuid.uuid4()
    return OutboxEvent.objects.create(
        event_id=event_id,
        type="driver.status_changed",
        key=key,
        topic=OutboxEvent.objects.values_list("topic", flat=True).first() or "delivery-events",
        envelope=json.dumps({"id": str(event_id), "padding": "x" * size}),
        headers={"event_id": str(event_id), "event_type": "driver.status_changed"},
    )


def parked(*args: str) -> dict:
    out = StringIO()
    call_command("outbox_parked", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_publish_refuses_an_event_over_the_message_limit_and_writes_nothing(settings):
    settings.KAFKA_MESSAGE_MAX_BYTES = 5_000
    data = driver_status_data(driver_id=1)
    data["driver"]["name"] = "x" * 6_000
    with pytest.raises(EventTooLarge) as caught, transaction.atomic():
        publish(event_type="driver.status_changed", key=driver_key(1), data=data)
    assert caught.value.code == "too_large"
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_event_the_producer_refuses_is_parked_and_the_rest_flows(kafka, relay, client):
    before = publish_driver_events(drivers=2, per_driver=5)
    poison = oversized_row(key=driver_key(1), size=1_200_000)
    after = publish_driver_events(drivers=2, per_driver=5)
    relay()

    wait_for(lambda: OutboxEvent.objects.filter(published_at__isnull=False).count() == 20, timeout=20, what="others")
    poison.refresh_from_db()
    assert poison.parked_at is not None
    assert poison.published_at is None
    sent = [dict(m.headers())["event_id"].decode() for m in kafka.read(kafka.topic())]
    assert sorted(sent) == sorted(str(e.id) for e in before + after)

    # Visible: /readyz is not ready, /metrics counts it, the command lists it.
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["relay"]["parked"] == 1
    wait_for(lambda: REGISTRY.get_sample_value("outbox_parked_events") == 1, timeout=10, what="parked gauge")
    listed = parked("list")
    assert [row["id"] for row in listed["events"]] == [poison.id]
    assert listed["events"][0]["size"] > 1_000_000

    # Retry gives it back to the relay (which parks it again: it is still too big), drop removes it.
    assert parked("retry", str(poison.id))["changed"] == 1
    wait_for(lambda: OutboxEvent.objects.get(id=poison.id).parked_at is not None, timeout=10, what="parked again")
    assert parked("drop", "--all")["changed"] == 1
    assert not OutboxEvent.objects.filter(id=poison.id).exists()
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_retry_and_drop_need_ids_or_all():
    with pytest.raises(CommandError, match="missing_ids"):
        call_command("outbox_parked", "drop")


@pytest.mark.django_db(transaction=True)
def test_a_driver_cannot_stall_publishing_with_a_huge_failure_reason(kafka, driver_app, place_order):
    order = place_order()
    driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
    response = driver_app.client.post(
        "/graphql/",
        {
            "query": UPDATE_ORDER,
            "variables": {"albaikIdentifier": order.albaik_identifier, "status": "FAILED", "reason": "x" * 1_200_000},
        },
        format="json",
    )
    # Refused as a whole (the body is over the 1 MB limit): the request changes nothing and writes no event.
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert Order.objects.get(pk=order.pk).status != "failed"
    assert not OutboxEvent.objects.filter(envelope__contains="x" * 1000).exists()
    # Whatever was accepted is published, and what comes next is not held up.
    with transaction.atomic():
        publish(event_type="driver.status_changed", key=driver_key(1), data=driver_status_data(driver_id=1))
    waiting = OutboxEvent.objects.filter(published_at__isnull=True).count()
    assert OutboxRelay().publish_pending(timeout=20) == waiting
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()


@pytest.mark.django_db
def test_an_event_the_broker_refuses_is_parked_after_the_configured_attempts():
    # Neither test broker refuses a record (both take 2 MB with a raised limit); the broker's answer is built here.
    [event] = publish_driver_events(drivers=1, per_driver=1)
    row = OutboxEvent.objects.get(event_id=event.id)
    relay = OutboxRelay(park_after=3)
    for attempt in range(1, 4):
        relay._in_flight.add(row.id)
        relay._failed.append((row.id, KafkaError(KafkaError.MSG_SIZE_TOO_LARGE)))
        relay._serve_reports(timeout=0)
        row.refresh_from_db()
        assert row.attempts == attempt
        assert (row.parked_at is not None) == (attempt == 3)
    # A broker outage is not the event's fault: it is never parked for it.
    [other] = publish_driver_events(drivers=1, per_driver=1)
    timed_out = OutboxEvent.objects.get(event_id=other.id)
    for _ in range(5):
        relay._in_flight.add(timed_out.id)
        relay._failed.append((timed_out.id, KafkaError(KafkaError._MSG_TIMED_OUT)))
        relay._serve_reports(timeout=0)
    timed_out.refresh_from_db()
    assert timed_out.attempts == 5
    assert timed_out.parked_at is None


@pytest.mark.django_db
def test_admin_filters_parked_events(admin_client):
    events = publish_driver_events(drivers=1, per_driver=2)
    OutboxEvent.objects.filter(event_id=events[1].id).update(parked_at=timezone.now(), last_error="MSG_SIZE_TOO_LARGE")
    response = admin_client.get("/admin/events/outboxevent/", {"parked_at__isempty": "0"})
    assert response.status_code == 200
    assert [row.event_id for row in response.context["cl"].result_list] == [events[1].id]
