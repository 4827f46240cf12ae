"""Use cases of a driver: what one driver action does across deliveries, trips and the driver's status."""

from django.db import transaction

from delivery.errors import InvalidTransition
from delivery.models import DeliveryStatus, Driver, DriverStatus
from delivery.services.deliveries import delivery_mark_arrived
from delivery.services.drivers import driver_open_delivery_lock, driver_status_publish, driver_status_record
from delivery.services.trips import trip_handle_accident

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


@transaction.atomic
def driver_report_status(*, driver: Driver, status: str) -> str:
    """updateDriverStatus: validate the driver's new status against their trip and apply it.

    Arrival moves the delivery, an accident hands the trip to another driver; any other status
    is published with its side effects (`driver_status_publish`).
    """
    locked = Driver.objects.select_for_update().select_related("user").get(pk=driver.pk)
    if status == DriverStatus.WAITING_AT_RESTAURANT:
        delivery_mark_arrived(driver=locked)
        return status
    if locked.status == status:
        return status
    open_delivery = driver_open_delivery_lock(driver=locked)
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
