"""The order flow: the fetcher publishes each new aggregator order once; the adapter takes or rejects it once."""

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from aggregators.tasks import aggregator_orders_fetch_task
from consumers.aggregator_orders import definition, handle_order_received
from consumers.errors import InvalidMessage
from delivery.models import Branch, MenuItem, Order, OrderSource, Preparation
from devtools.fake_aggregator import NEW, REJECTED, TAKEN, FakeAggregator
from events.envelope import Event
from events.models import OutboxEvent
from integrations.http import TransientHTTPError
from integrations.rappi import console_rappi
from tests.factories import BranchFactory, MenuItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def store() -> Branch:
    return BranchFactory.create(store_id="store-jeddah-1")


@pytest.fixture
def menu() -> list[MenuItem]:
    return [
        MenuItemFactory.create(sku="CHK-4PC", price=Decimal("18.00")),
        MenuItemFactory.create(sku="GARLIC", price=Decimal("1.00")),
    ]


def aggregator_order(fake: FakeAggregator, **overrides: Any) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "store_id": "store-jeddah-1",
        "items": [{"sku": "CHK-4PC", "quantity": 2}, {"sku": "GARLIC", "quantity": 1}],
        "customer": {"first_name": "Layla", "last_name": "Rappi", "telephone": "+966555000111"},
    }
    return fake.add_order(**{**defaults, **overrides})


def received_events() -> list[Event]:
    return [
        Event.from_json(row.envelope)
        for row in OutboxEvent.objects.filter(type="aggregator.order_received").order_by("id")
    ]


def adapt(events: list[Event]) -> None:
    """Run the adapter as the consumer runtime does: one transaction per message."""
    for event in events:
        with transaction.atomic():
            handle_order_received(event)


def test_the_fetcher_takes_a_good_order_and_rejects_an_unknown_store_each_once_when_polled_twice(
    fake_aggregator: FakeAggregator, store: Branch, menu: list[MenuItem], django_capture_on_commit_callbacks: Any
) -> None:
    good = aggregator_order(fake_aggregator)
    stranger = aggregator_order(fake_aggregator, store_id="no-such-store")

    assert aggregator_orders_fetch_task() == 2
    assert aggregator_orders_fetch_task() == 0  # still NEW at the aggregator, already on its way to the adapter
    events = received_events()
    assert [event.data["order"]["id"] for event in events] == [good["id"], stranger["id"]]
    assert events[0].key == f"aggregator-rappi-{good['id']}"
    assert events[0].data == {"aggregator": "rappi", "order": good}

    with django_capture_on_commit_callbacks(execute=True):
        adapt(events)
    assert aggregator_orders_fetch_task() == 0  # decided: no longer NEW at the aggregator

    assert fake_aggregator.status_of(good["id"]) == TAKEN
    assert fake_aggregator.status_of(stranger["id"]) == REJECTED
    assert fake_aggregator.reject_reasons[stranger["id"]] == "unknown_store"
    assert fake_aggregator.count_requests("PUT", f"/orders/{good['id']}/take") == 1
    assert fake_aggregator.count_requests("PUT", f"/orders/{stranger['id']}/reject") == 1

    order = Order.objects.get(aggregator="rappi", aggregator_id=good["id"])
    assert order.source == OrderSource.AGGREGATOR
    assert order.customer is None
    assert (order.contact_first_name, order.contact_last_name, order.contact_telephone) == (
        "Layla",
        "Rappi",
        "+966555000111",
    )
    assert order.branch == store
    assert order.total == Decimal("37.00")  # priced from the menu
    assert sorted((item.menu_item.sku, item.quantity, item.total) for item in order.items.all()) == [
        ("CHK-4PC", 2, Decimal("36.00")),
        ("GARLIC", 1, Decimal("1.00")),
    ]
    assert Preparation.objects.get(order=order).branch == store
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        pytest.param({"store_id": "closed-store"}, "branch_not_accepting_orders", id="branch-not-accepting"),
        pytest.param({"items": [{"sku": "NO-SUCH-SKU", "quantity": 1}]}, "unknown_item", id="unknown-item"),
        pytest.param({"items": [{"sku": "SOLD-OUT", "quantity": 1}]}, "item_unavailable", id="unavailable-item"),
        pytest.param({"items": []}, "invalid_order", id="no-items"),
        pytest.param({"latitude": 123}, "invalid_order", id="bad-latitude"),
        pytest.param({"customer": "Layla"}, "invalid_order", id="bad-customer"),
    ],
)
def test_the_adapter_rejects_with_a_reason(
    fake_aggregator: FakeAggregator, store: Branch, menu: list[MenuItem], overrides: dict[str, Any], reason: str
) -> None:
    BranchFactory.create(store_id="closed-store", accepting_orders=False)
    MenuItemFactory.create(sku="SOLD-OUT", is_available=False)
    order = aggregator_order(fake_aggregator, **overrides)
    aggregator_orders_fetch_task()
    adapt(received_events())
    assert fake_aggregator.status_of(order["id"]) == REJECTED
    assert fake_aggregator.reject_reasons[order["id"]] == reason
    assert not Order.objects.exists()


def test_the_same_order_in_two_events_is_taken_once(
    fake_aggregator: FakeAggregator, store: Branch, menu: list[MenuItem]
) -> None:
    good = aggregator_order(fake_aggregator)
    aggregator_orders_fetch_task()
    OutboxEvent.objects.all().delete()  # as if pruned: the next poll publishes it again
    aggregator_orders_fetch_task()
    events = received_events()
    assert len(events) == 1
    adapt(events + events)
    first = received_events()
    assert len(first) == 1
    assert fake_aggregator.count_requests("PUT", f"/orders/{good['id']}/take") == 1
    assert Order.objects.filter(aggregator_id=good["id"]).count() == 1


def test_a_failed_take_leaves_no_local_order_and_is_retried(
    fake_aggregator: FakeAggregator, store: Branch, menu: list[MenuItem], settings: Any
) -> None:
    settings.HTTP_CLIENT_MAX_ATTEMPTS = 1
    good = aggregator_order(fake_aggregator)
    aggregator_orders_fetch_task()
    events = received_events()
    fake_aggregator.fail_next = [503]
    with pytest.raises(TransientHTTPError):
        adapt(events)
    assert not Order.objects.exists()
    adapt(events)
    assert fake_aggregator.status_of(good["id"]) == TAKEN
    assert Order.objects.filter(aggregator_id=good["id"]).count() == 1


def test_the_fetcher_survives_an_unreachable_aggregator(settings: Any) -> None:
    settings.RAPPI_API_BASE_URL = "http://127.0.0.1:9"
    settings.HTTP_CLIENT_MAX_ATTEMPTS = 1
    assert aggregator_orders_fetch_task() == 0
    assert not OutboxEvent.objects.exists()


def test_orders_without_a_usable_id_are_skipped(fake_aggregator: FakeAggregator) -> None:
    for key, aggregator_id in (("list", ["not", "an", "id"]), ("empty", ""), ("long", "x" * 65), ("bool", True)):
        fake_aggregator.orders[key] = {"id": aggregator_id, "store_id": "store-jeddah-1"}
        fake_aggregator.statuses[key] = NEW
    assert aggregator_orders_fetch_task() == 0
    assert not OutboxEvent.objects.exists()


def test_an_event_without_an_order_id_or_from_another_aggregator_is_invalid() -> None:
    for data in ({"aggregator": "rappi", "order": {"id": None}}, {"aggregator": "ifood", "order": {"id": "1"}}):
        event = Event(
            id=uuid.uuid4(),
            type="aggregator.order_received",
            version=1,
            occurred_at=timezone.now(),
            key="aggregator-rappi-1",
            handled_synchronously=(),
            data=data,
        )
        with pytest.raises(InvalidMessage):
            handle_order_received(event)


def test_the_console_backend_records_what_it_would_send(store: Branch, menu: list[MenuItem]) -> None:
    from aggregators.adapter import aggregator_order_receive

    console_rappi.sent.clear()
    payload = {
        "id": 991,
        "store_id": "store-jeddah-1",
        "customer": {"first_name": "A", "last_name": "B", "telephone": "+9665"},
        "latitude": 21.5,
        "longitude": 39.2,
        "items": [{"sku": "CHK-4PC", "quantity": 1}],
    }
    outcome = aggregator_order_receive(aggregator="rappi", payload=payload)
    assert outcome.taken
    assert [(call.method, call.path) for call in console_rappi.sent] == [("PUT", "/orders/991/take")]
    assert definition.name == "aggregator_orders"
    assert set(definition.handlers) == {"aggregator.order_received"}
