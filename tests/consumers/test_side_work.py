"""The side work moved into Kafka consumers behind flags: exactly once, whichever path does it.

Each test runs the real pipeline: the outbox relay and the five consumers on threads,
talking to the session's Kafka-protocol broker, with WASEAT and the push gateway as real
local HTTP servers and the dashboard's channel layer on the local Redis.
"""

import json
import uuid
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from waffle.models import Flag

from delivery.models import DeliveryStatusChange, DriverStatusChange, Order
from driver_api.selectors import current_trip_drift
from events.models import OutboxEvent
from side_effects.models import EffectRecord
from tests.driver_api.queries import UPDATE_DRIVER_STATUS, UPDATE_ORDER
from tests.drivers import DriverClient
from tests.http_servers import Reply
from tests.pipeline import ALL_FLAGS, staff_client, turn_on

pytestmark = pytest.mark.django_db(transaction=True)


def assert_no_drift() -> None:
    assert list(current_trip_drift()) == []


def drive_journey(driver_app: DriverClient, order: Order, branch: Any, settle: Callable[[], None]) -> None:
    """Arrive, collecting, scan, deliver (and the app's retry of delivered); no drift after every step."""
    settle()
    assert_no_drift()
    steps: list[Callable[[], Any]] = [
        lambda: driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT"),
        lambda: staff_client(branch).patch(
            f"/restaurant/preparations/{order.preparation.pk}/", {"status": "collecting"}, format="json"
        ),
        lambda: driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY"),
        lambda: driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="DELIVERED"),
        lambda: driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="DELIVERED"),
    ]
    for step in steps:
        step()
        settle()
        assert_no_drift()


FLAG_SETS = {
    "all-off": ([], False),
    "trip-assignment": ([], True),
    "dashboard": (["kafka_dashboard_broadcast"], False),
    "notification": (["kafka_customer_notification"], False),
    "waseat": (["kafka_waseat_close"], False),
    "driver-status": (["kafka_driver_status"], False),
    "all-on": (ALL_FLAGS, True),
}


@pytest.mark.parametrize(("flags", "switch"), list(FLAG_SETS.values()), ids=list(FLAG_SETS))
def test_each_piece_of_work_happens_exactly_once_on_either_path(
    flags: list[str],
    switch: bool,
    pipeline: Any,
    external: Any,
    dashboard: Any,
    driver: Any,
    branch: Any,
    place_order: Any,
) -> None:
    waseat, push = external
    turn_on(flags, switch=switch)
    settle = pipeline()
    order = place_order()
    driver_app = DriverClient(driver)
    drive_journey(driver_app, order, branch, settle)

    # WASEAT: one close, counted at the server, by the path the flag chose.
    closes = waseat.to(f"/orders/{order.albaik_identifier}/close")
    assert len(closes) == 1
    expected_path = "consumer" if "kafka_waseat_close" in flags else "request"
    assert list(EffectRecord.objects.filter(kind="waseat_close", outcome="ok").values_list("path", flat=True)) == [
        expected_path
    ]

    # Customer: assigned, out for delivery, delivered; each once.
    assert [r.body["status"] for r in push.to("/notifications")] == ["assigned", "out_for_delivery", "delivered"]
    notified_by = set(EffectRecord.objects.filter(kind="notification").values_list("path", flat=True))
    assert notified_by == {"consumer" if "kafka_customer_notification" in flags else "request"}

    # Dashboard: one broadcast per delivery event, whoever sent it.
    broadcast_events = list(
        OutboxEvent.objects.filter(albaik_identifier=order.albaik_identifier).values_list("event_id", flat=True)
    )
    recorded = list(EffectRecord.objects.filter(kind="broadcast", outcome="ok").values_list("event_id", flat=True))
    assert sorted(map(str, recorded)) == sorted(map(str, broadcast_events))
    broadcast_by = set(EffectRecord.objects.filter(kind="broadcast").values_list("path", flat=True))
    assert broadcast_by == {"consumer" if "kafka_dashboard_broadcast" in flags else "request"}
    messages = dashboard()
    assert all(m["type"] == "preparation.updated" for m in messages)
    delivery_statuses = [m["preparation"]["driver"]["delivery_status"] for m in messages if m["preparation"]["driver"]]
    assert delivery_statuses[-1] == "delivered"

    # Driver status history: one row per change, in order, whoever wrote it.
    history = list(
        DriverStatusChange.objects.filter(driver=driver).order_by("created_at", "id").values_list("status", flat=True)
    )
    assert history == [
        "driving_to_restaurant",
        "waiting_at_restaurant",
        "driving_to_customer",
        "available",
    ]
    driver.refresh_from_db()
    assert driver.status == "available"


def test_a_flag_flipped_between_publish_and_consume_changes_nothing(
    pipeline: Any, external: Any, driver: Any, branch: Any, place_order: Any
) -> None:
    """Work decided in the request stays done once; work left to consumers is still done once."""
    waseat, push = external
    turn_on(["kafka_customer_notification"], switch=False)  # notifications on the new path, WASEAT on the old
    order = place_order()
    driver_app = DriverClient(driver)
    driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
    driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="DELIVERED")
    assert len(waseat.requests) == 1  # closed in the request
    assert push.requests == []  # left to the consumer, which is not running yet

    # Flip both flags before any consumer sees the events.
    Flag.objects.filter(name="kafka_customer_notification").update(everyone=False)
    Flag.objects.update_or_create(name="kafka_waseat_close", defaults={"everyone": True})
    from django.core.cache import caches

    caches["flags"].clear()

    settle = pipeline()
    settle()
    assert len(waseat.requests) == 1
    assert [r.body["status"] for r in push.to("/notifications")] == ["assigned", "out_for_delivery", "delivered"]


def test_a_transient_failure_is_retried_and_the_order_closed_once(
    pipeline: Any, external: Any, driver: Any, branch: Any, place_order: Any
) -> None:
    waseat, _ = external
    turn_on(["kafka_waseat_close"], switch=False)
    waseat.then(Reply(status=503), Reply(status=500), Reply(status=200))
    order = place_order()
    driver_app = DriverClient(driver)
    driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
    driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="DELIVERED")
    settle = pipeline()
    settle()
    assert len(waseat.to(f"/orders/{order.albaik_identifier}/close")) == 3
    assert EffectRecord.objects.filter(kind="waseat_close", outcome="ok").count() == 1
    # The calls run outside any transaction: each failed attempt is recorded, then the one success.
    assert list(EffectRecord.objects.filter(kind="waseat_close").values_list("outcome", "path")) == [
        ("failed", "consumer"),
        ("failed", "consumer"),
        ("ok", "consumer"),
    ]


def test_order_timeline_shows_which_path_did_each_piece_of_work(
    pipeline: Any, external: Any, driver: Any, branch: Any, place_order: Any
) -> None:
    turn_on(["kafka_waseat_close"], switch=True)
    settle = pipeline()
    order = place_order()
    driver_app = DriverClient(driver)
    settle()
    driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
    driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="DELIVERED")
    settle()
    out = StringIO()
    call_command("order_timeline", order.albaik_identifier, "--json", stdout=out)
    timeline = json.loads(out.getvalue())
    events = {e["type"]: e for e in timeline["entries"] if e["kind"] == "event"}
    assert events["trip.assigned"]["work"]["current_trip"] == "consumer"
    assert events["delivery.delivered"]["work"]["waseat_close"] == "consumer"
    assert events["delivery.delivered"]["work"]["customer_notification"] == "request"
    [close] = [e for e in timeline["entries"] if e["kind"] == "waseat_close"]
    assert (close["path"], close["outcome"]) == ("consumer", "ok")
    processed_by = {e["consumer"] for e in timeline["entries"] if e["kind"] == "processed"}
    # Consumers whose work the request did (dashboard, push, driver status) skip the event and record nothing.
    assert processed_by == {"waseat", "driver_trip"}


def test_a_close_that_fails_in_the_request_is_handed_to_the_consumer(
    pipeline: Any, external: Any, driver: Any, branch: Any, place_order: Any
) -> None:
    """Old path, WASEAT down during the request: the close is not lost, the consumer does it once."""
    waseat, _ = external
    waseat.then(Reply(status=503))  # the request's one attempt (HTTP_CLIENT_MAX_ATTEMPTS=1 here)
    order = place_order()
    driver_app = DriverClient(driver)
    driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
    result = driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="DELIVERED")
    assert result["updateOrder"]["errors"] == []  # the driver is never blocked by WASEAT
    assert EffectRecord.objects.get(kind="waseat_close").outcome == "failed"
    settle = pipeline()
    settle()
    closes = waseat.to(f"/orders/{order.albaik_identifier}/close")
    assert len(closes) == 2  # the failed one in the request, the successful one in the consumer
    assert list(EffectRecord.objects.filter(kind="waseat_close", outcome="ok").values_list("path", flat=True)) == [
        "consumer"
    ]
    # Nothing else was done twice.
    assert EffectRecord.objects.filter(kind="notification").count() == 3
    assert DriverStatusChange.objects.filter(driver=driver, status="available").count() == 1


@pytest.mark.django_db
def test_an_event_without_a_preparation_broadcasts_nothing() -> None:
    from side_effects.deliveries import dashboard_broadcast

    dashboard_broadcast(
        snapshot={"order": {"albaik_identifier": "ALB-X"}, "branch": {"id": 1}, "preparation": {}},
        path="consumer",
        event_id=uuid.uuid4(),
    )
    assert EffectRecord.objects.get(albaik_identifier="ALB-X").outcome == "skipped"


@pytest.mark.parametrize(
    "flags",
    [["kafka_customer_notification"], ["kafka_driver_status"], ["kafka_customer_notification", "kafka_driver_status"]],
    ids=["notification-on", "driver-status-on", "both-on"],
)
def test_a_handed_over_close_is_its_own_event_and_repeats_no_other_work(
    flags: list[str], pipeline: Any, external: Any, driver: Any, branch: Any, place_order: Any
) -> None:
    """WASEAT fails in the request with other work on consumers: only the waseat consumer acts on the hand-over."""
    waseat, push = external
    turn_on(flags, switch=False)
    waseat.then(Reply(status=500))
    settle = pipeline()
    order = place_order()
    driver_app = DriverClient(driver)
    driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
    driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="DELIVERED")
    settle()

    assert len(waseat.to(f"/orders/{order.albaik_identifier}/close")) == 2  # the failed try, then the consumer's
    assert list(EffectRecord.objects.filter(kind="waseat_close", outcome="ok").values_list("path", flat=True)) == [
        "consumer"
    ]
    assert [r.body["status"] for r in push.to("/notifications")] == ["assigned", "out_for_delivery", "delivered"]
    assert list(
        DriverStatusChange.objects.filter(driver=driver).order_by("created_at", "id").values_list("status", flat=True)
    ) == ["driving_to_restaurant", "waiting_at_restaurant", "driving_to_customer", "available"]
    assert DeliveryStatusChange.objects.filter(delivery__order=order, status="delivered").count() == 1
    [handover] = OutboxEvent.objects.filter(type="waseat.close_requested")
    assert handover.albaik_identifier == order.albaik_identifier
    assert OutboxEvent.objects.filter(albaik_identifier=order.albaik_identifier, type="delivery.delivered").count() == 1
