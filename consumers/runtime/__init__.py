"""The consumer runtime: run loop, retries, dead letters, ratio guard, shutdown, liveness, metrics, lag."""

from consumers.runtime.ratio_guard import ConsumerHalted
from consumers.runtime.runner import ConsumerRunner, Outcome
from consumers.runtime.services import ConsumerService, consumer_services

__all__ = ["ConsumerHalted", "ConsumerRunner", "ConsumerService", "Outcome", "consumer_services"]
