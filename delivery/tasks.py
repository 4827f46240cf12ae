"""Celery tasks: just another interface over services, enqueued when the services' signals say so."""

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.dispatch import receiver

from delivery.services.trips import trip_assign_order, trip_assign_waiting_orders
from delivery.services.waseat import waseat_close_pending_sweep
from delivery.signals import driver_assignable, order_waiting


@shared_task(acks_late=True)
def trip_assign_order_task(*, order_id: int) -> int | None:
    """Assign the nearest available driver to a waiting order."""
    delivery = trip_assign_order(order_id=order_id)
    return delivery.pk if delivery else None


@shared_task(acks_late=True)
def trip_assign_waiting_orders_task() -> int:
    """Give waiting orders to drivers who became available."""
    return trip_assign_waiting_orders()


@shared_task
def waseat_close_pending_sweep_task() -> int:
    """Hand over the WASEAT closes whose request died between its commit and the close."""
    return waseat_close_pending_sweep(older_than=timedelta(seconds=settings.WASEAT_CLOSE_PENDING_SECONDS))


@receiver(order_waiting, dispatch_uid="trip_assign_order_task")
def enqueue_trip_assign_order(sender: Any, *, order_id: int, **kwargs: Any) -> None:
    trip_assign_order_task.delay(order_id=order_id)


@receiver(driver_assignable, dispatch_uid="trip_assign_waiting_orders_task")
def enqueue_trip_assign_waiting_orders(sender: Any, **kwargs: Any) -> None:
    trip_assign_waiting_orders_task.delay()
