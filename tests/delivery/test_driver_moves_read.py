"""The locked read of a driver's move (`delivery_locked`): the delivery as `delivery_with_related()` loads it."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from delivery.models import Delivery
from delivery.selectors.driver_moves import delivery_locked
from delivery.selectors.snapshots import delivery_snapshot, delivery_with_related
from tests.factories import AggregatorOrderFactory, DeliveryFactory, DriverFactory, order_for

pytestmark = pytest.mark.django_db

BY_ORDER = "d.driver_id = %s AND d.is_active = %s AND o.albaik_identifier = %s"


def test_the_read_loads_what_delivery_with_related_loads_in_the_same_two_queries():
    delivery = DeliveryFactory.create(order=order_for())
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = delivery_locked(where=BY_ORDER, params=[delivery.driver_id, True, delivery.order.albaik_identifier])
        assert locked is not None
        snapshot = delivery_snapshot(locked)
    assert len(queries) == 2  # the delivery with its relations, then the order's items
    assert "FOR UPDATE" in queries[0]["sql"]
    expected = delivery_with_related().get(pk=delivery.pk)
    assert snapshot == delivery_snapshot(expected)
    assert locked.order.preparation.order is locked.order
    assert locked.order.customer is not None
    assert [item.pk for item in locked.order.items.all()] == [item.pk for item in expected.order.items.all()]


def test_an_order_without_a_customer_account_reads_none():
    delivery = DeliveryFactory.create(order=AggregatorOrderFactory.create())
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = delivery_locked(where=BY_ORDER, params=[delivery.driver_id, True, delivery.order.albaik_identifier])
        assert locked is not None
        assert locked.order.customer is None
        assert delivery_snapshot(locked)["customer"]["user_id"] is None
    assert len(queries) == 2


def test_another_drivers_or_an_inactive_delivery_is_not_found():
    delivery = DeliveryFactory.create(order=order_for())
    identifier = delivery.order.albaik_identifier
    with transaction.atomic():
        assert delivery_locked(where=BY_ORDER, params=[DriverFactory.create().pk, True, identifier]) is None
        Delivery.objects.filter(pk=delivery.pk).update(is_active=False)
        assert delivery_locked(where=BY_ORDER, params=[delivery.driver_id, True, identifier]) is None
