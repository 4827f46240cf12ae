import json
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import close_old_connections, connection

from delivery.models import Delivery, DeliveryFailure, DeliveryStatusChange, Driver, DriverStatus, Order
from delivery.services.trips import trip_assign_order
from driver_api.selectors import current_trip_from_normal_data, current_trip_from_snapshot
from tests.driver_api.queries import UPDATE_DRIVER_STATUS
from tests.drivers import DriverClient
from tests.factories import BranchFactory, DriverFactory, order_for


@pytest.mark.django_db
def test_accident_reassigns_the_order_to_another_available_driver(
    driver_app, driver, make_driver, place_order, django_capture_on_commit_callbacks
):
    order = place_order()
    replacement = make_driver(latitude=driver.latitude + 0.02)
    with django_capture_on_commit_callbacks(execute=True):
        result = driver_app.execute(UPDATE_DRIVER_STATUS, status="ACCIDENT")["updateDriverStatus"]
    assert result == {"status": "ACCIDENT", "errors": []}
    active = Delivery.objects.get(order=order, is_active=True)
    assert active.driver == replacement
    assert active.status == "assigned"
    assert Driver.objects.get(pk=driver.pk).status == DriverStatus.ACCIDENT
    assert current_trip_from_snapshot(driver_id=driver.pk) is None
    assert current_trip_from_normal_data(driver_id=driver.pk) is None
    moved = current_trip_from_snapshot(driver_id=replacement.pk)
    assert moved is not None
    assert moved.albaik_identifier == order.albaik_identifier
    assert moved == current_trip_from_normal_data(driver_id=replacement.pk)


@pytest.mark.django_db
def test_accident_without_another_driver_fails_the_order(driver_app, driver, place_order):
    order = place_order()
    result = driver_app.execute(UPDATE_DRIVER_STATUS, status="ACCIDENT")["updateDriverStatus"]
    assert result["errors"] == []
    delivery = Delivery.objects.get(order=order)
    assert delivery.status == "failed"
    assert DeliveryFailure.objects.filter(delivery=delivery).exists()
    assert Order.objects.get(pk=order.pk).status == "failed"
    trip = current_trip_from_snapshot(driver_id=driver.pk)
    assert trip is not None
    assert trip.delivery.status == "failed"
    assert trip == current_trip_from_normal_data(driver_id=driver.pk)


@pytest.mark.django_db
def test_an_accident_without_a_replacement_writes_the_failure_to_the_delivery_history(driver_app, driver, place_order):
    order = place_order()
    driver_app.execute(UPDATE_DRIVER_STATUS, status="ACCIDENT")
    history = list(
        DeliveryStatusChange.objects.filter(delivery__order=order)
        .order_by("created_at", "id")
        .values_list("status", "source")
    )
    assert history == [("assigned", "assignment"), ("failed", "accident")]
    out = StringIO()
    call_command("order_timeline", order.albaik_identifier, "--json", stdout=out)
    changes = [e["status"] for e in json.loads(out.getvalue())["entries"] if e["kind"] == "status_change"]
    assert changes == ["assigned", "failed"]


@pytest.mark.django_db
@pytest.mark.parametrize("driver_status_on_consumer", [False, True], ids=["request", "consumer"])
def test_each_action_writes_its_own_delivery_history_row_once(
    driver_status_on_consumer, driver_app, driver, place_order, django_capture_on_commit_callbacks
):
    """Whichever path writes driver status, the delivery's history is written by the action itself, once."""
    from tests.driver_api.queries import UPDATE_ORDER
    from tests.pipeline import turn_on

    if driver_status_on_consumer:
        turn_on(["kafka_driver_status"], switch=False)
    order = place_order()
    with django_capture_on_commit_callbacks(execute=True):
        driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
        driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
        driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="DELIVERED")
    history = list(
        DeliveryStatusChange.objects.filter(delivery__order=order)
        .order_by("created_at", "id")
        .values_list("status", flat=True)
    )
    assert history == ["assigned", "waiting_at_restaurant", "out_for_delivery", "delivered"]


@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_assignments_give_twenty_distinct_pairs():
    branch = BranchFactory.create()
    drivers = [
        DriverFactory.create(
            status=DriverStatus.AVAILABLE, latitude=branch.latitude + i * 0.001, longitude=branch.longitude
        )
        for i in range(20)
    ]
    orders = [order_for(branch=branch) for _ in range(20)]
    barrier = threading.Barrier(20)
    errors: list[BaseException] = []

    def assign(order_id: int) -> None:
        try:
            barrier.wait(timeout=30)
            # A lost race leaves the order waiting; retry like the waiting-orders sweep does.
            for _ in range(20):
                if (
                    trip_assign_order(order_id=order_id) is not None
                    or Delivery.objects.filter(order_id=order_id).exists()
                ):
                    break
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=assign, args=(order.pk,)) for order in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    pairs = list(Delivery.objects.values_list("order_id", "driver_id"))
    assert len(pairs) == 20
    assert len({order_id for order_id, _ in pairs}) == 20
    assert len({driver_id for _, driver_id in pairs}) == 20
    assert {driver_id for _, driver_id in pairs} == {d.pk for d in drivers}
    assert set(Driver.objects.values_list("status", flat=True)) == {DriverStatus.DRIVING_TO_RESTAURANT}


@pytest.mark.django_db
def test_an_order_is_never_assigned_twice(driver, make_driver, place_order):
    order = place_order()
    assert Delivery.objects.get(order=order).driver == driver
    make_driver()
    assert trip_assign_order(order_id=order.pk) is None
    assert Delivery.objects.filter(order=order).count() == 1


@pytest.mark.django_db
def test_driver_app_sees_the_reassigned_trip(driver, make_driver, place_order, django_capture_on_commit_callbacks):
    order = place_order()
    replacement = make_driver(latitude=driver.latitude + 0.02)
    with django_capture_on_commit_callbacks(execute=True):
        DriverClient(driver).execute(UPDATE_DRIVER_STATUS, status="ACCIDENT")
    from tests.driver_api.queries import CURRENT_TRIP

    assert DriverClient(replacement).execute(CURRENT_TRIP)["currentTrip"]["albaikIdentifier"] == order.albaik_identifier
    assert DriverClient(driver).execute(CURRENT_TRIP)["currentTrip"] is None
