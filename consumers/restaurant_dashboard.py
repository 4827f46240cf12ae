"""restaurant_dashboard: broadcasts a changed preparation to its branch's dashboards.

Works from the event alone: the event carries the dashboard's `preparation` object, taken
in the writer's transaction, so there is nothing to query and nothing that can be missing.
The work is `side_effects.deliveries.DashboardBroadcast`.
"""

from consumers.registry import ConsumerDefinition
from side_effects.deliveries import DashboardBroadcast

definition = ConsumerDefinition(
    name="restaurant_dashboard",
    work=DashboardBroadcast.name,
    # Outside a transaction: the broadcast leaves at once, not after a batch commits.
    in_transaction=False,
    handlers=DashboardBroadcast.consumer_handlers(),
)
