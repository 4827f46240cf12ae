"""The adapter: takes a new aggregator order (creating it locally) or rejects it with a reason.

Runs inside the consumer's transaction. The call to the aggregator happens inside it too:
if taking fails the local order is rolled back and the message is retried, and an order
already created locally is never taken or created twice.
"""

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from django.db import transaction
from rest_framework import serializers

from aggregators.selectors import is_valid_aggregator_id
from delivery.errors import ValidationFailed
from delivery.locks import advisory_xact_lock
from delivery.models import Branch, MenuItem, Order, OrderSource, Preparation
from delivery.services.orders import new_albaik_identifier, order_items_create, order_total
from integrations.rappi import rappi_backend
from side_effects.aggregator import preparations_broadcast

logger = logging.getLogger(__name__)


class RejectReason(StrEnum):
    UNKNOWN_STORE = "unknown_store"
    BRANCH_NOT_ACCEPTING = "branch_not_accepting_orders"
    UNKNOWN_ITEM = "unknown_item"
    ITEM_UNAVAILABLE = "item_unavailable"
    INVALID_ORDER = "invalid_order"


class AggregatorOrderSerializer(serializers.Serializer):
    """The contract §8 order object; `total` is the aggregator's and is not used (prices come from the menu)."""

    class CustomerSerializer(serializers.Serializer):
        first_name = serializers.CharField(max_length=80)
        last_name = serializers.CharField(max_length=80, allow_blank=True)
        telephone = serializers.CharField(max_length=32)

    class ItemSerializer(serializers.Serializer):
        sku = serializers.CharField(max_length=64)
        quantity = serializers.IntegerField(min_value=1, max_value=1000)

    store_id = serializers.CharField(max_length=64)
    customer = CustomerSerializer()
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)
    items = serializers.ListField(child=ItemSerializer(), allow_empty=False, max_length=100)


@dataclass(frozen=True)
class ReceiveOutcome:
    aggregator_id: str
    taken: bool
    order: Order | None = None
    reason: str | None = None
    duplicate: bool = False


def aggregator_order_id(payload: Any) -> str | None:
    """The aggregator's id of an order object (a string or an integer in JSON), or None when unusable."""
    raw = payload.get("id") if isinstance(payload, dict) else None
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    return raw if isinstance(raw, str) and is_valid_aggregator_id(raw) else None


def aggregator_order_receive(*, aggregator: str, payload: Any) -> ReceiveOutcome:
    """Take the aggregator's new order, or reject it with a reason; idempotent by the aggregator's id.

    Creates the `Order` (source aggregator, contact from the aggregator's customer, items
    priced from the menu by `sku`), its `OrderItem`s and `Preparation`, then takes it.
    Rejects an unknown store, a branch not accepting orders, an unknown or unavailable
    item, or a malformed order. Raises ValidationFailed when the order has no usable id.
    """
    aggregator_id = aggregator_order_id(payload)
    if aggregator_id is None:
        raise ValidationFailed("The aggregator order has no usable id.", fields={"id": ["Required."]})
    with transaction.atomic():
        # Serialise the handling of one aggregator order (a duplicate must see the first one's order).
        advisory_xact_lock(f"aggregator-order:{aggregator}:{aggregator_id}")
        existing = Order.objects.filter(aggregator=aggregator, aggregator_id=aggregator_id).first()
        if existing is not None:
            logger.info("%s order %s is already %s: nothing to do", aggregator, aggregator_id, existing)
            return ReceiveOutcome(aggregator_id=aggregator_id, taken=True, order=existing, duplicate=True)
        reason, order = _accept(aggregator=aggregator, aggregator_id=aggregator_id, payload=payload)
        backend = rappi_backend()
        if order is None:
            assert reason is not None
            backend.order_reject(aggregator_id=aggregator_id, reason=reason)
            logger.info("%s order %s rejected: %s", aggregator, aggregator_id, reason)
            return ReceiveOutcome(aggregator_id=aggregator_id, taken=False, reason=reason)
        backend.order_take(aggregator_id=aggregator_id)
        order_id = order.pk
        transaction.on_commit(lambda: _broadcast_new(order_id=order_id), robust=True)
        logger.info("%s order %s taken as %s", aggregator, aggregator_id, order.albaik_identifier)
        return ReceiveOutcome(aggregator_id=aggregator_id, taken=True, order=order)


def _accept(*, aggregator: str, aggregator_id: str, payload: Any) -> tuple[str | None, Order | None]:
    """Create the local order, or say why it cannot be taken."""
    data = AggregatorOrderSerializer(data=payload)
    if not data.is_valid():
        logger.warning("%s order %s is malformed: %s", aggregator, aggregator_id, data.errors)
        return RejectReason.INVALID_ORDER, None
    order_data: dict[str, Any] = data.validated_data
    branch = Branch.objects.filter(store_id=order_data["store_id"]).first()
    if branch is None:
        return RejectReason.UNKNOWN_STORE, None
    if not branch.accepting_orders:
        return RejectReason.BRANCH_NOT_ACCEPTING, None
    skus = {item["sku"] for item in order_data["items"]}
    menu = {item.sku: item for item in MenuItem.objects.filter(sku__in=skus)}
    if skus - menu.keys():
        return RejectReason.UNKNOWN_ITEM, None
    if any(not item.is_available for item in menu.values()):
        return RejectReason.ITEM_UNAVAILABLE, None
    lines = [(menu[item["sku"]], item["quantity"]) for item in order_data["items"]]
    customer = order_data["customer"]
    order = Order.objects.create(
        albaik_identifier=new_albaik_identifier(),
        branch=branch,
        total=order_total(lines),
        latitude=order_data["latitude"],
        longitude=order_data["longitude"],
        contact_first_name=customer["first_name"],
        contact_last_name=customer["last_name"],
        contact_telephone=customer["telephone"],
        source=OrderSource.AGGREGATOR,
        aggregator=aggregator,
        aggregator_id=aggregator_id,
    )
    order_items_create(order=order, lines=lines)
    Preparation.objects.create(order=order, branch=branch)
    return None, order


def _broadcast_new(*, order_id: int) -> None:
    preparations_broadcast(order_ids=[order_id], reason="aggregator_order_taken")
