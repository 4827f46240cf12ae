"""factory-boy factories for normal data."""

from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from delivery.models import Branch, Customer, Driver, DriverStatus, MenuItem

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
