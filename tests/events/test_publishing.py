import json

import psycopg
import pytest
from django.db import connection, transaction

from delivery.models import Delivery, DeliveryStatusChange
from events.envelope import Event, InvalidEvent, driver_key, order_key
from events.models import OutboxEvent
from events.publishing import OUTBOX_CHANNEL, publish
from tests.events.samples import driver_status_data
from tests.factories import DriverFactory, order_for


@pytest.mark.django_db(transaction=True)
def test_publish_refuses_to_run_outside_a_transaction():
    with pytest.raises(RuntimeError):
        publish(event_type="driver.status_changed", key=driver_key(1), data=driver_status_data(driver_id=1))
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db
def test_publish_writes_one_outbox_row_with_the_envelope_and_headers(settings):
    settings.KAFKA_TOPIC_PREFIX = "staging-"
    event = publish(
        event_type="driver.status_changed",
        key=driver_key(3),
        data=driver_status_data(driver_id=3),
        handled_synchronously=["dashboard_broadcast", "dashboard_broadcast"],
    )
    row = OutboxEvent.objects.get()
    assert row.event_id == event.id
    assert row.type == "driver.status_changed"
    assert row.key == "driver-3"
    assert row.topic == "staging-delivery-events"
    assert row.headers == {"event_id": str(event.id), "event_type": "driver.status_changed"}
    assert row.published_at is None
    assert row.albaik_identifier is None
    assert Event.from_json(row.envelope) == event
    assert event.handled_synchronously == ("dashboard_broadcast",)


@pytest.mark.django_db
def test_publish_takes_the_albaik_identifier_from_the_order():
    order = {
        "id": 5,
        "albaik_identifier": "ALB-0000000005",
        "total": "18.00",
        "latitude": 21.5,
        "longitude": 39.2,
        "created_at": "2025-03-01T11:00:00+00:00",
        "source": "aggregator",
        "aggregator_id": "rp-5",
    }
    data = {
        "order": order,
        "courier": None,
        "courier_status": "assigned",
        "kitchen_status": "",
        "event_time": "2025-03-01T12:00:00+00:00",
        "bundle": None,
        "preparation": {},
    }
    publish(event_type="courier.assigned", key=order_key(5), data=data)
    assert OutboxEvent.objects.get().albaik_identifier == "ALB-0000000005"


@pytest.mark.django_db
def test_the_writers_delivery_snapshot_passes_the_schema():
    from delivery.selectors.snapshots import delivery_snapshot, delivery_with_related

    order = order_for()
    delivery = Delivery.objects.create(order=order, driver=DriverFactory.create())
    DeliveryStatusChange.objects.create(delivery=delivery, status=delivery.status, source="test")
    snapshot = delivery_snapshot(delivery_with_related().get(pk=delivery.pk))
    for event_type in ("trip.assigned", "delivery.out_for_delivery", "delivery.failed"):
        publish(event_type=event_type, key=driver_key(delivery.driver_id), data=snapshot)
    assert OutboxEvent.objects.filter(albaik_identifier=order.albaik_identifier).count() == 3


@pytest.mark.django_db
def test_invalid_data_raises_and_writes_nothing():
    data = driver_status_data(driver_id=1)
    del data["driver"]["status"]
    with pytest.raises(InvalidEvent) as caught:
        publish(event_type="driver.status_changed", key=driver_key(1), data=data)
    assert caught.value.code == "data"
    with pytest.raises(InvalidEvent) as caught:
        publish(event_type="driver.teleported", key=driver_key(1), data={})
    assert caught.value.code == "unknown_type"
    with pytest.raises(InvalidEvent) as caught:
        publish(event_type="driver.status_changed", key="", data=driver_status_data(driver_id=1))
    assert caught.value.code == "envelope"
    assert not OutboxEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_publish_notifies_the_relay_when_the_transaction_commits():
    listener = psycopg.connect(**connection.get_connection_params())
    listener.autocommit = True
    try:
        with listener.cursor() as cursor:
            cursor.execute(f"LISTEN {OUTBOX_CHANNEL}")

        def notified(timeout: float) -> bool:
            return any(True for _ in listener.notifies(timeout=timeout, stop_after=1))

        with transaction.atomic():
            publish(event_type="driver.status_changed", key=driver_key(1), data=driver_status_data(driver_id=1))
            assert not notified(0.2)
        assert notified(5)
    finally:
        listener.close()


@pytest.mark.django_db
def test_envelope_is_stored_as_sent():
    event = publish(event_type="driver.status_changed", key=driver_key(2), data=driver_status_data(driver_id=2))
    assert json.loads(OutboxEvent.objects.get().envelope) == json.loads(event.to_json())
