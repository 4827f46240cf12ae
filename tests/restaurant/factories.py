"""factory-boy factories for what the dashboard shows: orders, their items, preparations and deliveries."""

from decimal import Decimal

import factory
from django.utils import timezone

from delivery.models import Bundle, Delivery, Order, OrderItem, OrderSource, Preparation
from tests.factories import BranchFactory, CustomerFactory, DriverFactory, MenuItemFactory


class OrderFactory(factory.django.DjangoModelFactory[Order]):
    class Meta:
        model = Order

    albaik_identifier = factory.Sequence(lambda n: f"ALB-T{n:06d}")
    customer = factory.SubFactory(CustomerFactory)
    branch = factory.SubFactory(BranchFactory)
    total = Decimal("36.00")
    latitude = 21.55
    longitude = 39.18
    contact_first_name = "Noura"
    contact_last_name = "Alharbi"
    contact_telephone = factory.Sequence(lambda n: f"+96655{n:07d}")
    source = OrderSource.OWN_FLEET

    class Params:
        # An order taken from an aggregator: no customer account, the aggregator's id.
        from_aggregator = factory.Trait(
            customer=None,
            source=OrderSource.AGGREGATOR,
            aggregator="rappi",
            aggregator_id=factory.Sequence(lambda n: f"R{n:06d}"),
        )


class OrderItemFactory(factory.django.DjangoModelFactory[OrderItem]):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    menu_item = factory.SubFactory(MenuItemFactory)
    name = factory.LazyAttribute(lambda item: item.menu_item.name)
    quantity = 2
    unit_price = factory.LazyAttribute(lambda item: item.menu_item.price)
    total = factory.LazyAttribute(lambda item: item.unit_price * item.quantity)


class PreparationFactory(factory.django.DjangoModelFactory[Preparation]):
    """A preparation of a fresh order with one line, at the order's branch."""

    class Meta:
        model = Preparation
        skip_postgeneration_save = True

    order = factory.SubFactory(OrderFactory)
    branch = factory.LazyAttribute(lambda preparation: preparation.order.branch)
    item = factory.RelatedFactory(OrderItemFactory, order=factory.SelfAttribute("..order"))


class DeliveryFactory(factory.django.DjangoModelFactory[Delivery]):
    class Meta:
        model = Delivery

    order = factory.SubFactory(OrderFactory)
    driver = factory.SubFactory(DriverFactory)


class BundleFactory(factory.django.DjangoModelFactory[Bundle]):
    class Meta:
        model = Bundle

    aggregator = "rappi"
    courier_id = factory.Sequence(lambda n: f"courier-{n}")
    created_at = factory.LazyFunction(timezone.now)
