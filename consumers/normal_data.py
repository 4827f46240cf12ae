"""normal_data: normal-data writes moved out of the driver API (driver status and history).

Applies the driver status an event implies (`data["driver_status"]`) with its history rows.
Events of one driver share a partition, so they are applied in the order they happened.
"""

from consumers.registry import ConsumerDefinition
from delivery.services.drivers import driver_status_record
from events.envelope import Event
from side_effects.deliveries import Work, left_to_consumer


@left_to_consumer(Work.DRIVER_STATUS)
def process_driver_status(event: Event) -> None:
    status = event.data.get("driver_status")
    if not status:
        return
    delivery = event.data.get("delivery")
    driver_status_record(
        driver_id=event.data["driver"]["id"],
        status=status,
        at=event.occurred_at,
        delivery_id=delivery["id"] if delivery else None,
        delivery_status=delivery["status"] if delivery else None,
        event_id=event.id,
    )


definition = ConsumerDefinition(
    name="normal_data",
    work=Work.DRIVER_STATUS,
    handlers={
        event_type: process_driver_status
        for event_type in (
            "driver.status_changed",
            "delivery.driver_arrived",
            "delivery.out_for_delivery",
            "delivery.delivered",
            "delivery.failed",
        )
    },
)
