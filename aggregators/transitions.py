"""What an aggregator webhook says happened: a courier or kitchen status, as of an `event_time`."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from delivery.models import CourierStatus
from events.types import EventType

RAPPI = "rappi"

StatusProperty = Literal["courier_status", "kitchen_status"]
COURIER_STATUS: StatusProperty = "courier_status"
KITCHEN_STATUS: StatusProperty = "kitchen_status"

# The happy path of a courier; out-of-order events are settled by `event_time`, not by this order.
COURIER_FLOW: tuple[str, ...] = (
    CourierStatus.ASSIGNED,
    CourierStatus.AT_HUB,
    CourierStatus.IN_TRANSIT,
    CourierStatus.AT_DESTINATION,
    CourierStatus.DELIVERED,
)


# The aggregator's usual kitchen statuses, in order; any other slug is accepted and ranks below them.
KITCHEN_FLOW: tuple[str, ...] = ("received", "confirmed", "preparing", "ready_for_pickup", "picked_up")

FLOWS: dict[StatusProperty, tuple[str, ...]] = {COURIER_STATUS: COURIER_FLOW, KITCHEN_STATUS: KITCHEN_FLOW}


def status_rank(attribute: StatusProperty, status: str | None) -> tuple[int, str]:
    """How far along `status` is; breaks ties between events with the same `event_time`.

    A total order (unknown slugs by name), so the winner never depends on which event arrived first.
    """
    flow = FLOWS[attribute]
    if status is None:
        return (-2, "")
    return (flow.index(status) if status in flow else -1, status)


@dataclass(frozen=True)
class Courier:
    id: str
    name: str
    phone: str


@dataclass(frozen=True)
class StatusChange:
    """One aggregator event: which status attribute of the order moves where, and when it happened there."""

    attribute: StatusProperty
    status: str
    event_time: datetime
    courier: Courier | None = None

    def is_courier(self, status: str) -> bool:
        return self.attribute == COURIER_STATUS and self.status == status

    @property
    def event_type(self) -> str:
        """The event published when this change is applied (contract §5)."""
        if self.attribute == KITCHEN_STATUS:
            return EventType.KITCHEN_STATUS_CHANGED
        if self.status == CourierStatus.ASSIGNED:
            return EventType.COURIER_ASSIGNED
        return EventType.COURIER_STATUS_CHANGED
