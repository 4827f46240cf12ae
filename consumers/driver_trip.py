"""driver_trip: builds the driver's CurrentTrip row from trip.assigned / delivery.ready_to_collect."""

from consumers.registry import ConsumerDefinition

definition = ConsumerDefinition(name="driver_trip", handlers={})
