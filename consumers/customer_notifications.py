"""customer_notifications: sends the customer a localized push for each status change."""

from consumers.registry import ConsumerDefinition

definition = ConsumerDefinition(name="customer_notifications", handlers={})
