"""waseat: closes delivered orders in WASEAT (the POS), exactly once per order.

`delivery.delivered` is closed here when the request left the close to this consumer;
`waseat.close_requested` is a close the request tried and handed over after WASEAT failed.

Transient failures (timeouts, 5xx, 429) are retried in place by the runtime; a 4xx is
permanent and dead-letters the event. The close carries `Idempotency-Key: close-<order>`.
"""

from consumers.registry import ConsumerDefinition
from delivery.services.waseat import WASEAT_CLOSE_REQUESTED, waseat_close_delivered, waseat_close_requested
from events.envelope import Event
from side_effects.deliveries import Work, left_to_consumer
from side_effects.models import EffectPath


@left_to_consumer(Work.WASEAT_CLOSE)
def process_delivered(event: Event) -> None:
    waseat_close_delivered(snapshot=event.data, path=EffectPath.CONSUMER, event_id=event.id)


def process_close_requested(event: Event) -> None:
    waseat_close_requested(data=event.data, event_id=event.id)


# Outside a transaction: the close is sent with its idempotency key, then recorded.
definition = ConsumerDefinition(
    name="waseat",
    work=Work.WASEAT_CLOSE,
    in_transaction=False,
    handlers={"delivery.delivered": process_delivered, WASEAT_CLOSE_REQUESTED: process_close_requested},
)
