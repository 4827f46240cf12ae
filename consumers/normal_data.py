"""normal_data: normal-data writes moved out of the driver API (driver status and history).

Applies the driver status an event implies (`data["driver_status"]`) with its history rows.
Events of one driver share a partition, so they normally arrive in the order they happened; a
replayed dead letter or the request's own write may still interleave, so each status is applied
only over an older one (`driver_status_record` compares the facts' times).
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
    driver_status_record(driver_id=event.data["driver"]["id"], status=status, at=event.occurred_at, event_id=event.id)


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
