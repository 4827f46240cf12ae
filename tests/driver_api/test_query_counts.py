"""Pinned SQL query counts of every driver request, with every flag off (old path) and on (new path).

Each count includes authentication and the work run on commit (the old path's broadcast,
push and WASEAT close, against the console backends), with the Flag rows present and the
flag cache warm, as in a running process. The test's own transaction adds a savepoint and
its release to each mutation (BEGIN and COMMIT in production are not queries).
"""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from waffle import get_waffle_flag_model
from waffle.models import Switch

from side_effects.flags import FlagName, SwitchName, flag_active_for, switch_active
from tests.driver_api.queries import CURRENT_TRIP, UPDATE_DRIVER_PROFILE, UPDATE_DRIVER_STATUS, UPDATE_ORDER

pytestmark = pytest.mark.django_db

# (operation, path) -> queries. Old path: normal data, side work in the request; new path: consumers do it.
EXPECTED = {
    # auth 1 + the CurrentTrip row 1 | the driver's delivery 1 + the delivery with order and branch 1 + items 1
    ("currentTrip", "new"): 2,
    ("currentTrip", "old"): 4,
    # auth 1 + one UPDATE of the driver's location
    ("location ping", "new"): 2,
    ("location ping", "old"): 2,
    # auth 1 + savepoints 4 (driver status, then the delivery) + the driver 1 + lock the delivery with its order,
    # branch, preparation 1 + items 1 + update it 1 + its history row 1 + CurrentTrip merge 1 + the key's
    # commit-order lock 1 + outbox insert 1
    # | old path: + driver status and its history 2 + on commit: the broadcast's record 1
    ("arrival", "new"): 13,
    ("arrival", "old"): 16,
    # auth 1 + savepoints 2 + lock 1 + items 1 + update 1 + history row 1 + CurrentTrip merge 1 + key lock 1
    # + outbox insert 1
    # | old path: + driver status and its history 2 + on commit: the broadcast's record 1, the push's
    # "not superseded" check and record 2
    ("OUT_FOR_DELIVERY", "new"): 10,
    ("OUT_FOR_DELIVERY", "old"): 15,
    # as OUT_FOR_DELIVERY + the order's status 1 | old path: + the close owed (in the transaction) and cleared 2,
    # the WASEAT close's check and record 2 and the waiting orders offered to the now available driver 1
    ("DELIVERED", "new"): 11,
    ("DELIVERED", "old"): 21,
    # as DELIVERED + the failure's reason 1, without the WASEAT close
    ("FAILED", "new"): 12,
    ("FAILED", "old"): 17,
}


@pytest.fixture(params=["old", "new"])
def path(request: pytest.FixtureRequest) -> str:
    """Every flag and switch present, all off (old) or all on (new)."""
    on = request.param == "new"
    flag_model = get_waffle_flag_model()
    for name in FlagName:
        flag_model.objects.update_or_create(name=name.value, defaults={"everyone": on})
    for switch in SwitchName:
        Switch.objects.update_or_create(name=switch.value, defaults={"active": False})
    return str(request.param)


def switches_set(*, on: bool) -> None:
    for switch in SwitchName:
        Switch.objects.update_or_create(name=switch.value, defaults={"active": on})


@pytest.fixture
def count(django_capture_on_commit_callbacks: Any) -> Callable[..., tuple[int, dict[str, Any], list[str]]]:
    def measure(func: Callable[[], dict[str, Any]]) -> tuple[int, dict[str, Any], list[str]]:
        with CaptureQueriesContext(connection) as captured, django_capture_on_commit_callbacks(execute=True):
            result = func()
        return len(captured), result, [q["sql"][:100] for q in captured.captured_queries]

    return measure


@pytest.fixture
def trip(path: str, driver_app: Any, place_order: Any, django_capture_on_commit_callbacks: Any) -> Any:
    """An order assigned to the driver, its CurrentTrip row built, the flag cache warm."""
    order = place_order()
    # Switched on after the assignment, which then builds the row here rather than in the driver_trip consumer.
    switches_set(on=path == "new")
    for flag in FlagName:
        flag_active_for(flag, driver_app.driver.user)
    for switch in SwitchName:
        switch_active(switch)
    with django_capture_on_commit_callbacks(execute=True):
        driver_app.execute(CURRENT_TRIP)
        driver_app.execute(UPDATE_DRIVER_PROFILE, latitude=21.5, longitude=39.2)
    return order


def advance(driver_app: Any, order: Any, *statuses: str) -> None:
    for status in statuses:
        if status == "arrival":
            driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
        else:
            driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status=status)


def test_current_trip(path: str, driver_app: Any, trip: Any, count: Any) -> None:
    queries, result, sql = count(lambda: driver_app.execute(CURRENT_TRIP))
    assert result["currentTrip"]["albaikIdentifier"] == trip.albaik_identifier
    assert queries == EXPECTED[("currentTrip", path)], sql


def test_current_trip_without_a_trip_is_two_queries_on_either_path(path: str, driver_app: Any, count: Any) -> None:
    driver_app.execute(CURRENT_TRIP)
    queries, result, sql = count(lambda: driver_app.execute(CURRENT_TRIP))
    assert result["currentTrip"] is None
    assert queries == 2, sql


def test_location_ping(path: str, driver_app: Any, trip: Any, count: Any) -> None:
    queries, result, sql = count(lambda: driver_app.execute(UPDATE_DRIVER_PROFILE, latitude=21.6, longitude=39.3))
    assert result["updateDriverProfile"] == {"ok": True, "errors": []}
    assert queries == EXPECTED[("location ping", path)], sql


def test_arrival(path: str, driver_app: Any, trip: Any, count: Any) -> None:
    queries, result, sql = count(lambda: driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT"))
    assert result["updateDriverStatus"]["errors"] == []
    assert queries == EXPECTED[("arrival", path)], "\n".join(sql)


@pytest.mark.parametrize(
    ("before", "status"),
    [
        (("arrival",), "OUT_FOR_DELIVERY"),
        (("arrival", "OUT_FOR_DELIVERY"), "DELIVERED"),
        (("arrival", "OUT_FOR_DELIVERY"), "FAILED"),
    ],
)
def test_update_order(
    path: str, driver_app: Any, trip: Any, count: Any, django_capture_on_commit_callbacks: Any, before: Any, status: str
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        advance(driver_app, trip, *before)
    variables = {"albaikIdentifier": trip.albaik_identifier, "status": status, "reason": "customer not home"}
    queries, result, sql = count(lambda: driver_app.execute(UPDATE_ORDER, **variables))
    assert result["updateOrder"]["errors"] == []
    assert result["updateOrder"]["order"]["delivery"]["status"] == status
    assert queries == EXPECTED[(status, path)], "\n".join(sql)
