"""customer_notifications: pushes delivery status changes to the customer, in their language.

The push carries the event id as its idempotency key; nothing is sent when the customer
has notifications off. The work is `side_effects.deliveries.CustomerNotification`.
"""

from consumers.registry import ConsumerDefinition
from side_effects.deliveries import CustomerNotification

definition = ConsumerDefinition(
    name="customer_notifications",
    work=CustomerNotification.name,
    # Outside a transaction: the push is sent with its idempotency key (the event id), then recorded.
    in_transaction=False,
    # Different orders at once, each order's events in partition order (CONSUMER_HTTP_CONCURRENCY).
    concurrent_keys=True,
    handlers=CustomerNotification.consumer_handlers(),
)
