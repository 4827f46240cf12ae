"""Demo data for `make run` and manual testing.

Idempotent: running it again creates nothing new, except fresh API tokens for the demo drivers and
customers (tokens are stored hashed, so printing one means issuing it; earlier ones stay valid until
revoked). It creates no superuser: `manage.py createsuperuser` makes one with a password of your own.
"""

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from delivery.models import Branch, Customer, Driver, DriverStatus, MenuItem
from delivery.services.accounts import token_issue

User = get_user_model()

BRANCHES: list[dict[str, Any]] = [
    {"name": "Tahlia Street", "latitude": 21.5433, "longitude": 39.1728, "store_id": "rappi-store-tahlia"},
    {"name": "Corniche", "latitude": 21.6010, "longitude": 39.1098, "store_id": "rappi-store-corniche"},
]
MENU: list[dict[str, Any]] = [
    {"sku": "CHK-4PC", "name": "Chicken Meal, 4 pieces", "price": Decimal("18.00")},
    {"sku": "CHK-SPICY", "name": "Spicy Chicken Meal", "price": Decimal("19.00")},
    {"sku": "SHRIMP-10", "name": "Jumbo Shrimp Meal", "price": Decimal("23.00")},
    {"sku": "NUGGETS-10", "name": "Chicken Nuggets, 10 pieces", "price": Decimal("15.00")},
    {"sku": "GARLIC", "name": "Garlic Sauce", "price": Decimal("1.00")},
]
DRIVERS: list[dict[str, Any]] = [
    {"name": "Faisal Driver", "phone": "+966500000001", "password": "driver-pass-1", "at": 0},
    {"name": "Omar Driver", "phone": "+966500000002", "password": "driver-pass-2", "at": 0},
    {"name": "Salem Driver", "phone": "+966500000003", "password": "driver-pass-3", "at": 1},
]
CUSTOMERS: list[dict[str, Any]] = [
    {
        "first_name": "Noura",
        "last_name": "Alharbi",
        "phone": "+966510000001",
        "password": "customer-pass-1",
        "locale": "en",
    },
    {
        "first_name": "Khalid",
        "last_name": "Alqahtani",
        "phone": "+966510000002",
        "password": "customer-pass-2",
        "locale": "ar",
    },
]
STAFF_PASSWORD = "staff-pass"


def _user(*, username: str, password: str, **extra: Any) -> Any:
    user, created = User.objects.get_or_create(username=username, defaults=extra)
    if created or not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def demo_seed() -> dict[str, Any]:
    """Create (once) and describe the demo branches, menu, drivers, customers and staff, with fresh tokens."""
    branches = []
    for spec in BRANCHES:
        branch, _ = Branch.objects.get_or_create(
            store_id=spec["store_id"],
            defaults={"name": spec["name"], "latitude": spec["latitude"], "longitude": spec["longitude"]},
        )
        branches.append(branch)
    menu = []
    for spec in MENU:
        item, _ = MenuItem.objects.get_or_create(
            sku=spec["sku"], defaults={"name": spec["name"], "price": spec["price"]}
        )
        menu.append(item)
    drivers = []
    for index, spec in enumerate(DRIVERS, start=1):
        user = _user(username=f"driver{index}", password=spec["password"], first_name=spec["name"])
        near = branches[spec["at"]]
        driver, _ = Driver.objects.get_or_create(
            user=user,
            defaults={
                "name": spec["name"],
                "phone": spec["phone"],
                "status": DriverStatus.UNAVAILABLE,
                # A last known location a few hundred metres from the branch.
                "latitude": near.latitude + 0.002 * index,
                "longitude": near.longitude + 0.002 * index,
                "location_updated_at": timezone.now(),
            },
        )
        drivers.append((driver, spec))
    customers = []
    for index, spec in enumerate(CUSTOMERS, start=1):
        user = _user(username=f"customer{index}", password=spec["password"], first_name=spec["first_name"])
        customer, _ = Customer.objects.get_or_create(
            user=user,
            defaults={
                "first_name": spec["first_name"],
                "last_name": spec["last_name"],
                "telephone": spec["phone"],
                "preferred_locale": spec["locale"],
            },
        )
        customers.append((customer, spec))
    staff = []
    for index, branch in enumerate(branches, start=1):
        user = _user(username=f"staff{index}", password=STAFF_PASSWORD)
        branch.staff.add(user)
        staff.append({"username": user.username, "password": STAFF_PASSWORD, "branch_id": branch.pk})

    return {
        "branches": [
            {"id": b.pk, "name": b.name, "latitude": b.latitude, "longitude": b.longitude, "store_id": b.store_id}
            for b in branches
        ],
        "menu_items": [{"id": m.pk, "sku": m.sku, "name": m.name, "price": str(m.price)} for m in menu],
        "drivers": [
            {
                "id": d.pk,
                "user_id": d.user_id,
                "phone": d.phone,
                "password": spec["password"],
                "token": token_issue(user=d.user),
            }
            for d, spec in drivers
        ],
        "customers": [
            {
                "id": c.pk,
                "phone": c.telephone,
                "password": spec["password"],
                "token": token_issue(user=c.user),
            }
            for c, spec in customers
        ],
        "staff": staff,
        "aggregators": {"rappi": {"webhook_secret": settings.RAPPI_WEBHOOK_SECRET}},
    }
