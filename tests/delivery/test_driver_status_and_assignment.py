"""Driver status has two writers (the request and the lagging normal_data consumer); assignment must not be fooled.

The consumer's handler is called with the events exactly as the outbox holds them, in the order a
lagging consumer applies them, so each interleaving is reproduced deterministically.
"""

import threading
from typing import Any

import pytest
from django.db import connection, transaction
from waffle.models import Flag

from consumers.normal_data import definition as normal_data
from delivery.models import Delivery, DeliveryStatus, Driver, DriverStatus
from delivery.services.drivers import driver_status_publish
from delivery.services.trips import trip_assign_order
from events.envelope import Event
from events.models import OutboxEvent
from tests.driver_api.queries import UPDATE_DRIVER_STATUS
from tests.drivers import DriverClient
from tests.factories import OrderFactory, order_for


def apply_in_normal_data(event: Event, capture: Any) -> None:
    """What the normal_data consumer does with one event: its handler in one transaction, then on_commit."""
    with capture(execute=True), transaction.atomic():
        normal_data.handlers[event.type](event)


def published(event_type: str) -> list[Event]:
    return [Event.from_json(row.envelope) for row in OutboxEvent.objects.filter(type=event_type).order_by("id")]


@pytest.mark.django_db
def test_a_late_available_never_overwrites_the_assignment_that_followed_it(
    make_driver, branch, django_capture_on_commit_callbacks
):
    """The driver reports AVAILABLE twice while normal_data lags; the first lets an order in, the second is late."""
    Flag.objects.create(name="kafka_driver_status", everyone=True)
    driver = make_driver(status=DriverStatus.UNAVAILABLE)
    app = DriverClient(driver)
    app.execute(UPDATE_DRIVER_STATUS, status="AVAILABLE")
    app.execute(UPDATE_DRIVER_STATUS, status="AVAILABLE")  # the app's retry, before normal_data caught up
    first, second = published("driver.status_changed")
    waiting = order_for(branch=branch)

    apply_in_normal_data(first, django_capture_on_commit_callbacks)  # available: the waiting order is assigned
    assert Delivery.objects.get(order=waiting).driver_id == driver.pk
    apply_in_normal_data(second, django_capture_on_commit_callbacks)

    driver.refresh_from_db()
    assert driver.status == DriverStatus.DRIVING_TO_RESTAURANT


@pytest.mark.django_db
def test_an_older_status_applied_after_a_newer_one_changes_nothing(make_driver, django_capture_on_commit_callbacks):
    """Whatever order normal_data gets them in (a replay, a late dead letter), the newest status stays."""
    driver = make_driver(status=DriverStatus.UNAVAILABLE)
    for status, previous in ((DriverStatus.AVAILABLE, "unavailable"), (DriverStatus.UNAVAILABLE, "available")):
        with transaction.atomic():
            driver_status_publish(driver=driver, status=status, previous_status=previous, delivery_id=None)
    older, newer = published("driver.status_changed")

    apply_in_normal_data(newer, django_capture_on_commit_callbacks)
    apply_in_normal_data(older, django_capture_on_commit_callbacks)

    driver.refresh_from_db()
    assert driver.status == DriverStatus.UNAVAILABLE
    assert driver.status_changed_at == newer.occurred_at


@pytest.mark.django_db
def test_assignment_skips_a_driver_who_looks_available_but_holds_an_open_trip(make_driver, branch):
    near = make_driver()
    far = make_driver(latitude=branch.latitude + 0.05)
    held = Delivery.objects.create(order=OrderFactory.create(branch=branch), driver=near)
    # Any stale writer that left the driver "available" while on a trip.
    Driver.objects.filter(pk=near.pk).update(status=DriverStatus.AVAILABLE)

    delivery = trip_assign_order(order_id=order_for(branch=branch).pk)

    assert delivery is not None
    assert delivery.driver_id == far.pk
    assert Delivery.objects.get(pk=held.pk).status == DeliveryStatus.ASSIGNED


@pytest.mark.django_db(transaction=True)
def test_a_driver_being_given_another_trip_right_now_is_passed_over(make_driver, branch):
    """A trip for the nearest driver is being created, uncommitted, while assignment runs: the next driver gets it."""
    near = make_driver()
    far = make_driver(latitude=branch.latitude + 0.05)
    other_order = OrderFactory.create(branch=branch)
    order = order_for(branch=branch)
    inserted, release = threading.Event(), threading.Event()

    def concurrent_trip() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:  # check the driver reference now, as an INSERT ... RETURNING does
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                Delivery.objects.create(order=other_order, driver=near)
                inserted.set()
                release.wait(20)
        finally:
            connection.close()

    writer = threading.Thread(target=concurrent_trip)
    writer.start()
    try:
        assert inserted.wait(10)
        delivery = trip_assign_order(order_id=order.pk)
    finally:
        release.set()
        writer.join(10)

    assert delivery is not None
    assert delivery.driver_id == far.pk
    assert Delivery.objects.filter(driver=near, is_active=True).count() == 1
