"""Courier and kitchen webhooks: each status in order, late and repeated events, malformed bodies."""

import json
import random
from datetime import datetime
from typing import Any

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregators.transitions import COURIER_FLOW
from delivery.models import Order, OrderStatus
from events.envelope import Event
from events.models import OutboxEvent
from side_effects.models import EffectKind, EffectRecord
from tests.aggregators.conftest import Webhook, at, courier_path, signed_patch
from tests.factories import AggregatorOrderFactory

pytestmark = pytest.mark.django_db

BOB = {"id": "courier-bob", "name": "Bob", "phone": "+966555000222"}


def events_of(order: Order) -> list[Event]:
    rows = OutboxEvent.objects.filter(key=f"order-{order.pk}").order_by("id")
    return [Event.from_json(row.envelope) for row in rows]


def test_every_courier_status_in_order(send_courier: Webhook, django_capture_on_commit_callbacks: Any) -> None:
    order = AggregatorOrderFactory.create()
    aggregator_id = order.aggregator_id
    for minute, status in enumerate(COURIER_FLOW, start=1):
        with django_capture_on_commit_callbacks(execute=True):
            response = send_courier(aggregator_id, status, at(minute), BOB)
        assert response.status_code == 200, response.content
        assert response.json() == {
            "aggregator_id": aggregator_id,
            "courier_status": status,
            "kitchen_status": None,
            "courier": BOB,
            "bundle": None,
        }
        order.refresh_from_db()
        assert order.courier_status == status
        assert order.courier_status_at == datetime.fromisoformat(at(minute))
    assert order.status == OrderStatus.DELIVERED
    events = events_of(order)
    assert [event.type for event in events] == ["courier.assigned"] + ["courier.status_changed"] * 4
    assert [event.data["courier_status"] for event in events] == list(COURIER_FLOW)
    assert all(event.key == f"order-{order.pk}" for event in events)
    assert events[0].data["courier"] == BOB
    assert events[0].data["order"]["aggregator_id"] == aggregator_id
    assert events[0].data["branch"]["id"] == order.branch_id
    assert events[0].data["preparation"]["courier"]["id"] == BOB["id"]
    # at_hub and the courier taking the order were broadcast by the request, and delivered closed in
    # WASEAT by it: consumers must not redo them.
    assert events[1].handled_synchronously == ("dashboard_broadcast",)
    assert events[2].handled_synchronously == ("dashboard_broadcast",)
    assert events[4].handled_synchronously == ("dashboard_broadcast", "waseat_close")
    assert EffectRecord.objects.filter(
        albaik_identifier=order.albaik_identifier, kind=EffectKind.WASEAT_CLOSE, path="request", outcome="ok"
    ).exists()


def test_kitchen_status_from_the_url(client: Client) -> None:
    order = AggregatorOrderFactory.create()
    response = signed_patch(
        client, f"/webhooks/rappi/{order.aggregator_id}/kitchen/ready_for_pickup/", {"event_time": at(3)}
    )
    assert response.status_code == 200
    assert response.json()["kitchen_status"] == "ready_for_pickup"
    assert response.json()["courier_status"] is None
    order.refresh_from_db()
    assert (order.kitchen_status, order.kitchen_status_at) == ("ready_for_pickup", datetime.fromisoformat(at(3)))
    assert [event.type for event in events_of(order)] == ["kitchen.status_changed"]
    # The kitchen's clock is its own: an older courier event still applies.
    assert (
        signed_patch(client, courier_path(order.aggregator_id or "", "at_hub"), {"event_time": at(1)}).status_code
        == 200
    )
    order.refresh_from_db()
    assert order.courier_status == "at_hub"


def test_the_url_decides_the_status_not_the_body(client: Client) -> None:
    order = AggregatorOrderFactory.create()
    body = {"event_time": at(1), "courier_status": "delivered"}
    response = signed_patch(client, courier_path(order.aggregator_id or "", "at_hub"), body)
    assert response.json()["courier_status"] == "at_hub"


def test_a_repeat_or_an_older_event_answers_200_and_changes_nothing(send_courier: Webhook) -> None:
    order = AggregatorOrderFactory.create()
    send_courier(order.aggregator_id, "assigned", at(1), BOB)
    send_courier(order.aggregator_id, "in_transit", at(3))
    assert OutboxEvent.objects.count() == 2
    repeat = send_courier(order.aggregator_id, "in_transit", at(3))
    late = send_courier(order.aggregator_id, "at_hub", at(2))
    for response in (repeat, late):
        assert response.status_code == 200
        assert response.json()["courier_status"] == "in_transit"
    order.refresh_from_db()
    assert (order.courier_status, order.courier_status_at) == ("in_transit", datetime.fromisoformat(at(3)))
    assert OutboxEvent.objects.count() == 2


@pytest.mark.parametrize("seed", range(6))
def test_shuffled_and_duplicated_sequences_end_in_the_newest_state(send_courier: Webhook, seed: int) -> None:
    order = AggregatorOrderFactory.create()
    sequence = [(status, at(minute)) for minute, status in enumerate(COURIER_FLOW, start=1)]
    rng = random.Random(seed)
    deliveries = sequence + rng.sample(sequence, k=3)
    rng.shuffle(deliveries)
    for status, event_time in deliveries:
        assert send_courier(order.aggregator_id, status, event_time, BOB).status_code == 200
    order.refresh_from_db()
    assert order.courier_status == "delivered"
    assert order.courier_status_at == datetime.fromisoformat(at(len(COURIER_FLOW)))
    # Whenever the assignment arrived, it still says who the courier is.
    assert (order.courier_id, order.courier_name, order.courier_phone) == (BOB["id"], BOB["name"], BOB["phone"])
    assert order.status == OrderStatus.DELIVERED


def test_a_newer_assignment_replaces_the_courier_and_an_older_one_does_not(send_courier: Webhook) -> None:
    order = AggregatorOrderFactory.create()
    joe = {"id": "courier-joe", "name": "Joe", "phone": "+966555000333"}
    send_courier(order.aggregator_id, "assigned", at(1), BOB)
    send_courier(order.aggregator_id, "assigned", at(5), joe)
    send_courier(order.aggregator_id, "assigned", at(3), BOB)
    order.refresh_from_db()
    assert order.courier_id == "courier-joe"


def test_an_unknown_order_is_a_404(send_courier: Webhook) -> None:
    for aggregator_id in ("no-such-order", "x" * 65, "nul%00byte"):
        response = send_courier(aggregator_id, "at_hub", at(1))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_an_own_fleet_order_is_not_reachable_by_its_id(send_courier: Webhook) -> None:
    order = AggregatorOrderFactory.create(aggregator="", aggregator_id="OWN-1")
    assert send_courier(order.aggregator_id, "at_hub", at(1)).status_code == 404


def test_only_patch_is_allowed(client: Client) -> None:
    order = AggregatorOrderFactory.create()
    response = client.post(courier_path(order.aggregator_id or "", "at_hub"), {}, content_type="application/json")
    assert response.status_code in (401, 405)


MALFORMED_BODIES: list[Any] = [
    {},
    [],
    "just a string",
    42,
    None,
    {"event_time": "yesterday"},
    {"event_time": 17},
    {"event_time": "9999-12-31T23:59:59-23:59"},
    {"event_time": "0001-01-01T00:00:00+23:59"},
]
MALFORMED_COURIERS: list[Any] = [
    None,
    "Bob",
    {"id": "x" * 65, "name": "Bob"},
    {"id": "1\u0000", "name": "Bob"},
    {"id": True, "name": ["Bob"]},
    {"name": "Bob"},
]
MALFORMED_RAW: list[bytes] = [b"{", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000, b'{"event_time": NaN}', b"nul\x00"]


@pytest.mark.parametrize("status", ["assigned", "at_hub"])
def test_no_500_for_malformed_bodies(client: Client, status: str) -> None:
    order = AggregatorOrderFactory.create()
    path = courier_path(order.aggregator_id or "", status)
    for body in MALFORMED_BODIES:
        response = signed_patch(client, path, body)
        assert response.status_code == 400, (body, response.content)
        assert response.json()["error"]["code"] in {"validation", "malformed_json", "event_time_in_future"}
    if status == "assigned":
        for courier in MALFORMED_COURIERS:
            response = signed_patch(client, path, {"event_time": at(1), "courier": courier})
            assert response.status_code == 400, (courier, response.content)
            assert response.json()["error"]["code"] == "validation"
    for raw in MALFORMED_RAW:
        response = signed_patch(client, path, None, raw=raw)
        assert response.status_code == 400, (raw[:20], response.content)
    order.refresh_from_db()
    assert order.courier_status == ""
    assert not OutboxEvent.objects.exists()


def test_an_unknown_kitchen_status_is_a_400(client: Client) -> None:
    order = AggregatorOrderFactory.create()
    response = signed_patch(
        client, f"/webhooks/rappi/{order.aggregator_id}/kitchen/Not-A-Status/", {"event_time": at(1)}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
BODIES = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"event_time": st.one_of(st.text(max_size=30), st.datetimes().map(datetime.isoformat), JSON)},
        optional={
            "courier": st.one_of(JSON, st.fixed_dictionaries({"id": JSON, "name": JSON}, optional={"phone": JSON}))
        },
    ),
)


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES)
def test_no_500_for_any_body(client: Client, body: Any) -> None:
    order = Order.objects.filter(aggregator_id="FUZZ-1").first() or AggregatorOrderFactory.create(
        aggregator_id="FUZZ-1"
    )
    response = signed_patch(client, courier_path("FUZZ-1", "assigned"), None, raw=json.dumps(body).encode())
    assert response.status_code in (200, 400), response.content
    assert order.pk
