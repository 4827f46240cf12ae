"""A status push that arrives late (a replayed dead letter, a lagging partition) never follows a newer one."""

from typing import Any

import pytest
from django.db import transaction
from waffle.models import Flag

from consumers.customer_notifications import definition as customer_notifications
from events.envelope import Event
from events.models import OutboxEvent
from side_effects.models import EffectRecord
from tests.driver_api.queries import UPDATE_DRIVER_STATUS, UPDATE_ORDER
from tests.drivers import DriverClient
from tests.http_servers import RecordingServer


def notify_in_consumer(event: Event) -> None:
    with transaction.atomic():
        customer_notifications.handlers[event.type](event)


@pytest.mark.django_db
def test_an_older_status_is_not_pushed_after_a_newer_one(
    external: tuple[RecordingServer, RecordingServer], driver: Any, place_order: Any
) -> None:
    _, push = external
    Flag.objects.create(name="kafka_customer_notification", everyone=True)
    order = place_order()
    app = DriverClient(driver)
    app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    for status in ("OUT_FOR_DELIVERY", "DELIVERED"):
        app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status=status)
    events = {
        row.type: Event.from_json(row.envelope)
        for row in OutboxEvent.objects.filter(albaik_identifier=order.albaik_identifier)
    }

    notify_in_consumer(events["trip.assigned"])
    notify_in_consumer(events["delivery.delivered"])
    notify_in_consumer(events["delivery.out_for_delivery"])  # dead-lettered earlier, replayed now

    assert [r.body["status"] for r in push.to("/notifications")] == ["assigned", "delivered"]
    late = EffectRecord.objects.get(kind="notification", event_id=events["delivery.out_for_delivery"].id)
    assert late.outcome == "skipped"
    assert late.detail["reason"] == "superseded"
