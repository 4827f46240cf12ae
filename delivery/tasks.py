"""Celery tasks: just another interface over services."""

from celery import shared_task


@shared_task(acks_late=True)
def trip_assign_order_task(*, order_id: int) -> int | None:
    """Assign the nearest available driver to a waiting order."""
    from delivery.services.trips import trip_assign_order

    delivery = trip_assign_order(order_id=order_id)
    return delivery.pk if delivery else None


@shared_task(acks_late=True)
def trip_assign_waiting_orders_task() -> int:
    """Give waiting orders to drivers who became available."""
    from delivery.services.trips import trip_assign_waiting_orders

    return trip_assign_waiting_orders()
