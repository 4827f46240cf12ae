"""Aggregator order transitions: courier and kitchen statuses reported by webhooks.

Webhooks arrive late, twice and out of order. Each carries an `event_time`; a change is
applied only when it is newer than the state it would change; at an equal `event_time` the
status further along wins (a repeat changes nothing), so whatever order they arrive in, the
newest state wins.
"""

import logging
from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils import timezone

from aggregators.selectors import aggregator_order_get, status_event_data
from aggregators.transitions import StatusChange, status_rank
from delivery.locks import advisory_xact_lock
from delivery.models import Order
from events.envelope import order_key
from events.publishing import publish
from side_effects.aggregator import OrderSideEffectFactory, UpdateContext
from side_effects.base import execute_all

logger = logging.getLogger(__name__)

SAVED_FIELDS = (
    "status",
    "courier_id",
    "courier_name",
    "courier_phone",
    "courier_status",
    "courier_status_at",
    "kitchen_status",
    "kitchen_status_at",
    "bundle",
    "version",
    "updated_at",
)


class OrderService:
    """Moves aggregator orders to a new status: side effects from the factory, then one save, in one transaction."""

    def __init__(self, side_effect_factory: OrderSideEffectFactory | None = None) -> None:
        self.side_effect_factory = side_effect_factory or OrderSideEffectFactory()

    def update(self, orders: Iterable[Order], to_status: StatusChange) -> list[Order]:
        """Apply `to_status` to each order it is news for; returns the orders that changed.

        Older or repeated events change nothing. For each changed order the factory's side
        effects run, the order is saved and its event is published, all in one transaction.
        """
        orders = list(orders)
        order_ids = sorted({order.pk for order in orders})
        with transaction.atomic():
            if to_status.courier is not None:
                for aggregator in sorted({order.aggregator for order in orders}):
                    # Serialise one aggregator's courier assignments: bundle detection reads other orders.
                    advisory_xact_lock(f"aggregator-assignments:{aggregator}")
            locked = list(
                Order.objects.select_for_update(of=("self",))
                .select_related("branch")
                .filter(pk__in=order_ids)
                .order_by("pk")
            )
            changed = [order for order in locked if self._apply(order, to_status)]
            if not changed:
                return []
            executed = execute_all(self.side_effect_factory.create(changed, to_status))
            self._batch_update(changed)
            handled = _handled_by_order(executed)
            for order in changed:
                publish(
                    event_type=to_status.event_type,
                    key=order_key(order.pk),
                    data=status_event_data(order, to_status),
                    handled_synchronously=sorted(handled.get(order.pk, ())),
                )
        return changed

    def _apply(self, order: Order, change: StatusChange) -> bool:
        """Change `order` in memory if the event is news for it; True when something changed."""
        at_field = f"{change.attribute}_at"
        current_at = getattr(order, at_field)
        newer = (
            current_at is None
            or change.event_time > current_at
            or (
                change.event_time == current_at
                and status_rank(change.attribute, change.status)
                > status_rank(change.attribute, getattr(order, change.attribute))
            )
        )
        if newer:
            setattr(order, change.attribute, change.status)
            setattr(order, at_field, change.event_time)
        # A late assignment still tells who the courier is when nothing newer did.
        identifies = change.courier is not None and (newer or not order.courier_id)
        if identifies and change.courier is not None:
            order.courier_id = change.courier.id
            order.courier_name = change.courier.name
            order.courier_phone = change.courier.phone
        return newer or identifies

    def _batch_update(self, orders: list[Order]) -> None:
        now = timezone.now()
        for order in orders:
            order.updated_at = now
            order.version += 1  # the row is locked: counting in memory is safe
        Order.objects.bulk_update(orders, fields=list(SAVED_FIELDS))


def _handled_by_order(executed: Sequence[object]) -> dict[int, set[str]]:
    handled: dict[int, set[str]] = {}
    for side_effect in executed:
        context = getattr(side_effect, "context", None)
        if isinstance(context, UpdateContext):
            handled.setdefault(context.order.pk, set()).update(context.handled_synchronously)
    return handled


def aggregator_order_update(*, aggregator: str, aggregator_id: str, change: StatusChange) -> Order:
    """Apply one webhook to the order the aggregator calls `aggregator_id`; NotFound when unknown.

    Returns the order as it is afterwards (unchanged for late or repeated events).
    """
    order = aggregator_order_get(aggregator=aggregator, aggregator_id=aggregator_id)
    changed = OrderService().update([order], change)
    if not changed:
        logger.info("%s order %s: %s=%s is old news", aggregator, aggregator_id, change.attribute, change.status)
    return aggregator_order_get(aggregator=aggregator, aggregator_id=aggregator_id)
