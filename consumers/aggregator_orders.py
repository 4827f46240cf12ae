"""aggregator_orders: the adapter. Takes or rejects each new aggregator order (`aggregator.order_received`)."""

from aggregators.adapter import aggregator_order_receive
from aggregators.transitions import RAPPI
from consumers.errors import InvalidMessage
from consumers.registry import ConsumerDefinition
from delivery.errors import ValidationFailed
from events.envelope import Event
from events.types import EventType

SUPPORTED_AGGREGATORS = frozenset({RAPPI})


def handle_order_received(event: Event) -> None:
    """Create and take the order, or reject it with a reason; a repeat of a known order does nothing."""
    aggregator = event.data.get("aggregator")
    if not isinstance(aggregator, str) or aggregator not in SUPPORTED_AGGREGATORS:
        raise InvalidMessage(f"unsupported aggregator {aggregator!r}")
    try:
        aggregator_order_receive(aggregator=aggregator, payload=event.data.get("order"))
    except ValidationFailed as exc:
        raise InvalidMessage(f"{exc.code}: {exc.message}") from exc


# One order per transaction: taking or rejecting it calls the aggregator.
definition = ConsumerDefinition(
    name="aggregator_orders", batch_size=1, handlers={EventType.AGGREGATOR_ORDER_RECEIVED: handle_order_received}
)
