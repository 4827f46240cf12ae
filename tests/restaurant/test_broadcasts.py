"""The dashboard's `preparation` object (contract §4) and its group."""

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from delivery.models import Branch, CourierStatus, DeliveryStatus
from restaurant.broadcasts import branch_group
from restaurant.payloads import preparation_payload
from restaurant.selectors import preparation_list_active
from tests.factories import (
    BundleFactory,
    DeliveryFactory,
    DriverFactory,
    OrderFactory,
    OrderItemFactory,
    PreparationFactory,
)

pytestmark = pytest.mark.django_db


def test_branch_group_name() -> None:
    assert branch_group(7) == "branch-7"


def test_own_fleet_preparation_with_an_arrived_driver(branch: Branch) -> None:
    preparation = PreparationFactory.create(order__branch=branch, order__total=Decimal("54.00"), item__quantity=3)
    OrderItemFactory.create(order=preparation.order, quantity=1, name="Garlic Sauce")
    driver = DriverFactory.create(name="Faisal")
    DeliveryFactory.create(order=preparation.order, driver=driver, is_active=False, status=DeliveryStatus.FAILED)
    DeliveryFactory.create(
        order=preparation.order, driver=driver, arrived_at=timezone.now(), status="waiting_at_restaurant"
    )

    payload = preparation_payload(preparation)

    order = preparation.order
    first_item = order.items.order_by("id")[0]
    assert payload == {
        "id": preparation.pk,
        # preparation 1 + order 1 + active delivery 1
        "version": 3,
        "branch_id": branch.pk,
        "status": "received",
        "next_status": "collecting",
        "kind": "delivery",
        "active": True,
        "created_at": preparation.created_at.isoformat(),
        "order": {
            "albaik_identifier": order.albaik_identifier,
            "aggregator_id": None,
            "aggregator": None,
            "items": [{"name": first_item.name, "quantity": 3}, {"name": "Garlic Sauce", "quantity": 1}],
            "total": "54.00",
            "created_at": order.created_at.isoformat(),
            "source": "own_fleet",
        },
        "driver": {"id": driver.pk, "name": "Faisal", "arrived": True, "delivery_status": "waiting_at_restaurant"},
        "courier": None,
        "bundle": None,
    }


def test_aggregator_preparation_with_courier_and_bundle(branch: Branch) -> None:
    bundle = BundleFactory.create()
    preparation = PreparationFactory.create(
        order=OrderFactory.create(
            from_aggregator=True,
            branch=branch,
            albaik_identifier="ALB-C",
            bundle=bundle,
            courier_id="c-9",
            courier_name="Bob",
            courier_phone="+5511999",
            courier_status=CourierStatus.AT_HUB,
        )
    )
    OrderFactory.create(from_aggregator=True, branch=branch, albaik_identifier="ALB-A", bundle=bundle)

    payload = preparation_payload(preparation)

    assert payload["order"]["aggregator_id"] == preparation.order.aggregator_id
    assert payload["order"]["source"] == "aggregator"
    assert payload["courier"] == {"id": "c-9", "name": "Bob", "phone": "+5511999", "status": "at_hub"}
    assert payload["bundle"] == ["ALB-A", "ALB-C"]
    assert payload["driver"] is None


@pytest.mark.parametrize(
    ("changes", "delivery_status"),
    [
        ({"status": "handed_over"}, None),
        ({}, DeliveryStatus.DELIVERED),
        ({}, DeliveryStatus.FAILED),
    ],
)
def test_finished_preparations_are_not_active(
    branch: Branch, changes: dict[str, Any], delivery_status: str | None
) -> None:
    preparation = PreparationFactory.create(order__branch=branch, **changes)
    if delivery_status:
        DeliveryFactory.create(order=preparation.order, status=delivery_status)
    assert preparation_payload(preparation)["active"] is False


def test_payload_of_a_bare_instance_takes_four_queries(branch: Branch) -> None:
    preparation = PreparationFactory.create(order__branch=branch, order__bundle=BundleFactory.create())
    DeliveryFactory.create(order=preparation.order)
    with CaptureQueriesContext(connection) as queries:
        preparation_payload(preparation)
    assert len(queries.captured_queries) == 4


def test_payloads_of_listed_preparations_take_no_further_queries(branch: Branch, staff: Any) -> None:
    for _ in range(3):
        DeliveryFactory.create(order=PreparationFactory.create(order__branch=branch).order)
    preparations = preparation_list_active(user=staff, branch_id=branch.pk)
    with CaptureQueriesContext(connection) as queries:
        payloads = [preparation_payload(preparation) for preparation in preparations]
    assert len(payloads) == 3
    assert len(queries.captured_queries) == 0
