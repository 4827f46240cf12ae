"""restaurant_dashboard: broadcasts a changed preparation to its branch's dashboards.

Works from the event alone: the event carries the dashboard's `preparation` object, taken
in the writer's transaction, so there is nothing to query and nothing that can be missing.
The work is `side_effects.deliveries.DashboardBroadcast`.
"""

from consumers.registry import ConsumerDefinition
from side_effects.deliveries import DashboardBroadcast
from side_effects.models import effect_records_deferred

definition = ConsumerDefinition(
    name="restaurant_dashboard",
    work=DashboardBroadcast.name,
    # Outside a transaction: the broadcast leaves at once, not after a batch commits.
    in_transaction=False,
    handlers=DashboardBroadcast.consumer_handlers(),
    # The broadcasts' records (stamped when each left) are written once per batch.
    batch_context=effect_records_deferred,
    # A dashboard waits for no batch to fill: what one fetch brought is one batch, a trickle is not held.
    max_batch_wait_seconds=0.005,
)
