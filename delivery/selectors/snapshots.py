"""The denormalised snapshot of a delivery that events carry and CurrentTrip is built from.

Taken inside the writer's transaction, so it is internally consistent: a consumer
never has to query normal data, and nothing in it can be missing.
"""

from typing import Any

from django.db.models import QuerySet

from delivery.models import Branch, Delivery, Order
from restaurant.payloads import preparation_payload


def delivery_with_related() -> QuerySet[Delivery]:
    return Delivery.objects.select_related(
        "order", "order__branch", "order__customer", "order__preparation", "driver"
    ).prefetch_related("order__items")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def order_json(order: Order) -> dict[str, Any]:
    """The `order` object every event carries."""
    return {
        "id": order.pk,
        "albaik_identifier": order.albaik_identifier,
        "total": str(order.total),
        "latitude": order.latitude,
        "longitude": order.longitude,
        "created_at": order.created_at.isoformat(),
        "source": order.source,
        "aggregator_id": order.aggregator_id,
    }


def branch_json(branch: Branch) -> dict[str, Any]:
    """The `branch` object every event carries (also what the driver app reads)."""
    return {"id": branch.pk, "name": branch.name, "latitude": branch.latitude, "longitude": branch.longitude}


def order_items_json(order: Order) -> list[dict[str, Any]]:
    """The order's lines as events and the driver app carry them (uses prefetched items)."""
    return [
        {"id": item.pk, "name": item.name, "quantity": item.quantity, "total": str(item.total)}
        for item in order.items.all()
    ]


def delivery_snapshot(delivery: Delivery) -> dict[str, Any]:
    """Event data for a delivery (see events/schemas.py): order, branch, customer, items, delivery, driver."""
    order = delivery.order
    # Hand the dashboard payload what is already loaded, so it needs no further query.
    order.active_deliveries = [delivery] if delivery.is_active else []  # type: ignore[attr-defined]
    branch = order.branch
    customer = order.customer
    driver = delivery.driver
    return {
        "order": order_json(order),
        "branch": branch_json(branch),
        "customer": {
            "user_id": customer.user_id if customer else None,
            "first_name": order.contact_first_name,
            "last_name": order.contact_last_name,
            "telephone": order.contact_telephone,
            "preferred_locale": customer.preferred_locale if customer else "en",
            "notify": customer.notify if customer else False,
        },
        "items": order_items_json(order),
        "delivery": {
            "id": delivery.pk,
            "status": delivery.status,
            "created_at": delivery.created_at.isoformat(),
            "arrived_at": _iso(delivery.arrived_at),
            "collecting_at": _iso(delivery.collecting_at),
            "out_for_delivery_at": _iso(delivery.out_for_delivery_at),
            "finished_at": _iso(delivery.finished_at),
            "version": delivery.version,
        },
        "driver": {"id": driver.pk, "user_id": driver.user_id, "name": driver.name, "status": driver.status},
        "preparation": preparation_payload(order.preparation),
    }
