"""The fake aggregator API for the Rappi client's tests (tests/aggregators has its own, with signed webhooks)."""

from collections.abc import Iterator
from typing import Any

import pytest

from devtools.fake_aggregator import FakeAggregator


@pytest.fixture
def fake_aggregator(settings: Any) -> Iterator[FakeAggregator]:
    """The fake aggregator API on a free local port; the app's client points at it."""
    fake = FakeAggregator().start()
    settings.RAPPI_API_BASE_URL = fake.base_url
    settings.HTTP_CLIENT_BACKOFF_SECONDS = 0.01
    try:
        yield fake
    finally:
        fake.stop()
