"""driver_trip: keeps the driver's CurrentTrip row current from changes made outside the driver API.

Each event carries the whole trip, so whichever event of a trip arrives first builds the row and
the others merge only the row's own fields (times set once, status only forward): replays and
late events change nothing newer. Events whose change the request already wrote to the row
(`current_trip` in `handled_synchronously`) are skipped.
"""

from consumers.registry import ConsumerDefinition
from driver_api.services import current_trip_assign
from events.envelope import Event
from side_effects.deliveries import Work, left_to_consumer


@left_to_consumer(Work.CURRENT_TRIP)
def process_trip_assigned(event: Event) -> None:
    current_trip_assign(driver_id=event.data["driver"]["id"], snapshot=event.data, event_id=event.id)


@left_to_consumer(Work.CURRENT_TRIP)
def process_delivery_changed(event: Event) -> None:
    # Every event carries the whole trip: whichever arrives first builds the row, the rest merge into it.
    current_trip_assign(driver_id=event.data["driver"]["id"], snapshot=event.data, event_id=event.id)


definition = ConsumerDefinition(
    name="driver_trip",
    work=Work.CURRENT_TRIP,
    # Small batches: a batch's transaction holds CurrentTrip row locks the driver API also takes.
    batch_size=20,
    handlers={
        "trip.assigned": process_trip_assigned,
        "delivery.ready_to_collect": process_delivery_changed,
        "delivery.driver_arrived": process_delivery_changed,
        "delivery.out_for_delivery": process_delivery_changed,
        "delivery.delivered": process_delivery_changed,
        "delivery.failed": process_delivery_changed,
    },
)
