"""Driver status and location."""

import uuid
from datetime import datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from delivery.errors import InvalidTransition, ValidationFailed
from delivery.models import (
    FINISHED_DELIVERY_STATUSES,
    Delivery,
    DeliveryStatus,
    Driver,
    DriverStatus,
    DriverStatusChange,
)
from delivery.services.orders import validate_location

# Statuses a driver may report, by what their open trip (if any) must look like.
NEEDS_NO_OPEN_TRIP = frozenset(
    {DriverStatus.AVAILABLE, DriverStatus.UNAVAILABLE, DriverStatus.RETURNING_ORDER_TO_RESTAURANT}
)
NEEDS_TRIP_IN: dict[str, frozenset[str]] = {
    DriverStatus.DRIVING_TO_RESTAURANT: frozenset(
        {DeliveryStatus.ASSIGNED, DeliveryStatus.WAITING_AT_RESTAURANT, DeliveryStatus.READY_TO_COLLECT}
    ),
    DriverStatus.DRIVING_TO_CUSTOMER: frozenset({DeliveryStatus.OUT_FOR_DELIVERY}),
}


def driver_status_record(
    *,
    driver_id: int,
    status: str,
    at: datetime | None = None,
    event_id: uuid.UUID | None = None,
) -> bool:
    """Apply a driver status fact that happened `at` (its origin's time) and append it to the history.

    Called by the request (old path) and the normal_data consumer (new path), which may lag or
    replay: the current status only moves to a newer fact (older never overwrites newer; at an
    equal time the greater status wins, so any order of the same facts ends the same). The
    history row is written either way, since the fact happened. A driver who becomes available
    gets the waiting orders once this commits. Returns whether the current status changed.
    """
    at = at or timezone.now()
    newer = Q(status_changed_at__lt=at) | Q(status_changed_at=at, status__lt=status)
    applied = Driver.objects.filter(newer, pk=driver_id).update(status=status, status_changed_at=at) > 0
    DriverStatusChange.objects.create(driver_id=driver_id, status=status, created_at=at, event_id=event_id)
    if applied and status == DriverStatus.AVAILABLE:
        from delivery.tasks import trip_assign_waiting_orders_task

        transaction.on_commit(lambda: trip_assign_waiting_orders_task.delay())
    return applied


def _open_delivery(driver: Driver) -> Delivery | None:
    return (
        Delivery.objects.select_for_update()
        .filter(driver=driver, is_active=True)
        .exclude(status__in=FINISHED_DELIVERY_STATUSES)
        .first()
    )


def driver_status_publish(*, driver: Driver, status: str, previous_status: str, delivery_id: int | None) -> None:
    """Publish `driver.status_changed`; the strategies write normal data now or leave it to a consumer."""
    from events.envelope import driver_key
    from side_effects.deliveries import TransitionContext, publish_transition

    context = TransitionContext(
        event_type="driver.status_changed", event_id=uuid.uuid4(), driver_user=driver.user, driver_status=status
    )
    context.snapshot = {
        "driver": {
            "id": driver.pk,
            "user_id": driver.user_id,
            "name": driver.name,
            "status": status,
            "previous_status": previous_status,
        },
        "changed_at": timezone.now().isoformat(),
        "delivery_id": delivery_id,
        "driver_status": status,
    }
    publish_transition(context, key=driver_key(driver.pk))


@transaction.atomic
def driver_report_status(*, driver: Driver, status: str) -> str:
    """updateDriverStatus: validate the driver's new status against their trip and apply it."""
    from delivery.services.deliveries import delivery_mark_arrived
    from delivery.services.trips import trip_handle_accident

    locked = Driver.objects.select_for_update().select_related("user").get(pk=driver.pk)
    if status == DriverStatus.WAITING_AT_RESTAURANT:
        delivery_mark_arrived(driver=locked)
        return status
    if locked.status == status:
        return status
    open_delivery = _open_delivery(locked)
    if status == DriverStatus.ACCIDENT:
        # Reassignment reads the driver's status, so an accident is always written in the request.
        driver_status_record(driver_id=locked.pk, status=status)
        if open_delivery is not None:
            trip_handle_accident(delivery=open_delivery)
        return status
    if status in NEEDS_NO_OPEN_TRIP and open_delivery is not None:
        raise InvalidTransition(
            f"Finish trip {open_delivery.order_id} first.", fields={"status": ["You have an open trip."]}
        )
    allowed = NEEDS_TRIP_IN.get(status)
    if allowed is not None and (open_delivery is None or open_delivery.status not in allowed):
        raise InvalidTransition(f"{status} does not match your trip.", fields={"status": ["Does not match your trip."]})
    driver_status_publish(
        driver=locked,
        status=status,
        previous_status=locked.status,
        delivery_id=open_delivery.pk if open_delivery else None,
    )
    return status


def driver_update_location(*, driver: Driver, latitude: float, longitude: float) -> None:
    """updateDriverProfile: the app's periodic location ping (one UPDATE)."""
    fields = validate_location(latitude=latitude, longitude=longitude)
    if fields:
        raise ValidationFailed("Location out of range.", fields=fields)
    Driver.objects.filter(pk=driver.pk).update(
        latitude=latitude, longitude=longitude, location_updated_at=timezone.now()
    )
    if driver.status == DriverStatus.AVAILABLE and driver.latitude is None:
        # An available driver without a location could not be assigned until now.
        from delivery.tasks import trip_assign_waiting_orders_task

        transaction.on_commit(lambda: trip_assign_waiting_orders_task.delay())
