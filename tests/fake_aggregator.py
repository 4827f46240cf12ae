"""The fake aggregator API (devtools) on a free local port, for the aggregator's and the Rappi client's tests."""

from collections.abc import Iterator
from typing import Any

import pytest

from devtools.fake_aggregator import FakeAggregator

# The webhook secret the fake signs with; tests/aggregators sets the app's to the same.
SECRET = "test-rappi-webhook-secret"


@pytest.fixture
def fake_aggregator(settings: Any) -> Iterator[FakeAggregator]:
    """The fake aggregator API on a free local port; the app's client points at it."""
    fake = FakeAggregator(webhook_secret=SECRET).start()
    settings.RAPPI_API_BASE_URL = fake.base_url
    settings.HTTP_CLIENT_BACKOFF_SECONDS = 0.01
    try:
        yield fake
    finally:
        fake.stop()
