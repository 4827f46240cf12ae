"""Changes of a delivery's status: by the driver (arrival, scan, delivered, failed) and the restaurant.

Each change locks the one delivery row, validates the move with the state machine,
writes only the fields it owns, publishes its event to the outbox in the same
transaction, and hands the rest of the work to the side-effect strategies.
"""

import uuid
from enum import StrEnum

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from delivery.errors import InvalidTransition, NotFound
from delivery.models import (
    Delivery,
    DeliveryFailure,
    DeliveryStatus,
    DeliveryStatusChange,
    Driver,
    DriverStatus,
    Order,
    OrderStatus,
)
from delivery.selectors.driver_moves import delivery_locked
from delivery.selectors.snapshots import delivery_snapshot, delivery_with_related
from delivery.transitions import PICKUP_STATUSES, accepts_pickup_facts, check_driver_move, pickup_status
from events.envelope import driver_key
from events.types import EventType
from side_effects.policy import TransitionContext
from side_effects.transitions import publish_transition


class HistorySource(StrEnum):
    """Who made a delivery's status change (`DeliveryStatusChange.source`)."""

    ASSIGNMENT = "assignment"
    DRIVER_API = "driver_api"
    RESTAURANT = "restaurant"
    ACCIDENT = "accident"


# The driver's normal-data status after each of their delivery moves.
DRIVER_STATUS_AFTER: dict[str, str] = {
    DeliveryStatus.WAITING_AT_RESTAURANT: DriverStatus.WAITING_AT_RESTAURANT,
    DeliveryStatus.OUT_FOR_DELIVERY: DriverStatus.DRIVING_TO_CUSTOMER,
    DeliveryStatus.DELIVERED: DriverStatus.AVAILABLE,
    DeliveryStatus.FAILED: DriverStatus.RETURNING_ORDER_TO_RESTAURANT,
}

EVENT_FOR_STATUS: dict[str, EventType] = {
    DeliveryStatus.OUT_FOR_DELIVERY: EventType.DELIVERY_OUT_FOR_DELIVERY,
    DeliveryStatus.DELIVERED: EventType.DELIVERY_DELIVERED,
    DeliveryStatus.FAILED: EventType.DELIVERY_FAILED,
}


def transition_publish(
    *, delivery: Delivery, context: TransitionContext, source: str, failure_reason: str | None = None
) -> None:
    """Write the action's delivery history row, snapshot the delivery into the event data and publish
    the transition with its side effects. The one place delivery history is written: once per action."""
    DeliveryStatusChange.objects.create(delivery=delivery, status=delivery.status, source=source)
    context.snapshot = delivery_snapshot(delivery)
    if context.driver_status is not None:
        # The driver's normal-data status this change implies, for whichever path writes it.
        context.snapshot["driver_status"] = context.driver_status
    if failure_reason is not None:
        context.snapshot["failure_reason"] = failure_reason
    publish_transition(context, key=driver_key(delivery.driver_id))


def _only_row(deliveries: QuerySet[Delivery]) -> Delivery | None:
    """The one delivery a filter that a unique constraint bounds finds, or None. Not `first()`: that adds an
    ORDER BY, which costs compiling on every driver move and a sort, to a read of at most one row."""
    return next(iter(deliveries.order_by()[:1]), None)


def _lock_drivers_delivery(*, driver: Driver, albaik_identifier: str) -> Delivery:
    # At most one: an order has one active delivery (`one_active_delivery_per_order`).
    delivery = delivery_locked(
        where="d.driver_id = %s AND d.is_active = %s AND o.albaik_identifier = %s",
        params=[driver.pk, True, albaik_identifier],
    )
    if delivery is None:
        # Another driver's order, or no such order: the same answer, so existence is not leaked.
        raise NotFound("No such order among your trips.", fields={"albaikIdentifier": ["Not found."]})
    return delivery


@transaction.atomic
def delivery_update_by_driver(
    *, driver: Driver, albaik_identifier: str, status: str, reason: str | None = None
) -> Delivery:
    """updateOrder: the driver scans the order (OUT_FOR_DELIVERY), delivers it, or fails it."""
    delivery = _lock_drivers_delivery(driver=driver, albaik_identifier=albaik_identifier)
    check_driver_move(delivery.status, status)
    if delivery.status == status:
        return delivery
    now = timezone.now()
    delivery.status = status
    delivery.version += 1
    update_fields = ["status", "version"]
    if status == DeliveryStatus.OUT_FOR_DELIVERY:
        delivery.out_for_delivery_at = now
        update_fields.append("out_for_delivery_at")
    else:
        delivery.finished_at = now
        update_fields.append("finished_at")
        order_status = OrderStatus.DELIVERED if status == DeliveryStatus.DELIVERED else OrderStatus.FAILED
        Order.objects.filter(pk=delivery.order_id).update(status=order_status, updated_at=now)
    delivery.save(update_fields=update_fields)
    if status == DeliveryStatus.FAILED:
        DeliveryFailure.objects.create(delivery=delivery, reason=reason or "")
    context = TransitionContext(
        event_type=EVENT_FOR_STATUS[status],
        event_id=uuid.uuid4(),
        driver_user=driver.user,
        driver_status=DRIVER_STATUS_AFTER[status],
    )
    transition_publish(
        delivery=delivery,
        context=context,
        source=HistorySource.DRIVER_API,
        failure_reason=reason if status == DeliveryStatus.FAILED else None,
    )
    return delivery


@transaction.atomic
def delivery_mark_arrived(*, driver: Driver) -> Delivery:
    """The driver reports arrival at the restaurant (updateDriverStatus(WAITING_AT_RESTAURANT))."""
    # At most one: a driver has one open delivery (`one_open_delivery_per_driver`).
    delivery = delivery_locked(
        where=f"d.driver_id = %s AND d.is_active = %s AND d.status IN ({', '.join(['%s'] * len(PICKUP_STATUSES))})",
        params=[driver.pk, True, *(status.value for status in PICKUP_STATUSES)],
    )
    if delivery is None:
        raise InvalidTransition("You have no trip waiting for pick-up.", fields={"status": ["No trip to arrive for."]})
    if delivery.arrived_at is not None:
        return delivery
    delivery.arrived_at = timezone.now()
    delivery.status = pickup_status(arrived_at=delivery.arrived_at, collecting_at=delivery.collecting_at)
    delivery.version += 1
    delivery.save(update_fields=["arrived_at", "status", "version"])
    context = TransitionContext(
        event_type=EventType.DELIVERY_DRIVER_ARRIVED,
        event_id=uuid.uuid4(),
        driver_user=driver.user,
        driver_status=DriverStatus.WAITING_AT_RESTAURANT,
    )
    transition_publish(delivery=delivery, context=context, source=HistorySource.DRIVER_API)
    return delivery


def delivery_mark_collecting(*, order_id: int) -> Delivery | None:
    """The restaurant started collecting the order: set collectingAt, move the trip to READY_TO_COLLECT.

    Runs inside the caller's transaction (the preparation change). None when the order has no active delivery.
    """
    # At most one: an order has one active delivery (`one_active_delivery_per_order`).
    delivery = _only_row(
        delivery_with_related()
        .select_for_update(of=("self",))
        .filter(order_id=order_id, is_active=True)
        .select_related("driver__user")
    )
    if delivery is None or delivery.collecting_at is not None or not accepts_pickup_facts(delivery.status):
        return delivery
    delivery.collecting_at = timezone.now()
    delivery.status = pickup_status(arrived_at=delivery.arrived_at, collecting_at=delivery.collecting_at)
    delivery.version += 1
    delivery.save(update_fields=["collecting_at", "status", "version"])
    context = TransitionContext(
        event_type=EventType.DELIVERY_READY_TO_COLLECT,
        event_id=uuid.uuid4(),
        driver_user=delivery.driver.user,
        initiated_by_driver=False,
    )
    transition_publish(delivery=delivery, context=context, source=HistorySource.RESTAURANT)
    return delivery
