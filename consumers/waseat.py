"""waseat: closes delivered orders in WASEAT (the POS), exactly once per order.

`delivery.delivered` is closed here when the request left the close to this consumer
(`side_effects.deliveries.WaseatClose`); `waseat.close_requested` is a close the request tried
and handed over after WASEAT failed.

Transient failures (timeouts, 5xx, 429) are retried in place by the runtime; a 4xx is
permanent and dead-letters the event. The close carries `Idempotency-Key: close-<order>`.
"""

from consumers.registry import ConsumerDefinition
from delivery.services.waseat import waseat_close_requested
from events.envelope import Event
from events.types import EventType
from side_effects.deliveries import WaseatClose


def process_close_requested(event: Event) -> None:
    waseat_close_requested(data=event.data, event_id=event.id)


# Outside a transaction: the close is sent with its idempotency key, then recorded.
definition = ConsumerDefinition(
    name="waseat",
    work=WaseatClose.name,
    in_transaction=False,
    # Different orders at once, each order's events in partition order (CONSUMER_HTTP_CONCURRENCY).
    concurrent_keys=True,
    handlers={**WaseatClose.consumer_handlers(), EventType.WASEAT_CLOSE_REQUESTED: process_close_requested},
)
