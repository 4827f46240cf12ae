"""factory-boy factories for normal data, and `order_for`, an order ready for the kitchen."""

from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from delivery.models import (
    Branch,
    Bundle,
    Customer,
    Delivery,
    Driver,
    DriverStatus,
    MenuItem,
    Order,
    OrderItem,
    OrderSource,
    Preparation,
)

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj: Any, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            obj.save()


class BranchFactory(factory.django.DjangoModelFactory[Branch]):
    class Meta:
        model = Branch

    name = factory.Sequence(lambda n: f"Branch {n}")
    latitude = 21.5
    longitude = 39.2
    store_id = factory.Sequence(lambda n: f"store-{n}")


class MenuItemFactory(factory.django.DjangoModelFactory[MenuItem]):
    class Meta:
        model = MenuItem

    sku = factory.Sequence(lambda n: f"SKU-{n}")
    name = factory.Sequence(lambda n: f"Meal {n}")
    price = Decimal("18.00")


class CustomerFactory(factory.django.DjangoModelFactory[Customer]):
    class Meta:
        model = Customer

    user = factory.SubFactory(UserFactory)
    first_name = "Noura"
    last_name = "Alharbi"
    telephone = factory.Sequence(lambda n: f"+96651{n:07d}")
    preferred_locale = "en"
    notify = True


class DriverFactory(factory.django.DjangoModelFactory[Driver]):
    class Meta:
        model = Driver

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Driver {n}")
    phone = factory.Sequence(lambda n: f"+96650{n:07d}")
    status = DriverStatus.UNAVAILABLE
    latitude = 21.51
    longitude = 39.21
    location_updated_at = factory.LazyFunction(timezone.now)


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


class AggregatorOrderFactory(OrderFactory):
    """An order taken from an aggregator, with one line of two meals and its preparation."""

    class Meta:
        model = Order
        skip_postgeneration_save = True

    albaik_identifier = factory.Sequence(lambda n: f"ALB-AG{n:06d}")
    customer = None  # type: ignore[assignment]  # aggregator customers have no account
    contact_first_name = "Layla"
    contact_last_name = "Rappi"
    contact_telephone = factory.Sequence(lambda n: f"+96656{n:07d}")
    source = OrderSource.AGGREGATOR
    aggregator = "rappi"
    aggregator_id = factory.Sequence(lambda n: f"R-{n:05d}")
    kitchen = factory.RelatedFactory(PreparationFactory, factory_related_name="order")


def order_for(*, branch: Branch | None = None) -> Order:
    """A placed own-fleet order with one line and its preparation (no driver assigned)."""
    preparation = PreparationFactory.create(**({"order__branch": branch} if branch is not None else {}))
    return preparation.order
