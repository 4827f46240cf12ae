"""The fake aggregator's tests use the aggregator tests' webhook secret (the fake itself is `tests.fake_aggregator`)."""

from tests.aggregators.conftest import _webhook_secret

__all__ = ["_webhook_secret"]
