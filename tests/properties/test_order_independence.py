"""Property tests: the same facts give the same result whatever their order and however often they come.

Consumers are at-least-once, partitions lag behind the request, and dead letters are replayed
late; so every writer must merge. Hypothesis shuffles and repeats the facts of real trips.
"""

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumers.driver_trip import definition as driver_trip
from delivery.models import DeliveryStatus, Driver, DriverStatus
from delivery.services.drivers import driver_status_record
from delivery.transitions import pickup_status, status_merge
from driver_api.models import CurrentTrip
from events.envelope import Event
from events.models import OutboxEvent
from tests.driver_api.queries import UPDATE_DRIVER_STATUS, UPDATE_ORDER
from tests.drivers import DriverClient
from tests.pipeline import staff_client

DB_EXAMPLES = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def arrangements(count: int) -> st.SearchStrategy[list[int]]:
    """Indices 0..count-1, each at least once, in any order, some repeated."""
    return st.lists(st.integers(0, count - 1), max_size=2 * count).flatmap(
        lambda extra: st.permutations(list(range(count)) + extra)
    )


# --- the state machine ------------------------------------------------------------------------

TRIP_STATUSES = [
    DeliveryStatus.ASSIGNED,
    DeliveryStatus.WAITING_AT_RESTAURANT,
    DeliveryStatus.READY_TO_COLLECT,
    DeliveryStatus.OUT_FOR_DELIVERY,
]


@given(ending=st.sampled_from([DeliveryStatus.DELIVERED, DeliveryStatus.FAILED]), data=st.data())
def test_status_merge_ends_the_same_for_any_order_and_repetition(ending: str, data: st.DataObject) -> None:
    facts = [*TRIP_STATUSES, ending]
    order = data.draw(arrangements(len(facts)))
    status: str = DeliveryStatus.ASSIGNED
    for index in order:
        status = status_merge(status, facts[index])
    assert status == ending


@given(data=st.data())
def test_pickup_status_is_the_same_whichever_fact_comes_first(data: st.DataObject) -> None:
    now = timezone.now()
    facts = [("arrived_at", now), ("collecting_at", now + timedelta(seconds=1))]
    held: dict[str, Any] = {"arrived_at": None, "collecting_at": None}
    for index in data.draw(arrangements(len(facts))):
        name, at = facts[index]
        held[name] = held[name] or at  # set once, never cleared
    assert pickup_status(**held) == DeliveryStatus.READY_TO_COLLECT
    assert held == dict(facts)


# --- CurrentTrip ------------------------------------------------------------------------------


@pytest.fixture
def trip_events(place_order: Any, driver: Any, branch: Any, django_capture_on_commit_callbacks: Any) -> list[Event]:
    """The events of a real trip: assigned, arrived, collecting, out for delivery, delivered."""
    order = place_order()
    app = DriverClient(driver)
    with django_capture_on_commit_callbacks(execute=True):
        app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
        staff_client(branch).patch(
            f"/restaurant/preparations/{order.preparation.pk}/", {"status": "collecting"}, format="json"
        )
        app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
        app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="DELIVERED")
    rows = OutboxEvent.objects.filter(albaik_identifier=order.albaik_identifier).order_by("id")
    events = [Event.from_json(row.envelope) for row in rows]
    assert [e.type for e in events] == [
        "trip.assigned",
        "delivery.driver_arrived",
        "delivery.ready_to_collect",
        "delivery.out_for_delivery",
        "delivery.delivered",
    ]
    return events


TRIP_FIELDS = (
    "delivery_id",
    "order_id",
    "albaik_identifier",
    "total",
    "latitude",
    "longitude",
    "delivery_created_at",
    "delivery_status",
    "arrived_at",
    "collecting_at",
    "branch",
    "customer",
    "items",
)


def apply_in_driver_trip(events: list[Event], order: list[int], driver_id: int) -> dict[str, Any]:
    """Apply the events as the driver_trip consumer would (whatever the request did) to an empty row."""
    CurrentTrip.objects.filter(driver_id=driver_id).delete()
    for index in order:
        event = events[index]
        handler = driver_trip.handlers[event.type].__wrapped__  # type: ignore[attr-defined]
        with transaction.atomic():
            handler(event)
    return CurrentTrip.objects.values(*TRIP_FIELDS).get(driver_id=driver_id)


@pytest.mark.django_db
@DB_EXAMPLES
@given(data=st.data())
def test_current_trip_ends_the_same_for_any_order_and_repetition_of_its_events(
    trip_events: list[Event], driver: Any, data: st.DataObject
) -> None:
    in_order = apply_in_driver_trip(trip_events, list(range(len(trip_events))), driver.pk)
    assert in_order["delivery_status"] == DeliveryStatus.DELIVERED
    assert in_order["arrived_at"] is not None
    assert in_order["collecting_at"] is not None
    shuffled = apply_in_driver_trip(trip_events, data.draw(arrangements(len(trip_events))), driver.pk)
    assert shuffled == in_order


# --- driver status ----------------------------------------------------------------------------

DRIVER_STATUSES = [s.value for s in DriverStatus]


@pytest.mark.django_db
@DB_EXAMPLES
@given(
    facts=st.lists(st.tuples(st.integers(0, 5), st.sampled_from(DRIVER_STATUSES)), min_size=1, max_size=6, unique=True),
    data=st.data(),
)
def test_driver_status_converges_whatever_order_its_facts_arrive_in(
    make_driver: Any, facts: list[tuple[int, str]], data: st.DataObject
) -> None:
    """Facts may share a time (two writers in the same microsecond): the result must still not depend on order."""
    driver = make_driver(status=DriverStatus.UNAVAILABLE)
    start = timezone.now() + timedelta(minutes=1)
    timed = [(start + timedelta(seconds=offset), status) for offset, status in facts]
    for index in data.draw(arrangements(len(timed))):
        at, status = timed[index]
        with transaction.atomic():
            driver_status_record(driver_id=driver.pk, status=status, at=at)
    driver = Driver.objects.get(pk=driver.pk)
    newest_at, newest_status = max(timed)
    assert (driver.status, driver.status_changed_at) == (newest_status, newest_at)
