"""Reads of aggregator orders: lookup by the aggregator's id, the webhook answer, the event data."""

from typing import Any

from aggregators.transitions import StatusChange
from delivery.errors import NotFound
from delivery.models import Order
from delivery.selectors.snapshots import branch_json, order_json
from restaurant.payloads import preparation_payload
from restaurant.selectors import preparations_for_payload

MAX_AGGREGATOR_ID_LENGTH = 64


def is_valid_aggregator_id(value: object) -> bool:
    # NUL cannot be stored by PostgreSQL and longer ids cannot exist: both are simply unknown.
    return isinstance(value, str) and 0 < len(value) <= MAX_AGGREGATOR_ID_LENGTH and "\x00" not in value


def aggregator_order_get(*, aggregator: str, aggregator_id: str) -> Order:
    """The local order of an aggregator order; NotFound when there is none."""
    order = None
    if is_valid_aggregator_id(aggregator_id):
        order = Order.objects.filter(aggregator=aggregator, aggregator_id=aggregator_id).first()
    if order is None:
        raise NotFound("No such aggregator order.")
    return order


def bundle_aggregator_ids(order: Order) -> list[str] | None:
    if order.bundle_id is None:
        return None
    return sorted(
        aggregator_id
        for aggregator_id in Order.objects.filter(bundle_id=order.bundle_id).values_list("aggregator_id", flat=True)
        if aggregator_id
    )


def bundle_albaik_identifiers(order: Order) -> list[str] | None:
    if order.bundle_id is None:
        return None
    return sorted(Order.objects.filter(bundle_id=order.bundle_id).values_list("albaik_identifier", flat=True))


def courier_json(order: Order) -> dict[str, str] | None:
    if not order.courier_id:
        return None
    return {"id": order.courier_id, "name": order.courier_name, "phone": order.courier_phone}


def webhook_state(order: Order) -> dict[str, Any]:
    """The answer to every webhook (contract §2): the order's state after the event."""
    return {
        "aggregator_id": order.aggregator_id,
        "courier_status": order.courier_status or None,
        "kitchen_status": order.kitchen_status or None,
        "courier": courier_json(order),
        "bundle": bundle_aggregator_ids(order),
    }


def preparation_json(order: Order) -> dict[str, Any]:
    preparation = preparations_for_payload().filter(order_id=order.pk).first()
    return preparation_payload(preparation) if preparation is not None else {}


def status_event_data(order: Order, change: StatusChange) -> dict[str, Any]:
    """The denormalised data of `courier.*` / `kitchen.status_changed`, taken in the writer's transaction."""
    return {
        "order": order_json(order),
        "branch": branch_json(order.branch),
        "courier": courier_json(order),
        "courier_status": order.courier_status,
        "kitchen_status": order.kitchen_status,
        "event_time": change.event_time.isoformat(),
        "bundle": bundle_albaik_identifiers(order),
        "preparation": preparation_json(order),
    }
