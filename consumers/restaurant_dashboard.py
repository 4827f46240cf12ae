"""restaurant_dashboard: broadcasts delivery events to the dashboard's Channels group `branch-<id>`."""

from consumers.registry import ConsumerDefinition

definition = ConsumerDefinition(name="restaurant_dashboard", handlers={})
