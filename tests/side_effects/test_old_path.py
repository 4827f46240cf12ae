"""Every Kafka flag off: the request does all of its side work, exactly once, and says so in the event."""

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import override_settings

from events.models import OutboxEvent
from side_effects.models import EffectRecord
from tests.driver_api.queries import UPDATE_DRIVER_STATUS, UPDATE_ORDER
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def external(recording_servers):
    waseat, push = recording_servers(), recording_servers()
    with override_settings(WASEAT_BASE_URL=waseat.url, WASEAT_API_KEY="key", PUSH_GATEWAY_URL=push.url):
        yield waseat, push


@pytest.fixture
def dashboard(branch):
    """A channel subscribed to the branch's dashboard group, as an open websocket would be."""
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(f"branch-{branch.pk}", channel)

    def received() -> list[dict]:
        async def drain() -> list[dict]:
            messages = []
            while True:
                try:
                    messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.1))
                except TimeoutError:
                    return messages

        return async_to_sync(drain)()

    yield received
    async_to_sync(layer.group_discard)(f"branch-{branch.pk}", channel)


def drive_to_delivered(driver_app, order, capture):
    with capture(execute=True):
        driver_app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    with capture(execute=True):
        driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="OUT_FOR_DELIVERY")
    with capture(execute=True):
        driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="DELIVERED")
    # A retry of the last call (bad network) must not redo any work.
    with capture(execute=True):
        driver_app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status="DELIVERED")


def test_old_path_closes_in_waseat_once_notifies_and_broadcasts(
    external, dashboard, driver_app, place_order, django_capture_on_commit_callbacks
):
    waseat, push = external
    order = place_order()
    drive_to_delivered(driver_app, order, django_capture_on_commit_callbacks)

    closes = waseat.to(f"/orders/{order.albaik_identifier}/close")
    assert len(closes) == 1
    assert closes[0].headers["Idempotency-Key"] == f"close-{order.albaik_identifier}"
    assert closes[0].body["total"] == str(order.total)

    statuses = [r.body["status"] for r in push.to("/notifications")]
    assert statuses == ["assigned", "out_for_delivery", "delivered"]
    assert len({r.headers["Idempotency-Key"] for r in push.requests}) == 3
    assert {r.body["locale"] for r in push.requests} == {"en"}
    assert all(order.albaik_identifier in r.body["body"] for r in push.requests)

    broadcasts = dashboard()
    assert [m["type"] for m in broadcasts] == ["preparation.updated"] * len(broadcasts)
    driver_states = [m["preparation"]["driver"] for m in broadcasts if m["preparation"]["driver"]]
    assert any(state["arrived"] for state in driver_states)
    kinds = list(EffectRecord.objects.filter(albaik_identifier=order.albaik_identifier).values_list("kind", "path"))
    assert ("waseat_close", "request") in kinds
    assert all(path == "request" for _, path in kinds)


def test_events_say_the_request_did_the_work(driver_app, place_order, django_capture_on_commit_callbacks):
    order = place_order()
    drive_to_delivered(driver_app, order, django_capture_on_commit_callbacks)
    events = {
        e.type: json.loads(e.envelope) if isinstance(e.envelope, str | bytes) else e.envelope
        for e in OutboxEvent.objects.filter(albaik_identifier=order.albaik_identifier)
    }
    assert set(events) == {
        "trip.assigned",
        "delivery.driver_arrived",
        "delivery.out_for_delivery",
        "delivery.delivered",
    }
    assert set(events["delivery.delivered"]["handled_synchronously"]) == {
        "current_trip",
        "dashboard_broadcast",
        "customer_notification",
        "waseat_close",
        "driver_status",
    }
    assert events["delivery.delivered"]["key"] == f"driver-{driver_app.driver.pk}"


def test_customer_is_notified_in_their_language(external, make_driver, place_order):
    _, push = external
    make_driver()
    place_order(customer=CustomerFactory.create(preferred_locale="ar"))
    [request] = push.to("/notifications")
    assert request.body["locale"] == "ar"
    assert request.body["title"] == "تم تعيين السائق"


def test_nothing_is_sent_when_the_customer_has_notifications_off(external, make_driver, place_order):
    _, push = external
    make_driver()
    order = place_order(customer=CustomerFactory.create(notify=False))
    assert push.requests == []
    assert EffectRecord.objects.get(albaik_identifier=order.albaik_identifier, kind="notification").outcome == "skipped"
