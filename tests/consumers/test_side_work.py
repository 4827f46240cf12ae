"""The side work moved into Kafka consumers behind flags: exactly once, whichever path does it.

Each test runs the real pipeline: the outbox relay and the five consumers on threads,
talking to the session's Kafka-protocol broker, with WASEAT and the push gateway as real
local HTTP servers and the dashboard's channel layer on the local Redis.
"""

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from io import StringIO
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient
from waffle.models import Flag, Switch

from consumers.registry import get_consumer
from consumers.runtime.lag import consumer_lag_report
from delivery.models import DeliveryStatusChange, DriverStatusChange, Order
from delivery.services.accounts import token_issue
from driver_api.selectors import current_trip_drift
from events.models import OutboxEvent
from side_effects.models import EffectRecord
from tests.driver_api.queries import UPDATE_DRIVER_STATUS, UPDATE_ORDER
from tests.drivers import DriverClient
from tests.factories import UserFactory
from tests.http_servers import RecordingServer, Reply
from tests.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

SIDE_WORK_CONSUMERS = ("driver_trip", "restaurant_dashboard", "waseat", "customer_notifications", "normal_data")
REDIS_URL = "redis://127.0.0.1:6379/6"

FLAG_FOR = {
    "dashboard_broadcast": "kafka_dashboard_broadcast",
    "customer_notification": "kafka_customer_notification",
    "waseat_close": "kafka_waseat_close",
    "driver_status": "kafka_driver_status",
}
ALL_FLAGS = [*FLAG_FOR.values(), "driver_current_trip_snapshot"]


def turn_on(flags: list[str], *, switch: bool) -> None:
    for name in flags:
        Flag.objects.update_or_create(name=name, defaults={"everyone": True})
    if switch:
        Switch.objects.update_or_create(name="kafka_trip_assignment", defaults={"active": True})


@pytest.fixture
def external(recording_servers: Callable[[], RecordingServer]) -> Iterator[tuple[RecordingServer, RecordingServer]]:
    waseat, push = recording_servers(), recording_servers()
    with override_settings(
        WASEAT_BASE_URL=waseat.url,
        PUSH_GATEWAY_URL=push.url,
        HTTP_CLIENT_MAX_ATTEMPTS=1,
        CONSUMER_RETRY_BACKOFF_SECONDS=0.05,
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL], "prefix": f"side-work-{uuid.uuid4().hex[:8]}"},
            }
        },
    ):
        yield waseat, push


@pytest.fixture
def pipeline(kafka: Any, relay: Any, consumer: Any, external: Any) -> Callable[[], Callable[[], None]]:
    """`pipeline()` starts the relay and the side-work consumers and returns `settle()`, which waits for them."""
    definitions = [get_consumer(name) for name in SIDE_WORK_CONSUMERS]

    def start() -> Callable[[], None]:
        relay()
        for definition in definitions:
            consumer(definition, consumer_overrides={"auto.commit.interval.ms": 100})

        def settle() -> None:
            wait_for(
                lambda: not OutboxEvent.objects.filter(published_at__isnull=True).exists(),
                timeout=30,
                what="the relay to publish the outbox",
            )
            wait_for(
                lambda: all(group.lag == 0 for group in consumer_lag_report(definitions=definitions)),
                timeout=60,
                interval=0.2,
                what="every consumer to catch up",
            )

        return settle

    return start


@pytest.fixture
def dashboard(external: Any, branch: Any) -> Callable[[], list[dict[str, Any]]]:
    """A channel in the branch's group, as an open dashboard socket is; returns a drain function."""
    layer = get_channel_layer()
    assert layer is not None
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"branch-{branch.pk}", channel)

    def drain() -> list[dict[str, Any]]:
        async def receive_all() -> list[dict[str, Any]]:
            messages = []
            while True:
                try:
                    messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.5))
                except TimeoutError:
                    return messages

        return async_to_sync(receive_all)()

    return drain


def staff_client(branch: Any) -> APIClient:
    user = UserFactory.create()
    branch.staff.add(user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")
    return client


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
    # Failed attempts rolled back with their transaction: only the success is recorded.
    assert not EffectRecord.objects.filter(kind="waseat_close", outcome="failed").exists()


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
    assert {"waseat", "driver_trip", "restaurant_dashboard"} <= processed_by


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
