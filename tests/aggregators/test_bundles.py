"""Bundles (the seed's example): orders A, B, C; A and C go to the same courier, so the kitchen cooks them together."""

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from aggregators.transitions import COURIER_STATUS, KITCHEN_STATUS, StatusChange
from delivery.models import Branch, Bundle, Order
from events.envelope import Event
from events.models import OutboxEvent
from side_effects.aggregator import (
    CourierAssignedSideEffect,
    CourierAtHubSideEffect,
    CourierDeliveredSideEffect,
    CourierTookOrderSideEffect,
    OrderSideEffectFactory,
    UpdateContext,
)
from side_effects.base import NoSideEffect, SideEffect
from tests.aggregators.conftest import Webhook, at
from tests.factories import AggregatorOrderFactory, BranchFactory

pytestmark = pytest.mark.django_db

BOB = {"id": "courier-bob", "name": "Bob", "phone": "+966555000222"}
JOE = {"id": "courier-joe", "name": "Joe", "phone": "+966555000333"}


class Dashboard:
    """A listener on a branch's dashboard group of the channel layer."""

    def __init__(self, branch: Branch) -> None:
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        async_to_sync(self.layer.group_add)(f"branch-{branch.pk}", self.channel)

    def messages(self) -> list[dict[str, Any]]:
        received = []
        while True:
            try:
                received.append(async_to_sync(self._receive)())
            except TimeoutError:
                return received

    async def _receive(self) -> dict[str, Any]:
        import asyncio

        return await asyncio.wait_for(self.layer.receive(self.channel), timeout=0.2)


@pytest.fixture
def branch() -> Branch:
    return BranchFactory.create()


@pytest.fixture
def dashboard(branch: Branch) -> Dashboard:
    return Dashboard(branch)


def test_the_seed_example_records_the_a_c_bundle_and_broadcasts_it(
    send_courier: Webhook, branch: Branch, dashboard: Dashboard, django_capture_on_commit_callbacks: Any
) -> None:
    a, b, c = (AggregatorOrderFactory.create(branch=branch, aggregator_id=name) for name in ("A", "B", "C"))
    with django_capture_on_commit_callbacks(execute=True):
        assert send_courier("A", "assigned", at(1), BOB).json()["bundle"] is None
        assert send_courier("B", "assigned", at(2), JOE).json()["bundle"] is None
    assert dashboard.messages() == []  # no bundle yet: the dashboard consumer broadcasts these events

    with django_capture_on_commit_callbacks(execute=True):
        response = send_courier("C", "assigned", at(3), BOB)
    assert response.status_code == 200
    assert response.json()["bundle"] == ["A", "C"]

    bundle = Bundle.objects.get()
    assert (bundle.aggregator, bundle.courier_id) == ("rappi", BOB["id"])
    assert set(bundle.orders.values_list("aggregator_id", flat=True)) == {"A", "C"}
    assert Order.objects.get(pk=b.pk).bundle is None

    messages = dashboard.messages()
    cook_together = sorted([a.albaik_identifier, c.albaik_identifier])
    by_order = {message["preparation"]["order"]["aggregator_id"]: message for message in messages}
    assert set(by_order) == {"A", "C"}
    for message in messages:
        assert message["type"] == "preparation.updated"
        assert message["preparation"]["bundle"] == cook_together
        assert message["preparation"]["courier"]["id"] == BOB["id"]

    event = Event.from_json(OutboxEvent.objects.filter(key=f"order-{c.pk}").get().envelope)
    assert event.type == "courier.assigned"
    assert event.data["bundle"] == cook_together
    assert event.handled_synchronously == ("dashboard_broadcast",)
    # A later status of A answers with the bundle in aggregator ids.
    assert send_courier("A", "at_hub", at(4)).json()["bundle"] == ["A", "C"]


def test_a_third_order_joins_the_couriers_bundle(send_courier: Webhook, branch: Branch) -> None:
    for name in ("A", "C", "D"):
        AggregatorOrderFactory.create(branch=branch, aggregator_id=name)
    send_courier("A", "assigned", at(1), BOB)
    send_courier("C", "assigned", at(2), BOB)
    assert send_courier("D", "assigned", at(3), BOB).json()["bundle"] == ["A", "C", "D"]
    assert Bundle.objects.count() == 1


def test_delivered_orders_do_not_bundle(send_courier: Webhook, branch: Branch) -> None:
    for name in ("A", "C"):
        AggregatorOrderFactory.create(branch=branch, aggregator_id=name)
    send_courier("A", "assigned", at(1), BOB)
    send_courier("A", "delivered", at(2))
    assert send_courier("C", "assigned", at(3), BOB).json()["bundle"] is None
    assert not Bundle.objects.exists()


def test_a_reassigned_order_leaves_its_bundle_and_a_lone_order_is_unbundled(
    send_courier: Webhook, branch: Branch, dashboard: Dashboard, django_capture_on_commit_callbacks: Any
) -> None:
    for name in ("A", "C"):
        AggregatorOrderFactory.create(branch=branch, aggregator_id=name)
    send_courier("A", "assigned", at(1), BOB)
    send_courier("C", "assigned", at(2), BOB)
    with django_capture_on_commit_callbacks(execute=True):
        assert send_courier("C", "assigned", at(3), JOE).json()["bundle"] is None
    assert Order.objects.get(aggregator_id="A").bundle is None
    assert {m["preparation"]["order"]["aggregator_id"] for m in dashboard.messages()} == {"A", "C"}


def test_the_factory_yields_one_strategy_per_rule_and_no_side_effect_otherwise() -> None:
    order = Order(pk=1)
    factory = OrderSideEffectFactory()

    def kinds(status: str) -> list[type[SideEffect[UpdateContext]]]:
        change = StatusChange(attribute=COURIER_STATUS, status=status, event_time=Order().created_at)
        return [type(side_effect) for side_effect in factory.create([order], change)]

    assert kinds("assigned") == [CourierAssignedSideEffect]
    assert kinds("at_hub") == [CourierAtHubSideEffect]
    assert kinds("in_transit") == [CourierTookOrderSideEffect]
    assert kinds("at_destination") == [CourierTookOrderSideEffect]
    assert kinds("delivered") == [CourierDeliveredSideEffect, CourierTookOrderSideEffect]
    kitchen = StatusChange(attribute=KITCHEN_STATUS, status="ready_for_pickup", event_time=Order().created_at)
    assert [type(side_effect) for side_effect in factory.create([order], kitchen)] == [NoSideEffect]


def test_the_bundle_forgets_a_delivered_order_even_when_its_courier_takes_another(
    send_courier: Webhook, branch: Branch, dashboard: Dashboard, django_capture_on_commit_callbacks: Any
) -> None:
    """Bob delivers A and takes D: C's card must name D only, never the delivered A (contract §4)."""
    a, c, d = (AggregatorOrderFactory.create(branch=branch, aggregator_id=name) for name in ("A", "C", "D"))
    send_courier("A", "assigned", at(1), BOB)
    send_courier("C", "assigned", at(2), BOB)
    dashboard.messages()
    with django_capture_on_commit_callbacks(execute=True):
        send_courier("A", "in_transit", at(3))
    # The courier took A: A leaves the list and C, left alone, is no bundle any more; both are told now.
    by_order = {m["preparation"]["order"]["aggregator_id"]: m["preparation"] for m in dashboard.messages()}
    assert set(by_order) == {"A", "C"}
    assert by_order["A"]["active"] is False
    assert by_order["A"]["status"] == "handed_over"
    assert by_order["C"]["bundle"] is None
    assert by_order["C"]["active"] is True

    with django_capture_on_commit_callbacks(execute=True):
        send_courier("A", "delivered", at(4))
        send_courier("D", "assigned", at(5), BOB)
    latest: dict[str, dict[str, Any]] = {}
    for message in dashboard.messages():
        latest[message["preparation"]["order"]["aggregator_id"]] = message["preparation"]
    assert latest["C"]["bundle"] == sorted([c.albaik_identifier, d.albaik_identifier])
    assert latest["D"]["bundle"] == sorted([c.albaik_identifier, d.albaik_identifier])
    assert a.albaik_identifier not in latest["C"]["bundle"]


def test_a_bundle_member_handed_over_by_the_kitchen_updates_the_others(
    send_courier: Webhook, branch: Branch, dashboard: Dashboard, django_capture_on_commit_callbacks: Any
) -> None:
    from restaurant.payloads import preparation_payload
    from restaurant.use_cases import preparation_set_status
    from tests.factories import UserFactory

    orders = [AggregatorOrderFactory.create(branch=branch, aggregator_id=name) for name in ("A", "C", "E")]
    for minute, name in enumerate(("A", "C", "E"), start=1):
        send_courier(name, "assigned", at(minute), BOB)
    staff = UserFactory.create()
    branch.staff.add(staff)
    before = preparation_payload(orders[1].preparation)
    assert before["bundle"] == sorted(order.albaik_identifier for order in orders)
    dashboard.messages()

    for status in ("collecting", "ready"):
        preparation_set_status(preparation_id=orders[0].preparation.pk, status=status, user=staff)
    dashboard.messages()
    with django_capture_on_commit_callbacks(execute=True):
        preparation_set_status(preparation_id=orders[0].preparation.pk, status="handed_over", user=staff)

    latest = {m["preparation"]["order"]["aggregator_id"]: m["preparation"] for m in dashboard.messages()}
    assert set(latest) == {"A", "C", "E"}
    remaining = sorted([orders[1].albaik_identifier, orders[2].albaik_identifier])
    assert latest["C"]["bundle"] == remaining
    assert latest["E"]["bundle"] == remaining
    assert latest["C"]["version"] > before["version"]
