"""normal_data: applies driver.status_changed and friends to the normal tables."""

from consumers.registry import ConsumerDefinition

definition = ConsumerDefinition(name="normal_data", handlers={})
