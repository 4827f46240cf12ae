"""Side effects of aggregator order transitions (courier and kitchen statuses).

`OrderSideEffectFactory.create(orders, transiting_to)` yields, per order, the side
effects its rules select, or `NoSideEffect` when none applies (`side_effects.base`, the
framework delivery transitions use too). A new rule is a new class plus one line in `RULES`;
`OrderService.update` never changes for it.
"""

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from aggregators.bundles import bundle_mates_touch, order_bundle_assign
from aggregators.transitions import StatusChange
from delivery.models import CourierStatus, Order, OrderStatus
from delivery.services.waseat import order_close_in_waseat
from restaurant.broadcasts import broadcast_preparation
from restaurant.payloads import preparation_payload
from restaurant.selectors import COURIER_STATUSES_PAST_KITCHEN, preparations_for_payload
from side_effects.base import RuleSideEffectFactory, SideEffect
from side_effects.deliveries import DashboardBroadcast, WaseatClose
from side_effects.models import EffectKind, EffectPath, EffectRecord

logger = logging.getLogger(__name__)


@dataclass
class UpdateContext:
    """The update in progress: the order (changed in memory, saved after the side effects) and where it goes."""

    order: Order
    transiting_to: StatusChange
    # Work the request did itself, written into the event so consumers do not repeat it.
    handled_synchronously: set[str] = field(default_factory=set)


class OrderSideEffect(SideEffect[UpdateContext]):
    pass


class CourierAssignedSideEffect(OrderSideEffect):
    """A courier already holding other undelivered orders makes a bundle: tell the kitchen to cook them together."""

    name = "courier_assigned"

    def execute(self) -> None:
        changed = order_bundle_assign(order=self.context.order)
        if not changed:
            return
        preparations_broadcast_on_commit(order_ids=changed, reason="bundle")
        if self.context.order.pk in changed:
            self.context.handled_synchronously.add(DashboardBroadcast.name)


class CourierAtHubSideEffect(OrderSideEffect):
    """The courier arrived at the kitchen: show it on the dashboard now."""

    name = "courier_at_hub"

    def execute(self) -> None:
        preparations_broadcast_on_commit(order_ids=[self.context.order.pk], reason="courier_at_hub")
        self.context.handled_synchronously.add(DashboardBroadcast.name)


class CourierDeliveredSideEffect(OrderSideEffect):
    """The courier delivered: the order is done and is closed in WASEAT like an own-fleet delivery."""

    name = "courier_delivered"

    def execute(self) -> None:
        order = self.context.order
        order.status = OrderStatus.DELIVERED
        order_id = order.pk
        transaction.on_commit(lambda: _order_close_in_waseat(order_id=order_id), robust=True)
        self.context.handled_synchronously.add(WaseatClose.name)


class CourierTookOrderSideEffect(OrderSideEffect):
    """The courier has the food: the card leaves the kitchen's list now, and the rest of its bundle is told."""

    name = "courier_took_order"

    def execute(self) -> None:
        order = self.context.order
        preparations_broadcast_on_commit(
            order_ids=[order.pk, *bundle_mates_touch(order=order)], reason="courier_took_order"
        )
        self.context.handled_synchronously.add(DashboardBroadcast.name)


Rule = Callable[[UpdateContext], bool]


def courier(status: str) -> Rule:
    return lambda context: context.transiting_to.is_courier(status)


def courier_took_order(context: UpdateContext) -> bool:
    change = context.transiting_to
    return change.attribute == "courier_status" and change.status in COURIER_STATUSES_PAST_KITCHEN


# (when, what): one line per rule.
RULES: tuple[tuple[Rule, type[OrderSideEffect]], ...] = (
    (courier(CourierStatus.ASSIGNED), CourierAssignedSideEffect),
    (courier(CourierStatus.AT_HUB), CourierAtHubSideEffect),
    (courier(CourierStatus.DELIVERED), CourierDeliveredSideEffect),
    (courier_took_order, CourierTookOrderSideEffect),
)


class OrderSideEffectFactory(RuleSideEffectFactory[UpdateContext]):
    rules = RULES

    def create(self, orders: Iterable[Order], transiting_to: StatusChange) -> Iterator[SideEffect[UpdateContext]]:
        """Yield the side effects of moving each order to `transiting_to` (`NoSideEffect` when none applies)."""
        for order in orders:
            yield from self.side_effects(UpdateContext(order=order, transiting_to=transiting_to))


def preparations_broadcast_on_commit(*, order_ids: list[int], reason: str) -> None:
    """After commit, send the orders' preparations as they are then to their dashboards, and record it."""
    transaction.on_commit(lambda: preparations_broadcast(order_ids=order_ids, reason=reason), robust=True)


def preparations_broadcast(*, order_ids: list[int], reason: str) -> None:
    for preparation in preparations_for_payload().filter(order_id__in=order_ids).order_by("id"):
        albaik_identifier = preparation.order.albaik_identifier
        detail: dict[str, Any] = {"reason": reason}
        try:
            broadcast_preparation(branch_id=preparation.branch_id, preparation=preparation_payload(preparation))
        except Exception as exc:  # the dashboard refreshes on reconnect; a lost broadcast is logged, not fatal
            logger.exception("dashboard broadcast failed for %s", albaik_identifier)
            outcome, detail["error"] = "failed", str(exc)
        else:
            outcome = "ok"
        EffectRecord.objects.create(
            albaik_identifier=albaik_identifier,
            kind=EffectKind.BROADCAST,
            path=EffectPath.REQUEST,
            outcome=outcome,
            detail=detail,
            at=timezone.now(),
        )


def _order_close_in_waseat(*, order_id: int) -> None:
    try:
        order_close_in_waseat(order_id=order_id, path=EffectPath.REQUEST)
    except Exception:  # recorded as failed by the close itself; the answered webhook must not fail
        logger.exception("WASEAT close failed after commit for order %s", order_id)
