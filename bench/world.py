"""The benchmark's data: a branch, its menu, customers, and drivers who each hold one trip.

Trips are set up through the services, as the apps would: the customer places the order,
trip assignment gives it to a driver, the driver arrives and the restaurant starts
collecting, so every trip is READY_TO_COLLECT and the next driver move is the scan.
Set-up runs with every flag off; the flags are given to drivers afterwards, per driver.
"""

import json
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from waffle import get_waffle_flag_model

from bench.processes import BenchError
from delivery.models import Branch, Customer, Delivery, DeliveryStatus, Driver, DriverStatus, MenuItem
from delivery.services.accounts import token_issue
from delivery.services.deliveries import delivery_mark_arrived
from delivery.services.orders import ItemRequest, order_place
from events.models import OutboxEvent
from restaurant.use_cases import preparation_set_status
from side_effects.flags import FlagName

User = get_user_model()

BRANCH_LOCATION = (21.5433, 39.1728)
CUSTOMER_LOCATION = (21.5600, 39.1900)
MENU = [("BENCH-4PC", "Chicken Meal, 4 pieces", Decimal("18.00")), ("BENCH-GARLIC", "Garlic Sauce", Decimal("1.00"))]
CUSTOMER_LOCALES = ["en", "ar", "en", "ar"]


@dataclass(frozen=True)
class Trip:
    """A driver (and their app's token) with one trip, READY_TO_COLLECT."""

    driver_id: int
    user_id: int
    token: str
    albaik_identifier: str


def world_create(*, trips: int, arrived: bool = True, prefix: str = "bench") -> list[Trip]:
    """Create the branch, menu, customers and `trips` drivers, and give each driver a trip.

    The restaurant is collecting every order; with `arrived` the driver has reported arrival too
    (READY_TO_COLLECT), otherwise the arrival is the driver's next move."""
    latitude, longitude = BRANCH_LOCATION
    branch = Branch.objects.create(name="Bench Branch", latitude=latitude, longitude=longitude, store_id="bench-store")
    menu = [MenuItem.objects.create(sku=sku, name=name, price=price) for sku, name, price in MENU]
    staff = User.objects.create(username="bench-staff", password=make_password(None))
    branch.staff.add(staff)
    customers = [
        Customer.objects.create(
            user=User.objects.create(username=f"bench-customer-{index}", password=make_password(None)),
            first_name="Bench",
            last_name=f"Customer {index}",
            telephone=f"+96658{index:07d}",
            preferred_locale=locale,
            notify=True,
        )
        for index, locale in enumerate(CUSTOMER_LOCALES)
    ]
    # Drivers authenticate with tokens: an unusable password costs no hashing.
    users = User.objects.bulk_create(
        User(username=f"bench-driver-{index}", password=make_password(None)) for index in range(trips)
    )
    now = timezone.now()
    Driver.objects.bulk_create(
        Driver(
            user=user,
            name=f"Bench Driver {index}",
            phone=f"+96659{index:07d}",
            status=DriverStatus.AVAILABLE,
            latitude=latitude + 0.0001 * (index % 97),
            longitude=longitude + 0.0001 * (index // 97),
            location_updated_at=now,
        )
        for index, user in enumerate(users)
    )
    items = [ItemRequest(menu_item_id=menu[0].pk, quantity=2), ItemRequest(menu_item_id=menu[1].pk, quantity=1)]
    for index in range(trips):
        # Trip assignment runs on commit (Celery is eager in this process).
        order_place(
            customer=customers[index % len(customers)],
            branch_id=branch.pk,
            latitude=CUSTOMER_LOCATION[0],
            longitude=CUSTOMER_LOCATION[1],
            items=items,
        )
    deliveries = list(
        Delivery.objects.filter(is_active=True)
        .select_related("driver__user", "order__preparation")
        .order_by("driver_id")
    )
    if len(deliveries) != trips:
        raise BenchError(f"trip assignment gave {len(deliveries)} of {trips} orders a driver")
    for delivery in deliveries:
        if arrived:
            delivery_mark_arrived(driver=delivery.driver)
        preparation_set_status(preparation_id=delivery.order.preparation.pk, status="collecting", user=staff)
    ready = Delivery.objects.filter(is_active=True, status=DeliveryStatus.READY_TO_COLLECT).count()
    if ready != trips:
        raise BenchError(f"only {ready} of {trips} trips reached READY_TO_COLLECT")
    return [
        Trip(
            driver_id=delivery.driver_id,
            user_id=delivery.driver.user_id,
            token=token_issue(user=delivery.driver.user),
            albaik_identifier=delivery.order.albaik_identifier,
        )
        for delivery in deliveries
    ]


def flags_give(*, snapshot_to: list[Trip], kafka_to: list[Trip]) -> None:
    """Per-driver flags: `driver_current_trip_snapshot` and every `kafka_*` flag, each to its own drivers."""
    flag_model = get_waffle_flag_model()
    for name in FlagName:
        flag, _ = flag_model.objects.update_or_create(name=name.value, defaults={"everyone": None, "percent": None})
        holders = snapshot_to if name is FlagName.DRIVER_CURRENT_TRIP_SNAPSHOT else kafka_to
        flag.users.set([trip.user_id for trip in holders])


def handled_synchronously(*, albaik_identifier: str, event_type: str) -> list[str]:
    """What the request did itself for this order's event, as written into the event."""
    row = OutboxEvent.objects.filter(albaik_identifier=albaik_identifier, type=event_type).order_by("-id").first()
    if row is None:
        raise BenchError(f"no {event_type} event for {albaik_identifier}")
    return list(json.loads(row.envelope)["handled_synchronously"])
