"""The aggregator orders API client against a real local HTTP server (the fake aggregator)."""

from typing import Any

import pytest

from devtools.fake_aggregator import REJECTED, TAKEN, FakeAggregator
from integrations.http import PermanentHTTPError
from integrations.rappi import ConsoleRappiBackend, HttpRappiBackend, rappi_backend


def test_new_orders_take_and_reject(fake_aggregator: FakeAggregator) -> None:
    first, second = fake_aggregator.add_order(), fake_aggregator.add_order()
    client = HttpRappiBackend(fake_aggregator.base_url)
    assert [order["id"] for order in client.orders_new()] == [first["id"], second["id"]]
    client.order_take(aggregator_id=first["id"])
    client.order_take(aggregator_id=first["id"])  # a repeat is fine
    client.order_reject(aggregator_id=second["id"], reason="unknown_store")
    assert (fake_aggregator.status_of(first["id"]), fake_aggregator.status_of(second["id"])) == (TAKEN, REJECTED)
    assert fake_aggregator.reject_reasons[second["id"]] == "unknown_store"
    assert client.orders_new() == []


def test_transient_failures_are_retried(fake_aggregator: FakeAggregator) -> None:
    order = fake_aggregator.add_order()
    fake_aggregator.fail_next = [503, 429]
    assert [o["id"] for o in HttpRappiBackend(fake_aggregator.base_url).orders_new()] == [order["id"]]
    assert fake_aggregator.count_requests("GET", "/orders") == 3


def test_a_4xx_is_permanent(fake_aggregator: FakeAggregator) -> None:
    with pytest.raises(PermanentHTTPError) as error:
        HttpRappiBackend(fake_aggregator.base_url).order_take(aggregator_id="no-such-order")
    assert error.value.status_code == 404


def test_the_console_backend_is_used_without_a_base_url(settings: Any) -> None:
    settings.RAPPI_API_BASE_URL = ""
    assert isinstance(rappi_backend(), ConsoleRappiBackend)
    assert rappi_backend().orders_new() == []
    settings.RAPPI_API_BASE_URL = "http://127.0.0.1:1"
    assert isinstance(rappi_backend(), HttpRappiBackend)
