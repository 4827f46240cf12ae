"""waseat: closes delivered orders in WASEAT (HTTP, idempotent)."""

from consumers.registry import ConsumerDefinition

definition = ConsumerDefinition(name="waseat", handlers={})
