"""The one state machine for a delivery's status.

ASSIGNED → (driver arrives) WAITING_AT_RESTAURANT → (restaurant collecting)
READY_TO_COLLECT → OUT_FOR_DELIVERY → DELIVERED | FAILED.

Arrival and collecting are facts that may come in either order; both stick, and the
status before pick-up is derived from them. Repeating the current status is allowed
(a no-op); moving backwards or skipping is not.
"""

from datetime import datetime

from delivery.errors import InvalidTransition
from delivery.models import DeliveryStatus

PICKUP_STATUSES = frozenset(
    {DeliveryStatus.ASSIGNED, DeliveryStatus.WAITING_AT_RESTAURANT, DeliveryStatus.READY_TO_COLLECT}
)

# Where a driver may move the delivery with updateOrder, from each status.
DRIVER_MOVES: dict[str, frozenset[str]] = {
    DeliveryStatus.ASSIGNED: frozenset(),
    DeliveryStatus.WAITING_AT_RESTAURANT: frozenset({DeliveryStatus.OUT_FOR_DELIVERY}),
    DeliveryStatus.READY_TO_COLLECT: frozenset({DeliveryStatus.OUT_FOR_DELIVERY}),
    DeliveryStatus.OUT_FOR_DELIVERY: frozenset({DeliveryStatus.DELIVERED, DeliveryStatus.FAILED}),
    DeliveryStatus.DELIVERED: frozenset(),
    DeliveryStatus.FAILED: frozenset(),
}


def pickup_status(*, arrived_at: datetime | None, collecting_at: datetime | None) -> DeliveryStatus:
    """The status before pick-up, from the two facts that may arrive in either order."""
    if collecting_at is not None:
        return DeliveryStatus.READY_TO_COLLECT
    if arrived_at is not None:
        return DeliveryStatus.WAITING_AT_RESTAURANT
    return DeliveryStatus.ASSIGNED


def is_repeat(current: str, target: str) -> bool:
    return current == target


def check_driver_move(current: str, target: str) -> None:
    """Raise InvalidTransition unless the driver may move `current` → `target` (repeats pass)."""
    if is_repeat(current, target):
        return
    if target not in DRIVER_MOVES.get(current, frozenset()):
        raise InvalidTransition(
            f"Cannot move a delivery from {current} to {target}.",
            fields={"status": [f"Not allowed from {current}."]},
        )


def accepts_pickup_facts(current: str) -> bool:
    """Arrival and collecting only change a delivery that has not left the restaurant."""
    return current in PICKUP_STATUSES


# How far along each status is; the two endings share the last rank (a delivery reaches only one).
STATUS_RANK: dict[str, int] = {
    DeliveryStatus.ASSIGNED: 0,
    DeliveryStatus.WAITING_AT_RESTAURANT: 1,
    DeliveryStatus.READY_TO_COLLECT: 2,
    DeliveryStatus.OUT_FOR_DELIVERY: 3,
    DeliveryStatus.DELIVERED: 4,
    DeliveryStatus.FAILED: 4,
}


def status_merge(current: str, incoming: str) -> str:
    """The status after learning `incoming` while holding `current`: the one further along.

    Merging facts of one delivery this way gives the same status whatever their order or repeats.
    """
    return incoming if STATUS_RANK[incoming] > STATUS_RANK[current] else current
