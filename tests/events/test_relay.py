from datetime import timedelta
from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from prometheus_client import REGISTRY

from consumers.models import ProcessedEvent
from events.envelope import driver_key
from events.models import OutboxEvent
from events.publishing import publish
from events.relay import LEADER_LOCK_KEY, OutboxRelay
from events.selectors import outbox_backlog
from events.services import outbox_prune
from tests.events.samples import driver_status_data, publish_driver_events
from tests.processes import wait_for


@pytest.mark.django_db(transaction=True)
def test_relay_publishes_in_outbox_order_with_key_and_headers(kafka, relay):
    events = publish_driver_events(drivers=3, per_driver=20)
    relay()
    wait_for(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=20, what="published")
    messages = kafka.read(kafka.topic())
    assert len(messages) == len(events)
    by_id = {str(event.id): event for event in events}
    for message in messages:
        headers = {name: value.decode() for name, value in message.headers()}
        event = by_id[headers["event_id"]]
        assert headers["event_type"] == "driver.status_changed"
        assert message.key() == event.key.encode()
        assert message.value() == event.to_json()
    # One key lives in one partition, in publication order.
    for driver_id in range(1, 4):
        key = driver_key(driver_id).encode()
        partitions = {m.partition() for m in messages if m.key() == key}
        assert len(partitions) == 1
        sequence = [by_id[dict(m.headers())["event_id"].decode()].data["sequence"] for m in messages if m.key() == key]
        assert sequence == list(range(20))
    assert OutboxEvent.objects.filter(attempts=1).count() == len(events)


@pytest.mark.django_db(transaction=True)
def test_relay_wakes_on_notify(kafka, relay):
    relay(poll_interval=30)  # polling alone would take 30 s
    kafka.ensure_topic(kafka.topic())
    wait_for(lambda: REGISTRY.get_sample_value("outbox_relay_leader") == 1, timeout=10, what="leading")
    with transaction.atomic():
        publish(event_type="driver.status_changed", key=driver_key(1), data=driver_status_data(driver_id=1))
    wait_for(lambda: OutboxEvent.objects.filter(published_at__isnull=False).exists(), timeout=5, what="published")


@pytest.mark.django_db(transaction=True)
def test_only_one_relay_leads(kafka):
    publish_driver_events(drivers=1, per_driver=3)
    holder = psycopg.connect(**connection.get_connection_params())
    holder.autocommit = True
    try:
        with holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [LEADER_LOCK_KEY])
        with pytest.raises(RuntimeError):
            OutboxRelay().publish_pending(timeout=5)
        assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 3
    finally:
        holder.close()  # the other relay goes away: its lock with it
    assert OutboxRelay().publish_pending(timeout=20) == 3
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()


@pytest.mark.django_db
def test_backlog_and_pruning():
    events = publish_driver_events(drivers=2, per_driver=2)
    now = timezone.now()
    OutboxEvent.objects.filter(created_at__lte=now).update(created_at=now - timedelta(seconds=90))
    backlog = outbox_backlog()
    assert backlog.size == 4
    assert 89 < backlog.oldest_age_seconds < 120
    old, recent = events[0].id, events[1].id
    OutboxEvent.objects.filter(event_id=old).update(published_at=now - timedelta(days=8))
    OutboxEvent.objects.filter(event_id=recent).update(published_at=now - timedelta(hours=1))
    assert outbox_prune(older_than=now - timedelta(days=7)) == 1
    assert set(OutboxEvent.objects.values_list("event_id", flat=True)) == {e.id for e in events} - {old}
    assert outbox_backlog().size == 2


@pytest.mark.django_db(transaction=True)
def test_relay_outbox_once_publishes_what_is_waiting(kafka):
    publish_driver_events(drivers=2, per_driver=3)
    out = StringIO()
    call_command("relay_outbox", "--once", stdout=out)
    assert "published 6 event(s)" in out.getvalue()
    assert len(kafka.read(kafka.topic())) == 6


@pytest.mark.django_db
def test_admin_lists_the_outbox_unpublished_first_and_processed_events(admin_client):
    events = publish_driver_events(drivers=1, per_driver=3)
    OutboxEvent.objects.filter(event_id=events[0].id).update(published_at=timezone.now())
    ProcessedEvent.objects.create(consumer="waseat", event_id=events[0].id, event_type=events[0].type)
    response = admin_client.get("/admin/events/outboxevent/")
    assert response.status_code == 200
    listed = [row.event_id for row in response.context["cl"].result_list]
    assert listed == [events[1].id, events[2].id, events[0].id]
    assert admin_client.get("/admin/consumers/processedevent/").status_code == 200
