"""The fetcher: polls the aggregator for new orders and hands each to the adapter through Kafka, once."""

import logging
from dataclasses import dataclass, field

from django.db import transaction

from aggregators.adapter import aggregator_order_id
from delivery.locks import advisory_xact_lock
from delivery.models import Order
from events.models import OutboxEvent
from events.publishing import publish
from events.types import EventType
from integrations.rappi import rappi_backend

logger = logging.getLogger(__name__)

ORDER_RECEIVED = EventType.AGGREGATOR_ORDER_RECEIVED


def order_received_key(*, aggregator: str, aggregator_id: str) -> str:
    """The Kafka key of `aggregator.order_received`: the local order does not exist yet."""
    return f"aggregator-{aggregator}-{aggregator_id}"


@dataclass
class FetchResult:
    published: list[str] = field(default_factory=list)
    already_known: list[str] = field(default_factory=list)
    unusable: int = 0


def aggregator_orders_fetch(*, aggregator: str) -> FetchResult:
    """Poll `GET /orders?status=NEW` and publish one `aggregator.order_received` per order not seen before.

    An order is seen when a local order has its aggregator id or its event is already in
    the outbox (waiting for the adapter). Raises the HTTP client's errors when the poll fails.
    """
    orders = rappi_backend().orders_new()
    result = FetchResult()
    by_id: dict[str, object] = {}
    for order in orders:
        aggregator_id = aggregator_order_id(order)
        if aggregator_id is None:
            result.unusable += 1
            logger.warning("%s returned an order without a usable id: %.200r", aggregator, order)
        else:
            by_id.setdefault(aggregator_id, order)
    if not by_id:
        return result
    with transaction.atomic():
        # One fetch of an aggregator at a time decides what is new (overlapping beats must not publish twice).
        advisory_xact_lock(f"aggregator-fetch:{aggregator}")
        keys = {
            order_received_key(aggregator=aggregator, aggregator_id=aggregator_id): aggregator_id
            for aggregator_id in by_id
        }
        known = set(
            Order.objects.filter(aggregator=aggregator, aggregator_id__in=by_id).values_list("aggregator_id", flat=True)
        )
        known |= {
            keys[key]
            for key in OutboxEvent.objects.filter(type=ORDER_RECEIVED, key__in=keys).values_list("key", flat=True)
        }
        for key, aggregator_id in keys.items():
            if aggregator_id in known:
                result.already_known.append(aggregator_id)
                continue
            publish(event_type=ORDER_RECEIVED, key=key, data={"aggregator": aggregator, "order": by_id[aggregator_id]})
            result.published.append(aggregator_id)
    if result.published:
        logger.info("%s: %d new order(s) received: %s", aggregator, len(result.published), result.published)
    return result
