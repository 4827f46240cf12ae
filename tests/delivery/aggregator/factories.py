"""factory-boy factories for aggregator orders (with their line and preparation)."""

from decimal import Decimal
from typing import Any

import factory

from delivery.models import MenuItem, Order, OrderItem, OrderSource, Preparation
from tests.factories import BranchFactory, MenuItemFactory


class AggregatorOrderFactory(factory.django.DjangoModelFactory[Order]):
    class Meta:
        model = Order
        skip_postgeneration_save = True

    albaik_identifier = factory.Sequence(lambda n: f"ALB-AG{n:06d}")
    branch = factory.SubFactory(BranchFactory)
    total = Decimal("36.00")
    latitude = 21.55
    longitude = 39.18
    contact_first_name = "Layla"
    contact_last_name = "Rappi"
    contact_telephone = factory.Sequence(lambda n: f"+96656{n:07d}")
    source = OrderSource.AGGREGATOR
    aggregator = "rappi"
    aggregator_id = factory.Sequence(lambda n: f"R-{n:05d}")

    @factory.post_generation
    def kitchen(obj: Order, create: bool, extracted: Any, **kwargs: Any) -> None:
        """One line of two meals and the order's preparation, as the adapter creates them."""
        if not create:
            return
        item: MenuItem = MenuItemFactory.create(price=Decimal("18.00"))
        OrderItem.objects.create(
            order=obj, menu_item=item, name=item.name, quantity=2, unit_price=item.price, total=item.price * 2
        )
        Preparation.objects.create(order=obj, branch=obj.branch)
