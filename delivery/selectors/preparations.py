"""Reads of preparations for the restaurant dashboard, authorised per branch."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Exists, OuterRef, Prefetch, QuerySet

from delivery.errors import Forbidden, NotFound
from delivery.models import (
    FINISHED_DELIVERY_STATUSES,
    Branch,
    CourierStatus,
    Delivery,
    Order,
    OrderStatus,
    Preparation,
    PreparationStatus,
)

# Orders in these states have left the kitchen's concern.
FINISHED_ORDER_STATUSES = (OrderStatus.DELIVERED, OrderStatus.FAILED, OrderStatus.REJECTED)

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
            queryset=Order.objects.only("id", "albaik_identifier", "bundle_id").order_by("albaik_identifier"),
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
    finished_delivery = Delivery.objects.filter(
        order_id=OuterRef("order_id"), is_active=True, status__in=FINISHED_DELIVERY_STATUSES
    )
    return list(
        preparations_for_payload()
        .filter(branch_id=branch_id)
        .exclude(status=PreparationStatus.HANDED_OVER)
        .exclude(order__status__in=FINISHED_ORDER_STATUSES)
        .exclude(order__courier_status=CourierStatus.DELIVERED)
        .exclude(Exists(finished_delivery))
        .order_by("created_at", "id")
    )
