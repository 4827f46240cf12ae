"""restaurant_dashboard: broadcasts a changed preparation to its branch's dashboards.

Works from the event alone: the event carries the dashboard's `preparation` object, taken
in the writer's transaction, so there is nothing to query and nothing that can be missing.
"""

from consumers.registry import ConsumerDefinition
from events.envelope import Event
from side_effects.deliveries import Work, dashboard_broadcast, left_to_consumer
from side_effects.models import EffectPath


@left_to_consumer(Work.DASHBOARD_BROADCAST)
def process_preparation_changed(event: Event) -> None:
    dashboard_broadcast(snapshot=event.data, path=EffectPath.CONSUMER, event_id=event.id)


definition = ConsumerDefinition(
    name="restaurant_dashboard",
    work=Work.DASHBOARD_BROADCAST,
    # Outside a transaction: the broadcast leaves at once, not after a batch commits.
    in_transaction=False,
    handlers={
        event_type: process_preparation_changed
        for event_type in (
            "trip.assigned",
            "delivery.driver_arrived",
            "delivery.ready_to_collect",
            "delivery.out_for_delivery",
            "delivery.delivered",
            "delivery.failed",
            "courier.assigned",
            "courier.status_changed",
            "kitchen.status_changed",
        )
    },
)
