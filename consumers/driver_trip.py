"""driver_trip: keeps the driver's CurrentTrip row current from changes made outside the driver API.

`trip.assigned` builds the row from the event alone; `delivery.ready_to_collect` (the
restaurant collecting) merges only the row's own fields. Both are no-ops when the request
already wrote the row (`current_trip` in `handled_synchronously`), and idempotent otherwise.
"""

from django.utils.dateparse import parse_datetime

from consumers.registry import ConsumerDefinition
from driver_api.services import current_trip_assign, current_trip_merge
from events.envelope import Event
from side_effects.deliveries import Work, left_to_consumer


@left_to_consumer(Work.CURRENT_TRIP)
def process_trip_assigned(event: Event) -> None:
    current_trip_assign(driver_id=event.data["driver"]["id"], snapshot=event.data, event_id=event.id)


@left_to_consumer(Work.CURRENT_TRIP)
def process_delivery_changed(event: Event) -> None:
    delivery = event.data["delivery"]
    current_trip_merge(
        driver_id=event.data["driver"]["id"],
        delivery_id=delivery["id"],
        status=delivery["status"],
        arrived_at=parse_datetime(delivery["arrived_at"]) if delivery.get("arrived_at") else None,
        collecting_at=parse_datetime(delivery["collecting_at"]) if delivery.get("collecting_at") else None,
        event_id=event.id,
    )


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
