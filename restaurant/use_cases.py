"""The kitchen's side of an order: moving a preparation through its statuses."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from aggregators.bundles import bundle_mates_touch
from delivery.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from delivery.models import Delivery, Order, Preparation, PreparationStatus
from delivery.services.deliveries import delivery_mark_collecting
from restaurant.selectors import PREPARATION_FLOW, is_valid_id, preparation_state, user_is_branch_staff
from side_effects.aggregator import preparations_broadcast_on_commit
from side_effects.kitchen import PreparationShown

TIMESTAMP_FIELDS: dict[str, str] = {
    PreparationStatus.COLLECTING: "collecting_at",
    PreparationStatus.READY: "ready_at",
    PreparationStatus.HANDED_OVER: "handed_over_at",
}


def check_preparation_move(current: str, target: str) -> None:
    """Raise InvalidTransition unless `target` is `current` (a repeat) or the next status after it."""
    if current == target:
        return
    if PREPARATION_FLOW.index(target) != PREPARATION_FLOW.index(current) + 1:
        raise InvalidTransition(
            f"Cannot move a preparation from {current} to {target}.",
            fields={"status": [f"Not allowed from {current}."]},
        )


def preparation_set_status(*, preparation_id: int, status: str, user: AbstractBaseUser | AnonymousUser) -> Preparation:
    """Move a preparation one step (received → collecting → ready → handed_over); staff of its branch only.

    Moves start from the status the dashboard shows (`preparation_state`): an order the
    driver scanned or the courier took is handed over, so only repeating that is allowed.
    Repeating the current status changes nothing. Starting to collect also marks the
    order's active delivery as collecting (the driver's trip becomes READY_TO_COLLECT).
    Open dashboards of the branch get the new state once the transaction commits, and so
    do the other orders of its bundle when it leaves the kitchen.
    """
    if status not in PREPARATION_FLOW:
        raise ValidationFailed(
            "Unknown preparation status.",
            fields={"status": [f"Must be one of: {', '.join(PREPARATION_FLOW)}."]},
        )
    if not is_valid_id(preparation_id):
        raise NotFound("No such preparation.")
    with transaction.atomic():
        preparation = Preparation.objects.select_for_update().filter(pk=preparation_id).first()
        if preparation is None:
            raise NotFound("No such preparation.")
        if not user_is_branch_staff(user=user, branch_id=preparation.branch_id):
            raise Forbidden("Only staff of this preparation's branch can change it.")
        # Preparation, then delivery, then order: the order drivers' changes lock them in, so no deadlock.
        # Holding all three makes the payload each writer reads include every change committed before it.
        delivery = Delivery.objects.select_for_update().filter(order_id=preparation.order_id, is_active=True).first()
        order = Order.objects.select_for_update().get(pk=preparation.order_id)
        shown = preparation_state(preparation=preparation, order=order, delivery=delivery).status
        check_preparation_move(shown, status)
        if shown == status:
            return preparation

        preparation.status = status
        setattr(preparation, TIMESTAMP_FIELDS[status], timezone.now())
        preparation.version += 1
        preparation.save(update_fields=["status", TIMESTAMP_FIELDS[status], "version", "updated_at"])

        if status == PreparationStatus.COLLECTING:
            delivery_mark_collecting(order_id=preparation.order_id)
        if status == PreparationStatus.HANDED_OVER and order.bundle_id is not None:
            mates = bundle_mates_touch(order=order)
            if mates:
                preparations_broadcast_on_commit(order_ids=mates, reason="bundle_member_left")

        PreparationShown(preparation).execute()
    return preparation
