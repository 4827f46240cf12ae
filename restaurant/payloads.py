"""What the restaurant dashboard is told: the `preparation` object of contract §4, read from normal data.

Events carry it (taken in the writer's transaction) and the dashboard's page and API serve it.
"""

from typing import Any

from delivery.models import Preparation
from restaurant.selectors import (
    is_loaded_for_payload,
    preparation_get_for_payload,
    preparation_state,
    preparation_version,
)


def preparation_payload(preparation: Preparation) -> dict[str, Any]:
    """The contract §4 `preparation` object, read from normal data in at most four queries.

    `status` is the kitchen status the card shows (`preparation_state`), `version` orders
    messages about it. Besides the contract's keys it carries `branch_id`, `active` (false
    once the kitchen is done with it), `next_status` (the card's one action, or null) and
    the driver's `delivery_status`.
    """
    if not is_loaded_for_payload(preparation):
        preparation = preparation_get_for_payload(preparation_id=preparation.pk)
    order = preparation.order
    deliveries: list[Any] = order.active_deliveries  # type: ignore[attr-defined]
    delivery = deliveries[0] if deliveries else None
    state = preparation_state(preparation=preparation, order=order, delivery=delivery)
    bundle = order.bundle
    # A bundle lists the orders still in the kitchen; one left alone is no bundle.
    members = [] if bundle is None else [other.albaik_identifier for other in bundle.bundle_orders]  # type: ignore[attr-defined]
    return {
        "id": preparation.pk,
        "version": preparation_version(preparation=preparation, order=order, delivery=delivery),
        "branch_id": preparation.branch_id,
        "status": state.status,
        "next_status": state.next_status,
        "kind": preparation.kind,
        "active": state.active,
        "created_at": preparation.created_at.isoformat(),
        "order": {
            "albaik_identifier": order.albaik_identifier,
            "aggregator_id": order.aggregator_id or None,
            "aggregator": order.aggregator or None,
            "items": [{"name": item.name, "quantity": item.quantity} for item in order.items.all()],
            "total": str(order.total),
            "created_at": order.created_at.isoformat(),
            "source": order.source,
        },
        "driver": None
        if delivery is None
        else {
            "id": delivery.driver.pk,
            "name": delivery.driver.name,
            "arrived": delivery.arrived_at is not None,
            "delivery_status": delivery.status,
        },
        "courier": None
        if not order.courier_id
        else {
            "id": order.courier_id,
            "name": order.courier_name,
            "phone": order.courier_phone,
            "status": order.courier_status or None,
        },
        "bundle": members if len(members) > 1 else None,
    }
