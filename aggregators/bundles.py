"""Bundles: orders one courier carries together, so the kitchen cooks them together.

The aggregator never says an order is bundled; we infer it: when a courier is assigned
to an order while already holding other undelivered orders of the same aggregator,
those orders and this one form a bundle.
"""

from django.db.models import F, QuerySet

from delivery.models import Bundle, CourierStatus, Order, OrderStatus

FINISHED_ORDER_STATUSES = (OrderStatus.DELIVERED, OrderStatus.FAILED, OrderStatus.REJECTED)


def courier_open_orders(*, aggregator: str, courier_id: str, exclude_order_id: int) -> QuerySet[Order]:
    """The other orders the courier holds that are not delivered yet."""
    return (
        Order.objects.filter(aggregator=aggregator, courier_id=courier_id)
        .exclude(pk=exclude_order_id)
        .exclude(courier_status=CourierStatus.DELIVERED)
        .exclude(status__in=FINISHED_ORDER_STATUSES)
    )


def order_bundle_assign(*, order: Order) -> list[int]:
    """Bundle `order` (its new courier set in memory, saved by the caller) with its courier's other open orders.

    An order whose courier holds nothing else leaves its old bundle, and a bundle left
    with a single order is dissolved. Returns the ids of the orders whose bundle changed.
    """
    previous_bundle_id = order.bundle_id
    others: list[Order] = []
    if order.courier_id and order.courier_status != CourierStatus.DELIVERED:
        others = list(
            courier_open_orders(aggregator=order.aggregator, courier_id=order.courier_id, exclude_order_id=order.pk)
            .only("id", "bundle_id")
            .order_by("id")
        )
    changed: set[int] = set()
    left: set[int] = {previous_bundle_id} if previous_bundle_id is not None else set()
    if others:
        bundle = (
            Bundle.objects.filter(
                pk__in={other.bundle_id for other in others if other.bundle_id is not None},
                aggregator=order.aggregator,
                courier_id=order.courier_id,
            )
            .order_by("created_at", "id")
            .first()
        )
        if bundle is None:
            bundle = Bundle.objects.create(aggregator=order.aggregator, courier_id=order.courier_id)
        joining = [other for other in others if other.bundle_id != bundle.pk]
        left |= {other.bundle_id for other in joining if other.bundle_id is not None}
        if joining:
            Order.objects.filter(pk__in=[other.pk for other in joining]).update(bundle=bundle, version=F("version") + 1)
            changed |= {other.pk for other in joining}
        order.bundle = bundle
    else:
        order.bundle = None
    if order.bundle_id != previous_bundle_id:
        changed.add(order.pk)
    if order.bundle_id is not None:
        left.discard(order.bundle_id)
    changed |= _dissolve_lone_bundles(bundle_ids=left, leaving_order_id=order.pk)
    return sorted(changed)


def _dissolve_lone_bundles(*, bundle_ids: set[int], leaving_order_id: int) -> set[int]:
    """Take the last order out of each bundle that has at most one order left."""
    dissolved: set[int] = set()
    for bundle_id in bundle_ids:
        remaining = list(
            Order.objects.filter(bundle_id=bundle_id).exclude(pk=leaving_order_id).values_list("id", flat=True)
        )
        if len(remaining) <= 1:
            Order.objects.filter(pk__in=remaining).update(bundle=None, version=F("version") + 1)
            dissolved |= set(remaining)
    return dissolved


def bundle_mates_touch(*, order: Order) -> list[int]:
    """Count a change on the other orders of `order`'s bundle (their bundle listing changed); returns their ids."""
    if order.bundle_id is None:
        return []
    mates = sorted(Order.objects.filter(bundle_id=order.bundle_id).exclude(pk=order.pk).values_list("id", flat=True))
    Order.objects.filter(pk__in=mates).update(version=F("version") + 1)
    return mates
