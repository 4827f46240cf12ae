"""The signed body is bound to its URL, the future is refused, ties go to the status further along, floods wait."""

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from delivery.models import Order
from events.models import OutboxEvent
from tests.aggregators.conftest import Webhook, at, courier_body, courier_path, signed_patch
from tests.factories import AggregatorOrderFactory

pytestmark = pytest.mark.django_db

BOB = {"id": "courier-bob", "name": "Bob", "phone": "+966555000222"}


def unchanged(*orders: Order) -> bool:
    for order in orders:
        order.refresh_from_db()
        if order.courier_status or order.kitchen_status:
            return False
    return not OutboxEvent.objects.exists()


def test_a_body_signed_for_another_order_is_refused(client: Client) -> None:
    victim, other = AggregatorOrderFactory.create(), AggregatorOrderFactory.create()
    body = {"order_id": other.aggregator_id, "event": "at_hub", "event_time": at(1)}
    response = signed_patch(client, courier_path(victim.aggregator_id or "", "at_hub"), body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "webhook_mismatch"
    assert unchanged(victim, other)


def test_a_body_signed_for_another_event_is_refused(client: Client) -> None:
    order = AggregatorOrderFactory.create()
    body = {"order_id": order.aggregator_id, "event": "at_hub", "event_time": at(1)}
    for path in (
        courier_path(order.aggregator_id or "", "delivered"),
        f"/webhooks/rappi/{order.aggregator_id}/kitchen/ready_for_pickup/",
    ):
        response = signed_patch(client, path, body)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "webhook_mismatch"
    assert unchanged(order)


@pytest.mark.parametrize("missing", ["order_id", "event"])
def test_a_body_that_does_not_name_its_order_and_event_is_refused(client: Client, missing: str) -> None:
    order = AggregatorOrderFactory.create()
    body = {"order_id": order.aggregator_id, "event": "at_hub", "event_time": at(1)}
    del body[missing]
    raw = json.dumps(body).encode()
    response = signed_patch(client, courier_path(order.aggregator_id or "", "at_hub"), None, raw=raw)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation"
    assert missing in response.json()["error"]["fields"]
    assert unchanged(order)


def test_an_event_time_far_in_the_future_is_refused_and_does_not_freeze_the_order(send_courier: Webhook) -> None:
    order = AggregatorOrderFactory.create()
    response = send_courier(order.aggregator_id, "at_hub", "9999-12-31T23:59:59+00:00")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "event_time_in_future"
    assert unchanged(order)
    # Real events keep applying.
    assert send_courier(order.aggregator_id, "at_hub", timezone.now().isoformat()).json()["courier_status"] == "at_hub"


def test_a_little_clock_skew_is_accepted(send_courier: Webhook) -> None:
    order = AggregatorOrderFactory.create()
    soon = (timezone.now() + timedelta(seconds=200)).isoformat()
    assert send_courier(order.aggregator_id, "at_hub", soon).status_code == 200
    late = (timezone.now() + timedelta(seconds=400)).isoformat()
    assert send_courier(order.aggregator_id, "in_transit", late).json()["error"]["code"] == "event_time_in_future"


@pytest.mark.parametrize("arrival", [("at_hub", "in_transit"), ("in_transit", "at_hub")])
def test_at_an_equal_event_time_the_status_further_along_wins(send_courier: Webhook, arrival: Any) -> None:
    order = AggregatorOrderFactory.create()
    for status in arrival:
        assert send_courier(order.aggregator_id, status, at(2)).status_code == 200
    order.refresh_from_db()
    assert order.courier_status == "in_transit"


@pytest.mark.parametrize("arrival", [("preparing", "ready_for_pickup"), ("ready_for_pickup", "preparing")])
def test_kitchen_ties_go_to_the_status_further_along(client: Client, arrival: Any) -> None:
    order = AggregatorOrderFactory.create()
    for status in arrival:
        path = f"/webhooks/rappi/{order.aggregator_id}/kitchen/{status}/"
        assert signed_patch(client, path, {"event_time": at(2)}).status_code == 200
    order.refresh_from_db()
    assert order.kitchen_status == "ready_for_pickup"


def test_webhook_floods_are_throttled(client: Client, settings: Any) -> None:
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "webhook": "3/min"}
    order = AggregatorOrderFactory.create()
    path = courier_path(order.aggregator_id or "", "at_hub")
    for minute in range(3):
        assert signed_patch(client, path, courier_body("at_hub", at(minute))).status_code == 200
    refused = signed_patch(client, path, courier_body("at_hub", at(10)))
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    order.refresh_from_db()
    assert order.courier_status_at is not None
    assert order.courier_status_at.isoformat() == at(2)
