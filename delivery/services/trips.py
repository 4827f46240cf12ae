"""Trip assignment: give a waiting order to the nearest available driver.

Each assignment is one transaction that locks the order and the chosen driver
(`SKIP LOCKED`, so concurrent assignments pick different drivers instead of
queueing), backed by the database's "one open delivery per driver" and "one
active delivery per order" constraints.
"""

import logging
import uuid

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, FloatField, OuterRef, QuerySet
from django.db.models.functions import ASin, Cos, Power, Radians, Sin, Sqrt
from django.utils import timezone

from delivery.models import (
    FINISHED_DELIVERY_STATUSES,
    Delivery,
    DeliveryFailure,
    DeliveryStatus,
    Driver,
    DriverStatus,
    Order,
    OrderSource,
    OrderStatus,
)
from delivery.selectors.snapshots import delivery_with_related
from delivery.services.deliveries import HistorySource, transition_publish
from delivery.services.drivers import driver_status_record
from driver_api.services import current_trip_clear
from events.types import EventType
from side_effects.policy import TransitionContext

logger = logging.getLogger(__name__)

EARTH_RADIUS_KM = 6371.0


# The database constraint an assignment hits when the chosen driver got another trip first.
DRIVER_TAKEN_CONSTRAINT = "one_open_delivery_per_driver"
# How many drivers one assignment tries before the order waits for the next trigger.
MAX_DRIVERS_TRIED = 5


def assignable_drivers() -> QuerySet[Driver]:
    """Drivers who are available, located, and hold no open trip whatever their status says."""
    open_trip = Delivery.objects.filter(driver=OuterRef("pk"), is_active=True).exclude(
        status__in=FINISHED_DELIVERY_STATUSES
    )
    return Driver.objects.filter(
        status=DriverStatus.AVAILABLE, latitude__isnull=False, longitude__isnull=False
    ).exclude(Exists(open_trip))


def drivers_by_distance(*, latitude: float, longitude: float) -> QuerySet[Driver]:
    """Available drivers with a known location and no open trip, nearest first (great-circle distance).

    The open-trip check does not trust the status alone: a status written late (a lagging
    consumer, a replay) must never make a driver on a trip look free.
    """
    lat = Radians(F("latitude"))
    dlat = Radians(F("latitude") - latitude)
    dlon = Radians(F("longitude") - longitude)
    a = Power(Sin(dlat / 2), 2) + Cos(lat) * Cos(Radians(latitude)) * Power(Sin(dlon / 2), 2)
    return (
        assignable_drivers()
        .annotate(distance_km=2 * EARTH_RADIUS_KM * ASin(Sqrt(a), output_field=FloatField()))
        .order_by("distance_km", "id")
    )


def _assign(*, order: Order, driver: Driver) -> Delivery:
    now = timezone.now()
    delivery = Delivery.objects.create(order=order, driver=driver, status=DeliveryStatus.ASSIGNED, created_at=now)
    # Driver status changes in the assignment's own transaction: it is what keeps the driver from a second trip.
    driver_status_record(driver_id=driver.pk, status=DriverStatus.DRIVING_TO_RESTAURANT, at=now)
    Driver.objects.filter(pk=driver.pk).update(current_delivery=delivery)
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.IN_PROGRESS, updated_at=now)
    loaded = delivery_with_related().select_related("driver__user").get(pk=delivery.pk)
    context = TransitionContext(
        event_type=EventType.TRIP_ASSIGNED,
        event_id=uuid.uuid4(),
        driver_user=loaded.driver.user,
        initiated_by_driver=False,
    )
    transition_publish(delivery=loaded, context=context, source=HistorySource.ASSIGNMENT)
    return loaded


def trip_assign_order(*, order_id: int) -> Delivery | None:
    """Assign the nearest available driver to the order, if it is still waiting. None if it must wait.

    When the chosen driver got another trip first (the one-open-delivery constraint), the next
    nearest driver is tried instead of giving up.
    """
    tried: list[int] = []
    try:
        with transaction.atomic():
            order = (
                Order.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("branch")
                .filter(pk=order_id, status=OrderStatus.PLACED, source=OrderSource.OWN_FLEET)
                .first()
            )
            if order is None or Delivery.objects.filter(order=order, is_active=True).exists():
                return None
            while len(tried) < MAX_DRIVERS_TRIED:
                driver = (
                    drivers_by_distance(latitude=order.branch.latitude, longitude=order.branch.longitude)
                    .exclude(pk__in=tried)
                    .select_for_update(skip_locked=True, of=("self",))
                    .first()
                )
                if driver is None:
                    return None
                try:
                    with transaction.atomic():
                        return _assign(order=order, driver=driver)
                except IntegrityError as exc:
                    if _constraint_of(exc) != DRIVER_TAKEN_CONSTRAINT:
                        raise
                    logger.info("driver %s got another trip first; trying the next for order %s", driver.pk, order_id)
                    tried.append(driver.pk)
            return None
    except IntegrityError:
        # A concurrent assignment won the race for this order; it is assigned.
        logger.info("assignment of order %s lost a race; it will be retried", order_id)
        return None


def _constraint_of(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def trip_assign_waiting_orders(*, limit: int = 100) -> int:
    """Assign waiting orders, oldest first, while drivers are available. Returns how many were assigned."""
    waiting = list(
        Order.objects.filter(status=OrderStatus.PLACED, source=OrderSource.OWN_FLEET)
        .order_by("created_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    assigned = 0
    for order_id in waiting:
        if trip_assign_order(order_id=order_id) is not None:
            assigned += 1
        elif not assignable_drivers().exists():
            break
    return assigned


def trip_handle_accident(*, delivery: Delivery) -> Delivery | None:
    """The driver had an accident: give the order to another driver, or fail it when none is available.

    Runs in the caller's transaction with `delivery` locked. Returns the new delivery, if any.
    """
    order = Order.objects.select_for_update(of=("self",)).select_related("branch").get(pk=delivery.order_id)
    old_driver_id = delivery.driver_id
    replacement = (
        drivers_by_distance(latitude=order.branch.latitude, longitude=order.branch.longitude)
        .exclude(pk=old_driver_id)
        .select_for_update(skip_locked=True, of=("self",))
        .first()
    )
    if replacement is not None:
        Delivery.objects.filter(pk=delivery.pk).update(is_active=False, version=F("version") + 1)
        # The order keeps what the retired delivery counted, so its dashboard version never goes back.
        Order.objects.filter(pk=order.pk).update(version=F("version") + delivery.version + 1)
        Driver.objects.filter(pk=old_driver_id, current_delivery=delivery).update(current_delivery=None)
        current_trip_clear(driver_id=old_driver_id, delivery_id=delivery.pk)
        return _assign(order=order, driver=replacement)
    now = timezone.now()
    delivery.status = DeliveryStatus.FAILED
    delivery.finished_at = now
    delivery.version += 1
    delivery.save(update_fields=["status", "finished_at", "version"])
    DeliveryFailure.objects.create(delivery=delivery, reason="driver accident; no driver available")
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.FAILED, updated_at=now)
    loaded = delivery_with_related().select_related("driver__user").get(pk=delivery.pk)
    context = TransitionContext(
        event_type=EventType.DELIVERY_FAILED,
        event_id=uuid.uuid4(),
        driver_user=loaded.driver.user,
        driver_status=None,  # the driver's status is ACCIDENT, already recorded
    )
    transition_publish(
        delivery=loaded,
        context=context,
        source=HistorySource.ACCIDENT,
        failure_reason="driver accident; no driver available",
    )
    return None
