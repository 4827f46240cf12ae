"""Auth, NOT_FOUND, invalid transitions, repeats and validation: errors are data, never a 500."""

import inspect

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from delivery import errors
from delivery.models import Delivery, DeliveryStatusChange, Driver
from delivery.services.accounts import token_issue
from driver_api.mutations.base import ERROR_CODES, DriverMutation, error_code
from driver_api.schema import schema
from events.models import OutboxEvent
from tests.driver_api.queries import CURRENT_TRIP, UPDATE_DRIVER_PROFILE, UPDATE_DRIVER_STATUS, UPDATE_ORDER
from tests.drivers import DriverClient
from tests.factories import CustomerFactory, DriverFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "header", [None, "Token wrong", "Bearer", "Basic dXNlcjpwYXNz"], ids=["missing", "bad", "empty", "basic"]
)
def test_missing_or_bad_token_is_401_unauthenticated(header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.post("/graphql/", {"query": CURRENT_TRIP}, format="json")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_answers_set_no_csrf_cookie():
    # Drivers send a token; the endpoint is CSRF-exempt, so a cookie would be work for nothing.
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=DriverFactory.create().user)}")
    response = client.post("/graphql/", {"query": CURRENT_TRIP}, format="json")
    assert response.status_code == 200
    assert response.json() == {"data": {"currentTrip": None}}
    assert "csrftoken" not in response.cookies


def test_a_customer_token_is_not_a_driver_token():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=CustomerFactory.create().user)}")
    response = client.post("/graphql/", {"query": CURRENT_TRIP}, format="json")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


def test_malformed_graphql_is_a_400_not_a_500(driver_app):
    response = driver_app.client.post("/graphql/", {"query": "{ currentTrip { nope } }"}, format="json")
    assert response.status_code == 400
    response = driver_app.client.generic("POST", "/graphql/", "{not json", content_type="application/json")
    assert response.status_code == 400


def test_another_drivers_order_is_not_found(driver_app, make_driver, place_order):
    order = place_order()  # assigned to driver_app's driver, the only available one
    other = DriverClient(make_driver())
    result = other.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
    assert result["updateOrder"]["order"] is None
    assert [e["code"] for e in result["updateOrder"]["errors"]] == ["NOT_FOUND"]
    unknown = other.execute(UPDATE_ORDER, albaikIdentifier="ALB-NOPE", status="OUT_FOR_DELIVERY")
    assert unknown["updateOrder"]["errors"] == result["updateOrder"]["errors"]
    assert Delivery.objects.get(order=order).status == "assigned"


@pytest.mark.parametrize(
    ("steps", "move"),
    [
        ([], "OUT_FOR_DELIVERY"),
        ([], "DELIVERED"),
        ([], "FAILED"),
        (["arrive"], "DELIVERED"),
        (["arrive"], "FAILED"),
        (["arrive", "OUT_FOR_DELIVERY", "DELIVERED"], "OUT_FOR_DELIVERY"),
        (["arrive", "OUT_FOR_DELIVERY", "DELIVERED"], "FAILED"),
        (["arrive", "OUT_FOR_DELIVERY", "FAILED"], "DELIVERED"),
    ],
    ids=[
        "scan-before-arrival",
        "deliver-from-assigned",
        "fail-from-assigned",
        "deliver-before-scan",
        "fail-before-scan",
        "scan-after-delivered",
        "fail-after-delivered",
        "deliver-after-failed",
    ],
)
def test_invalid_transitions_change_nothing(driver_app, place_order, steps, move):
    order = place_order()
    for step in steps:
        if step == "arrive":
            driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
        else:
            assert not driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status=step)[
                "updateOrder"
            ]["errors"]
    before = (Delivery.objects.get(order=order).version, OutboxEvent.objects.count())
    result = driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status=move)["updateOrder"]
    assert [e["code"] for e in result["errors"]] == ["INVALID_TRANSITION"]
    assert result["order"] is None
    assert (Delivery.objects.get(order=order).version, OutboxEvent.objects.count()) == before


def test_repeating_the_current_status_succeeds_and_changes_nothing(driver_app, place_order):
    order = place_order()
    driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    first = driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
    before = (
        Delivery.objects.get(order=order).version,
        OutboxEvent.objects.count(),
        DeliveryStatusChange.objects.count(),
    )
    again = driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
    assert again["updateOrder"] == first["updateOrder"]
    arrived_again = driver_app.execute(UPDATE_DRIVER_STATUS, status="DRIVING_TO_CUSTOMER")
    assert arrived_again["updateDriverStatus"]["errors"] == []
    assert (
        Delivery.objects.get(order=order).version,
        OutboxEvent.objects.count(),
        DeliveryStatusChange.objects.count(),
    ) == before


def test_repeated_arrival_is_a_no_op(driver_app, place_order):
    order = place_order()
    driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    arrived_at = Delivery.objects.get(order=order).arrived_at
    events = OutboxEvent.objects.count()
    result = driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")["updateDriverStatus"]
    assert result == {"status": "WAITING_AT_RESTAURANT", "errors": []}
    assert Delivery.objects.get(order=order).arrived_at == arrived_at
    assert OutboxEvent.objects.count() == events


def test_arrival_without_a_trip_is_an_invalid_transition(driver_app):
    result = driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")["updateDriverStatus"]
    assert [e["code"] for e in result["errors"]] == ["INVALID_TRANSITION"]
    assert result["status"] is None


def test_going_unavailable_with_an_open_trip_is_an_invalid_transition(driver_app, driver, place_order):
    place_order()
    result = driver_app.execute(UPDATE_DRIVER_STATUS, status="UNAVAILABLE")["updateDriverStatus"]
    assert [e["code"] for e in result["errors"]] == ["INVALID_TRANSITION"]
    assert Driver.objects.get(pk=driver.pk).status == "driving_to_restaurant"


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [(91, 39.1, "latitude"), (-90.5, 39.1, "latitude"), (21.5, 180.01, "longitude"), (21.5, -181, "longitude")],
)
def test_location_out_of_range_is_validation(driver_app, driver, latitude, longitude, field):
    before = Driver.objects.values_list("latitude", "longitude").get(pk=driver.pk)
    result = driver_app.execute(UPDATE_DRIVER_PROFILE, latitude=latitude, longitude=longitude)["updateDriverProfile"]
    assert result["ok"] is False
    assert [(e["code"], e["field"]) for e in result["errors"]] == [("VALIDATION", field)]
    assert Driver.objects.values_list("latitude", "longitude").get(pk=driver.pk) == before


def test_location_ping_updates_the_driver(driver_app, driver):
    other = DriverFactory.create()
    other_before = Driver.objects.values_list("latitude", "longitude", "location_updated_at").get(pk=other.pk)
    started = timezone.now()
    result = driver_app.execute(UPDATE_DRIVER_PROFILE, latitude=21.6, longitude=39.3)["updateDriverProfile"]
    assert result == {"ok": True, "errors": []}
    driver.refresh_from_db()
    assert (driver.latitude, driver.longitude) == (21.6, 39.3)
    assert driver.location_updated_at is not None
    assert started <= driver.location_updated_at <= timezone.now()
    assert Driver.objects.values_list("latitude", "longitude", "location_updated_at").get(pk=other.pk) == other_before


def test_every_application_error_has_a_graphql_error_code() -> None:
    classes = [
        klass
        for _, klass in inspect.getmembers(errors, inspect.isclass)
        if issubclass(klass, errors.ApplicationError) and klass is not errors.ApplicationError
    ]
    assert classes
    for klass in classes:
        assert klass in ERROR_CODES, klass
        assert error_code(klass("x")) in {"not_found", "invalid_transition", "validation"}
    with pytest.raises(LookupError):
        error_code(errors.ApplicationError("x"))


def test_only_the_base_mutation_declares_errors() -> None:
    mutations = DriverMutation.__subclasses__()
    assert {mutation._meta.name for mutation in mutations} <= set(schema.graphql_schema.type_map)
    assert mutations
    for mutation in mutations:
        assert "errors" not in vars(mutation), mutation
        assert list(mutation._meta.fields)[-1] == "errors"
