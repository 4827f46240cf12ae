"""Placing orders."""

import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from delivery.errors import ValidationFailed
from delivery.models import Branch, Customer, MenuItem, Order, OrderItem, OrderSource, Preparation
from delivery.signals import order_waiting
from side_effects.kitchen import PreparationShown


@dataclass(frozen=True)
class ItemRequest:
    menu_item_id: int
    quantity: int


def new_albaik_identifier() -> str:
    return "ALB-" + secrets.token_hex(5).upper()


def validate_location(*, latitude: float, longitude: float) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    if not -90 <= latitude <= 90:
        fields["latitude"] = ["Latitude must be between -90 and 90."]
    if not -180 <= longitude <= 180:
        fields["longitude"] = ["Longitude must be between -180 and 180."]
    return fields


def order_total(lines: list[tuple[MenuItem, int]]) -> Decimal:
    """The total of `(menu item, quantity)` lines at menu prices."""
    return sum((menu_item.price * quantity for menu_item, quantity in lines), Decimal("0.00"))


def order_items_create(*, order: Order, lines: list[tuple[MenuItem, int]]) -> None:
    """The order's lines, priced from the menu (never from the client)."""
    OrderItem.objects.bulk_create(
        OrderItem(
            order=order,
            menu_item=menu_item,
            name=menu_item.name,
            quantity=quantity,
            unit_price=menu_item.price,
            total=menu_item.price * quantity,
        )
        for menu_item, quantity in lines
    )


@transaction.atomic
def order_place(
    *, customer: Customer, branch_id: int, latitude: float, longitude: float, items: list[ItemRequest]
) -> Order:
    """Place a customer's order; prices come from the menu. Enqueues trip assignment on commit."""
    fields = validate_location(latitude=latitude, longitude=longitude)
    if not items:
        fields["items"] = ["At least one item is required."]
    if any(item.quantity <= 0 for item in items):
        fields["items"] = ["Quantities must be positive."]
    branch = Branch.objects.filter(pk=branch_id).first()
    if branch is None:
        fields["branch_id"] = ["Unknown branch."]
    elif not branch.accepting_orders:
        fields["branch_id"] = ["This branch is not accepting orders."]
    menu = MenuItem.objects.in_bulk({item.menu_item_id for item in items})
    unknown = sorted({item.menu_item_id for item in items if item.menu_item_id not in menu})
    if unknown:
        fields["items"] = [f"Unknown menu item {menu_item_id}." for menu_item_id in unknown]
    unavailable = sorted(m.pk for m in menu.values() if not m.is_available)
    if unavailable and not unknown:
        fields["items"] = [f"Menu item {menu_item_id} is not available." for menu_item_id in unavailable]
    if fields:
        raise ValidationFailed("Invalid order.", fields=fields)
    assert branch is not None

    lines = [(menu[item.menu_item_id], item.quantity) for item in items]
    total = order_total(lines)
    order = Order.objects.create(
        albaik_identifier=new_albaik_identifier(),
        customer=customer,
        branch=branch,
        total=total,
        latitude=latitude,
        longitude=longitude,
        contact_first_name=customer.first_name,
        contact_last_name=customer.last_name,
        contact_telephone=customer.telephone,
        source=OrderSource.OWN_FLEET,
    )
    order_items_create(order=order, lines=lines)
    preparation = Preparation.objects.create(order=order, branch=branch)
    # New orders appear on the branch's open dashboards at once.
    PreparationShown(preparation).execute()
    order_id = order.pk
    transaction.on_commit(lambda: order_waiting.send(sender=Order, order_id=order_id))
    return order
