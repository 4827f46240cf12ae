"""The consumer runtime on arroyo: run loop, batches, retries, dead letters and their limit, health, lag."""

from consumers.runtime.dead_letter_limit import ConsumerHalted
from consumers.runtime.runner import ConsumerRunner
from consumers.runtime.services import ConsumerService, consumer_services

__all__ = ["ConsumerHalted", "ConsumerRunner", "ConsumerService", "consumer_services"]
