"""Pinned SQL query counts on the hot paths (currentTrip, updateOrder)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from waffle.testutils import override_flag

from tests.driver_api.queries import CURRENT_TRIP, UPDATE_DRIVER_PROFILE, UPDATE_DRIVER_STATUS, UPDATE_ORDER

pytestmark = pytest.mark.django_db


def count_queries(func):
    func()  # warm the flag cache, as in a running process
    with CaptureQueriesContext(connection) as captured:
        result = func()
    return len(captured), result, [q["sql"] for q in captured.captured_queries]


def test_current_trip_from_the_snapshot_is_at_most_two_queries_including_auth(driver_app, place_order):
    place_order()
    with override_flag("driver_current_trip_snapshot", active=True):
        queries, result, sql = count_queries(lambda: driver_app.execute(CURRENT_TRIP))
    assert result["currentTrip"] is not None
    assert queries <= 2, sql


def test_current_trip_without_a_trip_is_two_queries(driver_app):
    with override_flag("driver_current_trip_snapshot", active=True):
        queries, result, sql = count_queries(lambda: driver_app.execute(CURRENT_TRIP))
    assert result["currentTrip"] is None
    assert queries <= 2, sql


def test_update_order_query_count_is_pinned(driver_app, place_order):
    order = place_order()
    driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    driver_app.execute(CURRENT_TRIP)  # warm the flag cache

    with CaptureQueriesContext(connection) as captured:
        result = driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
    assert result["updateOrder"]["errors"] == []
    assert len(captured) == UPDATE_ORDER_QUERIES, [q["sql"][:120] for q in captured.captured_queries]


def test_location_ping_is_two_queries_including_auth(driver_app):
    queries, result, sql = count_queries(
        lambda: driver_app.execute(UPDATE_DRIVER_PROFILE, latitude=21.5, longitude=39.2)
    )
    assert result["updateDriverProfile"]["ok"] is True
    assert queries == 2, sql


# auth 1 + savepoint and release 2 (the test's own transaction; BEGIN/COMMIT in production are not queries)
# + lock the delivery with order, branch, customer, preparation, driver 1 + its items 1 + update the delivery 1
# + outbox insert 1 + the key's commit-order lock with the NOTIFY 1 + CurrentTrip merge 1
# + driver status and its history 2 + delivery history 1.
# The answer is built from the delivery already loaded.
UPDATE_ORDER_QUERIES = 12
