"""Reads of orders for the customer API."""

from typing import Any

from django.db.models import Prefetch

from delivery.errors import NotFound
from delivery.models import Customer, Delivery, Order


def order_get_for_customer(*, customer: Customer, albaik_identifier: str) -> Order:
    order = (
        Order.objects.select_related("branch")
        .prefetch_related(
            "items",
            Prefetch(
                "deliveries",
                queryset=Delivery.objects.filter(is_active=True).select_related("driver"),
                to_attr="active_deliveries",
            ),
        )
        .filter(customer=customer, albaik_identifier=albaik_identifier)
        .first()
    )
    if order is None:
        raise NotFound("No such order.")
    return order


def order_to_json(order: Order) -> dict[str, Any]:
    deliveries = getattr(order, "active_deliveries", None)
    if deliveries is None:
        deliveries = list(order.deliveries.filter(is_active=True).select_related("driver"))
    delivery = deliveries[0] if deliveries else None
    return {
        "id": order.pk,
        "albaik_identifier": order.albaik_identifier,
        "status": order.status,
        "total": str(order.total),
        "latitude": order.latitude,
        "longitude": order.longitude,
        "created_at": order.created_at.isoformat(),
        "branch": {"id": order.branch.pk, "name": order.branch.name},
        "items": [
            {"menu_item_id": item.menu_item_id, "name": item.name, "quantity": item.quantity, "total": str(item.total)}
            for item in order.items.all()
        ],
        "delivery": None
        if delivery is None
        else {
            "status": delivery.status,
            "driver": {"name": delivery.driver.name},
            "created_at": delivery.created_at.isoformat(),
            "arrived_at": delivery.arrived_at.isoformat() if delivery.arrived_at else None,
            "out_for_delivery_at": delivery.out_for_delivery_at.isoformat() if delivery.out_for_delivery_at else None,
            "finished_at": delivery.finished_at.isoformat() if delivery.finished_at else None,
        },
    }
