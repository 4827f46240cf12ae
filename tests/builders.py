"""Builders of whole domain situations (an order with items, an assigned trip) for tests."""

from decimal import Decimal

from delivery.models import Branch, Customer, Order, OrderItem, Preparation
from delivery.services.orders import new_albaik_identifier
from tests.factories import BranchFactory, CustomerFactory, MenuItemFactory


def order_for(
    *, customer: Customer | None = None, branch: Branch | None = None, quantity: int = 2, price: str = "18.00"
) -> Order:
    """A placed own-fleet order with one line and its preparation, written directly (no assignment)."""
    customer = customer or CustomerFactory.create()
    branch = branch or BranchFactory.create()
    item = MenuItemFactory.create(price=Decimal(price))
    total = item.price * quantity
    order = Order.objects.create(
        albaik_identifier=new_albaik_identifier(),
        customer=customer,
        branch=branch,
        total=total,
        latitude=21.55,
        longitude=39.18,
        contact_first_name=customer.first_name,
        contact_last_name=customer.last_name,
        contact_telephone=customer.telephone,
    )
    OrderItem.objects.create(
        order=order, menu_item=item, name=item.name, quantity=quantity, unit_price=item.price, total=total
    )
    Preparation.objects.create(order=order, branch=branch)
    return order
