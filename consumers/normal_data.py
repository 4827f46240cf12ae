"""normal_data: normal-data writes moved out of the driver API (driver status and history).

Applies the driver status an event implies (`data["driver_status"]`) with its history rows.
Events of one driver share a partition, so they normally arrive in the order they happened; a
replayed dead letter or the request's own write may still interleave, so each status is applied
only over an older one (`driver_status_record` compares the facts' times). A batch is written
in a few statements whatever its size (`DriverStatus.in_consumer_batch`: one history insert, one
guarded update of each driver's newest fact). The work is `side_effects.deliveries.DriverStatus`.
"""

from consumers.registry import ConsumerDefinition
from side_effects.deliveries import DriverStatus

definition = ConsumerDefinition(
    name="normal_data",
    work=DriverStatus.name,
    handlers=DriverStatus.consumer_handlers(),
    batch_handler=DriverStatus.consumer_batch_handler(),
)
