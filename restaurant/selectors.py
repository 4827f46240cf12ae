"""Reads of preparations for the restaurant dashboard, authorised per branch.

What a card shows is derived here, in one place (`preparation_state`): the kitchen status
the preparation row records is moved forward by what the driver or the aggregator's
courier reports (a scanned order, or a courier on the way, has been handed over), the
card's one action follows from it, and so does whether the order is still on the list.
"""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from delivery.errors import Forbidden, NotFound
from delivery.models import (
    Branch,
    CourierStatus,
    Delivery,
    DeliveryStatus,
    Order,
    OrderStatus,
    Preparation,
    PreparationStatus,
)

# Orders in these states have left the kitchen's concern.
FINISHED_ORDER_STATUSES = (OrderStatus.DELIVERED, OrderStatus.FAILED, OrderStatus.REJECTED)

# A delivery or courier in one of these has the food: the kitchen handed it over, whatever it recorded.
DELIVERY_STATUSES_PAST_KITCHEN = (
    DeliveryStatus.OUT_FOR_DELIVERY,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.FAILED,
)
COURIER_STATUSES_PAST_KITCHEN = (CourierStatus.IN_TRANSIT, CourierStatus.AT_DESTINATION, CourierStatus.DELIVERED)

# The one order a preparation moves in; each step goes to the next status only.
PREPARATION_FLOW: tuple[str, ...] = (
    PreparationStatus.RECEIVED,
    PreparationStatus.COLLECTING,
    PreparationStatus.READY,
    PreparationStatus.HANDED_OVER,
)


@dataclass(frozen=True)
class PreparationState:
    """What the dashboard shows of a preparation: its kitchen status, its one action, whether it is listed."""

    status: str
    next_status: str | None
    active: bool


def preparation_state(*, preparation: Preparation, order: Order, delivery: Delivery | None) -> PreparationState:
    """The card's state from the preparation, its order (courier) and the order's active delivery."""
    status = preparation.status
    picked_up = (delivery is not None and delivery.status in DELIVERY_STATUSES_PAST_KITCHEN) or (
        order.courier_status in COURIER_STATUSES_PAST_KITCHEN
    )
    if picked_up:
        status = PreparationStatus.HANDED_OVER
    active = status != PreparationStatus.HANDED_OVER and order.status not in FINISHED_ORDER_STATUSES
    next_status = PREPARATION_FLOW[PREPARATION_FLOW.index(status) + 1] if active else None
    return PreparationState(status=status, next_status=next_status, active=active)


def preparation_version(*, preparation: Preparation, order: Order, delivery: Delivery | None) -> int:
    """Grows with every change of the preparation, its order (courier, bundle) or its active delivery.

    Each row counts its own changes under its row lock; a retired delivery's count moves into
    the order's (`trip_handle_accident`), so the sum never goes back.
    """
    return preparation.version + order.version + (delivery.version if delivery is not None else 0)


def orders_in_kitchen() -> Q:
    """Orders not yet delivered or handed over (on `Order`): the members a bundle still lists."""
    left_kitchen = Delivery.objects.filter(
        order_id=OuterRef("pk"), is_active=True, status__in=DELIVERY_STATUSES_PAST_KITCHEN
    )
    return (
        ~Q(status__in=FINISHED_ORDER_STATUSES)
        & ~Q(courier_status__in=COURIER_STATUSES_PAST_KITCHEN)
        & ~Q(preparation__status=PreparationStatus.HANDED_OVER)
        & ~Q(Exists(left_kitchen))
    )


# Primary keys are bigint: anything outside cannot exist (and would make PostgreSQL raise).
MAX_ID = 2**63 - 1


def is_valid_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def user_is_branch_staff(*, user: AbstractBaseUser | AnonymousUser | None, branch_id: int) -> bool:
    """Whether `user` is an active team member of the branch (one query)."""
    if user is None or not user.is_authenticated or not user.is_active or not is_valid_id(branch_id):
        return False
    return Branch.staff.through.objects.filter(branch_id=branch_id, user_id=user.pk).exists()


def branches_for_staff(*, user: AbstractBaseUser | AnonymousUser) -> list[Branch]:
    """The branches `user` works at, in id order."""
    if not user.is_authenticated or not user.is_active:
        return []
    return list(Branch.objects.filter(staff__pk=user.pk).order_by("id").only("id", "name"))


def branch_get_for_staff(*, user: AbstractBaseUser | AnonymousUser, branch_id: int) -> Branch:
    """The branch, if `user` is its staff; Forbidden otherwise (unknown branches included)."""
    if not user_is_branch_staff(user=user, branch_id=branch_id):
        raise Forbidden("Only staff of this branch can do this.")
    return Branch.objects.get(pk=branch_id)


def preparations_for_payload() -> QuerySet[Preparation]:
    """Preparations with everything their dashboard payload reads, in four queries for any number."""
    return Preparation.objects.select_related("order", "order__bundle").prefetch_related(
        "order__items",
        Prefetch(
            "order__deliveries",
            queryset=Delivery.objects.filter(is_active=True).select_related("driver"),
            to_attr="active_deliveries",
        ),
        Prefetch(
            "order__bundle__orders",
            queryset=Order.objects.filter(orders_in_kitchen())
            .only("id", "albaik_identifier", "bundle_id")
            .order_by("albaik_identifier"),
            to_attr="bundle_orders",
        ),
    )


def is_loaded_for_payload(preparation: Preparation) -> bool:
    return "order" in preparation._state.fields_cache and hasattr(preparation.order, "active_deliveries")


def preparation_get_for_payload(*, preparation_id: int) -> Preparation:
    preparation = preparations_for_payload().filter(pk=preparation_id).first() if is_valid_id(preparation_id) else None
    if preparation is None:
        raise NotFound("No such preparation.")
    return preparation


def preparation_list_active(*, user: AbstractBaseUser | AnonymousUser, branch_id: int) -> list[Preparation]:
    """The branch's preparations still in the kitchen's hands, oldest first; staff of the branch only."""
    if not user_is_branch_staff(user=user, branch_id=branch_id):
        raise Forbidden("Only staff of this branch can see its preparations.")
    # The same rule as `preparation_state(...).active`, as SQL.
    picked_up = Delivery.objects.filter(
        order_id=OuterRef("order_id"), is_active=True, status__in=DELIVERY_STATUSES_PAST_KITCHEN
    )
    return list(
        preparations_for_payload()
        .filter(branch_id=branch_id)
        .exclude(status=PreparationStatus.HANDED_OVER)
        .exclude(order__status__in=FINISHED_ORDER_STATUSES)
        .exclude(order__courier_status__in=COURIER_STATUSES_PAST_KITCHEN)
        .exclude(Exists(picked_up))
        .order_by("created_at", "id")
    )
