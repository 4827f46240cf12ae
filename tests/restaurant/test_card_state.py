"""What a dashboard card says, derived in one place, and the `version` that orders messages about it (contract §4)."""

import json
from typing import Any

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from delivery.models import Branch, CourierStatus, DeliveryStatus, DriverStatus, Order, PreparationStatus
from delivery.services.deliveries import delivery_mark_arrived, delivery_update_by_driver
from delivery.services.trips import trip_assign_order
from delivery.use_cases.drivers import driver_report_status
from events.models import OutboxEvent
from restaurant.payloads import preparation_payload
from restaurant.selectors import preparation_list_active
from restaurant.use_cases import preparation_set_status
from tests.factories import AggregatorOrderFactory, DeliveryFactory, DriverFactory, PreparationFactory

pytestmark = pytest.mark.django_db

PATCH_URL = "/restaurant/preparations/{}/"


def payload_of(order: Order) -> dict[str, Any]:
    return preparation_payload(Order.objects.get(pk=order.pk).preparation)


@pytest.mark.parametrize(
    ("recorded", "next_status"),
    [("received", "collecting"), ("collecting", "ready"), ("ready", "handed_over"), ("handed_over", None)],
)
def test_the_action_is_the_step_after_the_status_shown(branch: Branch, recorded: str, next_status: str | None) -> None:
    payload = preparation_payload(PreparationFactory.create(order__branch=branch, status=recorded))
    assert (payload["status"], payload["next_status"]) == (recorded, next_status)
    assert payload["active"] is (next_status is not None)


@pytest.mark.parametrize("delivery_status", [DeliveryStatus.OUT_FOR_DELIVERY, DeliveryStatus.DELIVERED])
@pytest.mark.parametrize("recorded", ["received", "collecting", "ready"])
def test_a_scanned_order_is_handed_over_and_leaves_the_list(
    branch: Branch, staff: Any, recorded: str, delivery_status: str
) -> None:
    preparation = PreparationFactory.create(order__branch=branch, status=recorded)
    DeliveryFactory.create(order=preparation.order, status=delivery_status, arrived_at=preparation.created_at)

    payload = preparation_payload(preparation)

    assert (payload["status"], payload["next_status"], payload["active"]) == ("handed_over", None, False)
    assert preparation_list_active(user=staff, branch_id=branch.pk) == []


@pytest.mark.parametrize(
    ("courier_status", "shown"),
    [
        (CourierStatus.ASSIGNED, "received"),
        (CourierStatus.AT_HUB, "received"),
        (CourierStatus.IN_TRANSIT, "handed_over"),
        (CourierStatus.AT_DESTINATION, "handed_over"),
        (CourierStatus.DELIVERED, "handed_over"),
    ],
)
def test_courier_progress_moves_the_kitchen_status_it_implies(
    branch: Branch, staff: Any, courier_status: str, shown: str
) -> None:
    order = AggregatorOrderFactory.create(
        branch=branch, courier_id="c-1", courier_name="Bob", courier_status=courier_status
    )
    payload = payload_of(order)
    assert payload["status"] == shown
    assert payload["active"] is (shown != "handed_over")
    assert payload["order"]["aggregator"] == "rappi"
    listed = [preparation.pk for preparation in preparation_list_active(user=staff, branch_id=branch.pk)]
    assert listed == ([order.preparation.pk] if payload["active"] else [])


def test_moving_a_scanned_order_back_into_the_kitchen_is_refused(staff_api: APIClient, branch: Branch) -> None:
    preparation = PreparationFactory.create(order__branch=branch)
    DeliveryFactory.create(order=preparation.order, status=DeliveryStatus.OUT_FOR_DELIVERY)

    refused = staff_api.patch(PATCH_URL.format(preparation.pk), {"status": "collecting"}, format="json")
    repeat = staff_api.patch(PATCH_URL.format(preparation.pk), {"status": "handed_over"}, format="json")

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invalid_transition"
    assert repeat.status_code == 200
    assert repeat.json()["status"] == "handed_over"
    preparation.refresh_from_db()
    assert (preparation.status, preparation.version) == (PreparationStatus.RECEIVED, 1)


def test_an_aggregator_order_without_a_courier_says_so(branch: Branch) -> None:
    payload = payload_of(AggregatorOrderFactory.create(branch=branch))
    assert payload["courier"] is None
    assert payload["order"]["source"] == "aggregator"
    assert payload["order"]["aggregator"] == "rappi"


# --- version -------------------------------------------------------------------------------------


def outbox_versions(order: Order) -> list[int]:
    """The `version` of the preparation carried by each event about the order, in outbox order."""
    rows = OutboxEvent.objects.filter(albaik_identifier=order.albaik_identifier).order_by("id")
    versions = []
    for row in rows:
        preparation = json.loads(row.envelope)["data"].get("preparation")
        if preparation:
            versions.append(preparation["version"])
    return versions


def test_the_version_grows_with_every_change_of_the_preparation_its_delivery_and_its_driver(
    branch: Branch, staff: Any
) -> None:
    preparation = PreparationFactory.create(order__branch=branch)
    order = preparation.order
    driver = DriverFactory.create(status=DriverStatus.AVAILABLE, latitude=branch.latitude, longitude=branch.longitude)
    seen = [payload_of(order)["version"]]

    def changed() -> None:
        version = payload_of(order)["version"]
        assert version > seen[-1]
        seen.append(version)

    with transaction.atomic():
        assert trip_assign_order(order_id=order.pk) is not None
    changed()
    with transaction.atomic():
        delivery_mark_arrived(driver=driver)
    changed()
    preparation_set_status(preparation_id=preparation.pk, status="collecting", user=staff)
    changed()
    preparation_set_status(preparation_id=preparation.pk, status="ready", user=staff)
    changed()
    with transaction.atomic():
        delivery_update_by_driver(driver=driver, albaik_identifier=order.albaik_identifier, status="out_for_delivery")
    changed()
    # Every snapshot an event carries (the consumer broadcasts it, maybe late) is ordered the same way.
    assert outbox_versions(order) == sorted(outbox_versions(order))
    assert len(set(outbox_versions(order))) == len(outbox_versions(order))


def test_the_version_never_goes_back_when_the_order_is_reassigned(branch: Branch) -> None:
    preparation = PreparationFactory.create(order__branch=branch)
    order = preparation.order
    first = DriverFactory.create(status=DriverStatus.AVAILABLE, latitude=branch.latitude, longitude=branch.longitude)
    with transaction.atomic():
        trip_assign_order(order_id=order.pk)
        delivery_mark_arrived(driver=first)
    before = payload_of(order)
    DriverFactory.create(status=DriverStatus.AVAILABLE, latitude=branch.latitude, longitude=branch.longitude)

    with transaction.atomic():
        driver_report_status(driver=first, status=DriverStatus.ACCIDENT)

    after = payload_of(order)
    assert after["driver"]["id"] != before["driver"]["id"]
    assert after["version"] > before["version"]


def test_the_version_grows_with_courier_webhooks(branch: Branch) -> None:
    from django.utils import timezone

    from aggregators.services import aggregator_order_update
    from aggregators.transitions import COURIER_STATUS, Courier, StatusChange

    order = AggregatorOrderFactory.create(branch=branch)
    seen = [payload_of(order)["version"]]
    bob = Courier(id="c-1", name="Bob", phone="+966555000222")
    for status in ("assigned", "at_hub"):
        change = StatusChange(attribute=COURIER_STATUS, status=status, event_time=timezone.now(), courier=bob)
        aggregator_order_update(aggregator="rappi", aggregator_id=str(order.aggregator_id), change=change)
        seen.append(payload_of(order)["version"])
    assert seen == sorted(set(seen))
