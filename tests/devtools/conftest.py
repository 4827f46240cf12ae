"""The fake aggregator's tests use the aggregator tests' secret and fake."""

from tests.aggregators.conftest import _webhook_secret, fake_aggregator

__all__ = ["_webhook_secret", "fake_aggregator"]
