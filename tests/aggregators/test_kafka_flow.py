"""End to end through the real Kafka protocol: fetcher → outbox → relay → `aggregator_orders` consumer."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from aggregators.tasks import aggregator_orders_fetch_task
from consumers.aggregator_orders import definition
from consumers.models import ProcessedEvent
from delivery.models import Order, Preparation
from devtools.fake_aggregator import REJECTED, TAKEN, FakeAggregator
from tests.factories import BranchFactory, MenuItemFactory
from tests.processes import wait_for


@pytest.mark.django_db(transaction=True)
def test_new_orders_reach_the_adapter_through_kafka_and_are_decided_once(
    kafka: Any, relay: Callable[..., Any], consumer: Callable[..., Any], fake_aggregator: FakeAggregator
) -> None:
    branch = BranchFactory.create(store_id="store-jeddah-1")
    MenuItemFactory.create(sku="CHK-4PC", price=Decimal("18.00"))
    good = fake_aggregator.add_order(store_id="store-jeddah-1", items=[{"sku": "CHK-4PC", "quantity": 1}])
    stranger = fake_aggregator.add_order(store_id="no-such-store", items=[{"sku": "CHK-4PC", "quantity": 1}])
    consumer(definition)
    relay()

    assert aggregator_orders_fetch_task() == 2
    assert aggregator_orders_fetch_task() == 0

    wait_for(
        lambda: (
            fake_aggregator.status_of(good["id"]) == TAKEN and fake_aggregator.status_of(stranger["id"]) == REJECTED
        ),
        timeout=30,
        what="the adapter's decisions at the aggregator",
    )
    wait_for(lambda: ProcessedEvent.objects.filter(consumer="aggregator_orders").count() == 2, timeout=10)
    order = Order.objects.get(aggregator="rappi", aggregator_id=good["id"])
    assert Preparation.objects.get(order=order).branch == branch
    assert fake_aggregator.reject_reasons[stranger["id"]] == "unknown_store"
    assert fake_aggregator.count_requests("PUT", f"/orders/{good['id']}/take") == 1
    assert fake_aggregator.count_requests("PUT", f"/orders/{stranger['id']}/reject") == 1
    assert aggregator_orders_fetch_task() == 0
