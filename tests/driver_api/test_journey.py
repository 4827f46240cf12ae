"""A whole driver journey through GraphQL, with the snapshot flag on and off giving identical answers."""

import pytest
from rest_framework.test import APIClient
from waffle.testutils import override_flag

from delivery.models import Delivery, DeliveryFailure, DeliveryStatusChange, Driver, DriverStatus, Order
from delivery.services.accounts import token_issue
from tests.driver_api.queries import CURRENT_TRIP, UPDATE_DRIVER_STATUS, UPDATE_ORDER
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def current_trip_both_ways(driver_app):
    """currentTrip from normal data (flag off) and from the snapshot (flag on); they must agree."""
    with override_flag("driver_current_trip_snapshot", active=False):
        from_normal_data = driver_app.execute(CURRENT_TRIP)["currentTrip"]
    with override_flag("driver_current_trip_snapshot", active=True):
        from_snapshot = driver_app.execute(CURRENT_TRIP)["currentTrip"]
    assert from_snapshot == from_normal_data
    return from_snapshot


def staff_client(branch):
    user = UserFactory.create()
    branch.staff.add(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")
    return client


def test_driver_journey_from_assignment_to_delivery(
    driver_app, driver, branch, place_order, django_capture_on_commit_callbacks
):
    assert current_trip_both_ways(driver_app) is None

    order = place_order(quantity=3)
    trip = current_trip_both_ways(driver_app)
    assert trip["albaikIdentifier"] == order.albaik_identifier
    assert trip["id"] == str(order.pk)
    assert trip["total"] == str(order.total)
    assert trip["delivery"]["status"] == "ASSIGNED"
    assert trip["delivery"]["arrivedAt"] is None
    assert trip["branch"] == {
        "id": str(branch.pk),
        "name": branch.name,
        "latitude": branch.latitude,
        "longitude": branch.longitude,
    }
    assert trip["customer"]["telephone"] == order.customer.telephone
    assert [item["quantity"] for item in trip["items"]] == [3]
    driver.refresh_from_db()
    assert driver.status == DriverStatus.DRIVING_TO_RESTAURANT

    # The driver arrives at the restaurant.
    arrived = driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")["updateDriverStatus"]
    assert arrived == {"status": "WAITING_AT_RESTAURANT", "errors": []}
    trip = current_trip_both_ways(driver_app)
    assert trip["delivery"]["status"] == "WAITING_AT_RESTAURANT"
    assert trip["delivery"]["arrivedAt"] is not None

    # The restaurant starts collecting the order.
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client(branch).patch(
            f"/restaurant/preparations/{order.preparation.pk}/", {"status": "collecting"}, format="json"
        )
    assert response.status_code == 200, response.content
    trip = current_trip_both_ways(driver_app)
    assert trip["delivery"]["status"] == "READY_TO_COLLECT"
    assert trip["delivery"]["arrivedAt"] is not None
    assert trip["delivery"]["collectingAt"] is not None

    # Scan, then deliver.
    with django_capture_on_commit_callbacks(execute=True):
        scanned = driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
    assert scanned["updateOrder"]["errors"] == []
    assert scanned["updateOrder"]["order"]["delivery"]["status"] == "OUT_FOR_DELIVERY"
    assert current_trip_both_ways(driver_app)["delivery"]["status"] == "OUT_FOR_DELIVERY"
    driver.refresh_from_db()
    assert driver.status == DriverStatus.DRIVING_TO_CUSTOMER

    with django_capture_on_commit_callbacks(execute=True):
        delivered = driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="DELIVERED")
    assert delivered["updateOrder"]["errors"] == []
    assert current_trip_both_ways(driver_app)["delivery"]["status"] == "DELIVERED"
    driver.refresh_from_db()
    assert driver.status == DriverStatus.AVAILABLE
    assert Order.objects.get(pk=order.pk).status == "delivered"
    history = list(
        DeliveryStatusChange.objects.filter(delivery__order=order).order_by("id").values_list("status", flat=True)
    )
    assert history == ["assigned", "waiting_at_restaurant", "ready_to_collect", "out_for_delivery", "delivered"]


def test_collecting_before_arrival_also_ends_ready_to_collect_with_both_times(
    driver_app, branch, place_order, django_capture_on_commit_callbacks
):
    order = place_order()
    with django_capture_on_commit_callbacks(execute=True):
        staff_client(branch).patch(
            f"/restaurant/preparations/{order.preparation.pk}/", {"status": "collecting"}, format="json"
        )
    assert current_trip_both_ways(driver_app)["delivery"]["status"] == "READY_TO_COLLECT"
    driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    trip = current_trip_both_ways(driver_app)
    assert trip["delivery"]["status"] == "READY_TO_COLLECT"
    assert trip["delivery"]["arrivedAt"] is not None
    assert trip["delivery"]["collectingAt"] is not None


def test_failed_delivery_records_the_reason(driver_app, driver, place_order):
    order = place_order()
    driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
    failed = driver_app.execute(
        UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="FAILED", reason="customer not answering"
    )["updateOrder"]
    assert failed["errors"] == []
    assert failed["order"]["delivery"]["status"] == "FAILED"
    assert DeliveryFailure.objects.get(delivery__order=order).reason == "customer not answering"
    assert Order.objects.get(pk=order.pk).status == "failed"
    driver.refresh_from_db()
    assert driver.status == DriverStatus.RETURNING_ORDER_TO_RESTAURANT
    assert current_trip_both_ways(driver_app)["delivery"]["status"] == "FAILED"


def test_available_driver_gets_the_waiting_order(make_driver, place_order, django_capture_on_commit_callbacks):
    from tests.drivers import DriverClient

    order = place_order()  # no driver is available yet
    assert not Delivery.objects.filter(order=order).exists()
    driver = make_driver(status=DriverStatus.UNAVAILABLE)
    app = DriverClient(driver)
    with django_capture_on_commit_callbacks(execute=True):
        assert app.execute(UPDATE_DRIVER_STATUS, status="AVAILABLE")["updateDriverStatus"]["errors"] == []
    assert current_trip_both_ways(app)["albaikIdentifier"] == order.albaik_identifier
    assert Driver.objects.get(pk=driver.pk).status == DriverStatus.DRIVING_TO_RESTAURANT


def test_nearest_available_driver_is_assigned(make_driver, branch, place_order):
    far = make_driver(latitude=branch.latitude + 0.5)
    near = make_driver(latitude=branch.latitude + 0.001)
    make_driver(latitude=None, longitude=None)  # unknown location: never chosen
    make_driver(status=DriverStatus.UNAVAILABLE, latitude=branch.latitude)
    order = place_order()
    assert Delivery.objects.get(order=order).driver == near
    second = place_order()
    assert Delivery.objects.get(order=second).driver == far


def test_current_trip_shows_the_ended_trip_until_the_next_one(
    driver_app, driver, place_order, django_capture_on_commit_callbacks
):
    """The app's completion screen reads the ended trip (DELIVERED/FAILED); the next assignment replaces it."""
    first = place_order()
    driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    driver_app.execute(UPDATE_ORDER, albaikIdentifier=first.albaik_identifier, status="OUT_FOR_DELIVERY")
    with django_capture_on_commit_callbacks(execute=True):
        driver_app.execute(UPDATE_ORDER, albaikIdentifier=first.albaik_identifier, status="DELIVERED")
    ended = current_trip_both_ways(driver_app)
    assert (ended["albaikIdentifier"], ended["delivery"]["status"]) == (first.albaik_identifier, "DELIVERED")
    # A retried DELIVERED (its answer was lost) still finds the trip and succeeds.
    retried = driver_app.execute(UPDATE_ORDER, albaikIdentifier=first.albaik_identifier, status="DELIVERED")
    assert retried["updateOrder"]["errors"] == []

    with django_capture_on_commit_callbacks(execute=True):
        second = place_order()
    following = current_trip_both_ways(driver_app)
    assert (following["albaikIdentifier"], following["delivery"]["status"]) == (second.albaik_identifier, "ASSIGNED")
