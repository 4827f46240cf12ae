"""customer_notifications: pushes delivery status changes to the customer, in their language.

The push carries the event id as its idempotency key; nothing is sent when the customer
has notifications off.
"""

from consumers.registry import ConsumerDefinition
from delivery.services.notifications import customer_notify
from events.envelope import Event
from side_effects.deliveries import Work, left_to_consumer
from side_effects.models import EffectPath


@left_to_consumer(Work.CUSTOMER_NOTIFICATION)
def process_status_changed(event: Event) -> None:
    customer_notify(snapshot=event.data, path=EffectPath.CONSUMER, idempotency_key=event.id)


definition = ConsumerDefinition(
    name="customer_notifications",
    work=Work.CUSTOMER_NOTIFICATION,
    # Outside a transaction: the push is sent with its idempotency key (the event id), then recorded.
    in_transaction=False,
    handlers={
        event_type: process_status_changed
        for event_type in ("trip.assigned", "delivery.out_for_delivery", "delivery.delivered", "delivery.failed")
    },
)
