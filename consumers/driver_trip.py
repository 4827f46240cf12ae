"""driver_trip: keeps the driver's CurrentTrip row current from changes made outside the driver API.

Each event carries the whole trip, so whichever event of a trip arrives first builds the row and
the others merge only the row's own fields (times set once, status only forward): replays and
late events change nothing newer. Events whose change the request already wrote to the row
(`current_trip` in `handled_synchronously`) are skipped. The work is `side_effects.deliveries.CurrentTrip`.
"""

from consumers.registry import ConsumerDefinition
from side_effects.deliveries import CurrentTrip

definition = ConsumerDefinition(
    name="driver_trip",
    work=CurrentTrip.name,
    # Small batches: a batch's transaction holds CurrentTrip row locks the driver API also takes.
    batch_size=20,
    handlers=CurrentTrip.consumer_handlers(),
)
