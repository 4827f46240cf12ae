"""A dead letter replayed after newer events of its key changes nothing those newer events decided.

normal_data fails on one event (a bug), dead-letters it and goes on; the driver delivers, becomes
available and gets the next order. The fix is deployed and the dead letter replayed: it lands
after all of that, on every consumer, and must not take the driver's status or trip back in time.
"""

import json
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from consumers.errors import PermanentFailure
from consumers.models import ProcessedEvent
from consumers.normal_data import definition as normal_data
from consumers.registry import ConsumerDefinition, get_consumer, register
from consumers.runtime.lag import consumer_lag_report
from delivery.models import Delivery, DriverStatus, DriverStatusChange
from driver_api.models import CurrentTrip
from driver_api.selectors import current_trip_drift
from events.envelope import Event
from events.models import OutboxEvent
from tests.driver_api.queries import UPDATE_DRIVER_STATUS, UPDATE_ORDER
from tests.drivers import DriverClient
from tests.factories import order_for
from tests.pipeline import turn_on
from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def broken_on(event_type: str, bug: set[str]) -> ConsumerDefinition:
    """normal_data with a bug that rejects one event type while `bug` holds it: dead-lettered, the rest applied."""

    def handle(event: Event) -> None:
        if event.type in bug:
            raise PermanentFailure(f"cannot apply {event_type}")
        normal_data.handlers[event.type](event)

    return ConsumerDefinition(name="normal_data", handlers=dict.fromkeys(normal_data.handlers, handle))


def test_a_replayed_dead_letter_lands_after_newer_events_and_changes_nothing(
    kafka: Any, relay: Any, consumer: Callable[..., Any], external: Any, driver: Any, branch: Any, place_order: Any
) -> None:
    turn_on(["kafka_driver_status", "driver_current_trip_snapshot"], switch=True)
    trip_consumer = get_consumer("driver_trip")
    relay()
    consumer(trip_consumer)
    bug = {"delivery.out_for_delivery"}
    consumer(broken_on("delivery.out_for_delivery", bug))

    def settle(*definitions: ConsumerDefinition) -> None:
        wait_for(lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(), timeout=30)
        wait_for(
            lambda: all(group.lag == 0 for group in consumer_lag_report(definitions=list(definitions))),
            timeout=60,
            interval=0.2,
            what="the consumers to catch up",
        )

    first = place_order()
    settle(trip_consumer)
    app = DriverClient(driver)
    app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    app.execute(UPDATE_ORDER, albaikIdentifier=first.albaik_identifier, status="OUT_FOR_DELIVERY")
    second = order_for(branch=branch)  # waits: the only driver is on a trip
    app.execute(UPDATE_ORDER, albaikIdentifier=first.albaik_identifier, status="DELIVERED")
    wait_for(lambda: len(kafka.read(normal_data.dlq_topic)) == 1, timeout=30, what="the dead letter")
    # normal_data applied "available": the waiting order went to the driver.
    wait_for(lambda: Delivery.objects.filter(order=second, driver=driver).exists(), timeout=30, what="the next trip")
    settle(trip_consumer, normal_data)
    driver.refresh_from_db()
    assert driver.status == DriverStatus.DRIVING_TO_RESTAURANT
    trip_before = CurrentTrip.objects.values().get(driver=driver)

    bug.clear()  # the fix is deployed
    out = StringIO()
    call_command("replay_dead_letters", "normal_data", "--json", stdout=out)
    [replayed_id] = [row["event_id"] for row in json.loads(out.getvalue())["dead_letters"]]
    wait_for(
        lambda: ProcessedEvent.objects.filter(consumer="normal_data", event_id=replayed_id).exists(),
        timeout=30,
        what="the replayed event applied",
    )
    settle(trip_consumer, normal_data)

    driver.refresh_from_db()
    assert driver.status == DriverStatus.DRIVING_TO_RESTAURANT  # not "driving_to_customer" from the late fact
    assert CurrentTrip.objects.values().get(driver=driver) == trip_before
    assert list(current_trip_drift()) == []
    # The late fact is in the history, once, at the time it happened.
    assert DriverStatusChange.objects.filter(driver=driver, event_id=replayed_id).count() == 1
    register(normal_data)
