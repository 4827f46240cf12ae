"""GET /restaurant/branches/<id>/preparations/ and PATCH /restaurant/preparations/<id>/ (contract §2)."""

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from delivery.models import Branch, DeliveryStatus, OrderStatus, Preparation, PreparationStatus
from delivery.services.accounts import token_issue
from restaurant.broadcasts import branch_group
from tests.factories import CustomerFactory, DeliveryFactory, MenuItemFactory, PreparationFactory

pytestmark = pytest.mark.django_db

LIST_URL = "/restaurant/branches/{}/preparations/"
PATCH_URL = "/restaurant/preparations/{}/"


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


async def listen(branch_id: int) -> str:
    """A channel in the branch's dashboard group, as an open dashboard would have."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(branch_group(branch_id), channel)
    return channel


# --- list ---------------------------------------------------------------------------------------


def test_staff_list_active_preparations_oldest_first(staff_api: APIClient, branch: Branch) -> None:
    first = PreparationFactory.create(order__branch=branch)
    second = PreparationFactory.create(order__branch=branch, status=PreparationStatus.COLLECTING)
    PreparationFactory.create(order__branch=branch, status=PreparationStatus.HANDED_OVER)
    PreparationFactory.create(order__branch=branch, order__status=OrderStatus.DELIVERED)
    finished = PreparationFactory.create(order__branch=branch)
    DeliveryFactory.create(order=finished.order, status=DeliveryStatus.DELIVERED)
    PreparationFactory.create()  # another branch

    response = staff_api.get(LIST_URL.format(branch.pk))

    assert response.status_code == 200
    assert [p["id"] for p in response.json()] == [first.pk, second.pk]
    assert response.json()[1]["status"] == "collecting"


def test_list_reads_a_fixed_number_of_queries(staff_api: APIClient, branch: Branch) -> None:
    for _ in range(2):
        preparation = PreparationFactory.create(order__branch=branch)
        DeliveryFactory.create(order=preparation.order)
    with CaptureQueriesContext(connection) as few:
        assert len(staff_api.get(LIST_URL.format(branch.pk)).json()) == 2
    for _ in range(6):
        preparation = PreparationFactory.create(order__branch=branch)
        DeliveryFactory.create(order=preparation.order)
    with CaptureQueriesContext(connection) as many:
        assert len(staff_api.get(LIST_URL.format(branch.pk)).json()) == 8
    assert len(many.captured_queries) == len(few.captured_queries)


def test_list_with_token(branch: Branch, staff: Any) -> None:
    PreparationFactory.create(order__branch=branch)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=staff)}")
    assert client.get(LIST_URL.format(branch.pk)).status_code == 200


def test_other_branch_staff_cannot_list(branch: Branch, other_staff: Any) -> None:
    client = APIClient()
    client.force_authenticate(user=other_staff)
    response = client.get(LIST_URL.format(branch.pk))
    assert response.status_code == 403
    assert error_code(response) == "forbidden"


def test_anonymous_cannot_list(branch: Branch) -> None:
    response = APIClient().get(LIST_URL.format(branch.pk))
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"


@pytest.mark.parametrize("branch_id", ["999999", str(2**70)])
def test_unknown_or_huge_branch_is_forbidden(staff_api: APIClient, branch_id: str) -> None:
    assert staff_api.get(LIST_URL.format(branch_id)).status_code == 403


# --- PATCH ----------------------------------------------------------------------------------------


def test_staff_move_preparation_through_every_status(staff_api: APIClient, branch: Branch) -> None:
    preparation = PreparationFactory.create(order__branch=branch)
    for status in ("collecting", "ready", "handed_over"):
        response = staff_api.patch(PATCH_URL.format(preparation.pk), {"status": status}, format="json")
        assert response.status_code == 200
        assert response.json()["status"] == status
        assert response.json()["id"] == preparation.pk
    preparation.refresh_from_db()
    assert preparation.collecting_at is not None
    assert preparation.ready_at is not None
    assert preparation.handed_over_at is not None
    assert preparation.version == 4
    assert response.json()["active"] is False


def test_repeating_the_current_status_changes_nothing(staff_api: APIClient, branch: Branch) -> None:
    preparation = PreparationFactory.create(order__branch=branch, status=PreparationStatus.COLLECTING)
    response = staff_api.patch(PATCH_URL.format(preparation.pk), {"status": "collecting"}, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "collecting"
    preparation.refresh_from_db()
    assert preparation.version == 1
    assert preparation.collecting_at is None


@pytest.mark.parametrize(
    ("current", "target"),
    [("collecting", "received"), ("received", "ready"), ("received", "handed_over"), ("handed_over", "ready")],
)
def test_backwards_or_skipping_is_an_invalid_transition(
    staff_api: APIClient, branch: Branch, current: str, target: str
) -> None:
    preparation = PreparationFactory.create(order__branch=branch, status=current)
    response = staff_api.patch(PATCH_URL.format(preparation.pk), {"status": target}, format="json")
    assert response.status_code == 409
    assert error_code(response) == "invalid_transition"
    preparation.refresh_from_db()
    assert (preparation.status, preparation.version) == (current, 1)


@pytest.mark.parametrize("body", [{"status": "cooking"}, {"status": ""}, {}, {"status": ["ready"]}, ["ready"]])
def test_bad_status_is_a_validation_error(staff_api: APIClient, branch: Branch, body: Any) -> None:
    preparation = PreparationFactory.create(order__branch=branch)
    response = staff_api.patch(PATCH_URL.format(preparation.pk), body, format="json")
    assert response.status_code == 400
    assert error_code(response) == "validation"
    preparation.refresh_from_db()
    assert preparation.status == "received"


def test_malformed_json_is_rejected(staff_api: APIClient, branch: Branch) -> None:
    preparation = PreparationFactory.create(order__branch=branch)
    response = staff_api.generic(
        "PATCH", PATCH_URL.format(preparation.pk), "{not json", content_type="application/json"
    )
    assert response.status_code == 400


def test_other_branch_staff_cannot_patch(branch: Branch, other_staff: Any) -> None:
    preparation = PreparationFactory.create(order__branch=branch)
    client = APIClient()
    client.force_authenticate(user=other_staff)
    response = client.patch(PATCH_URL.format(preparation.pk), {"status": "collecting"}, format="json")
    assert response.status_code == 403
    assert error_code(response) == "forbidden"
    preparation.refresh_from_db()
    assert preparation.status == "received"


def test_anonymous_cannot_patch(branch: Branch) -> None:
    preparation = PreparationFactory.create(order__branch=branch)
    response = APIClient().patch(PATCH_URL.format(preparation.pk), {"status": "collecting"}, format="json")
    assert response.status_code == 401
    assert error_code(response) == "unauthenticated"


@pytest.mark.parametrize("preparation_id", ["999999", str(2**70)])
def test_unknown_preparation_is_not_found(staff_api: APIClient, preparation_id: str) -> None:
    response = staff_api.patch(PATCH_URL.format(preparation_id), {"status": "collecting"}, format="json")
    assert response.status_code == 404
    assert error_code(response) == "not_found"


def test_patch_with_token(branch: Branch, staff: Any) -> None:
    preparation = PreparationFactory.create(order__branch=branch)
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=staff)}")
    response = client.patch(PATCH_URL.format(preparation.pk), {"status": "collecting"}, format="json")
    assert response.status_code == 200


def test_session_patch_needs_the_csrf_token(branch: Branch, staff: Any) -> None:
    preparation = PreparationFactory.create(order__branch=branch)
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff)

    refused = client.patch(PATCH_URL.format(preparation.pk), {"status": "collecting"}, format="json")
    assert refused.status_code == 403
    preparation.refresh_from_db()
    assert preparation.status == "received"

    page = client.get(f"/restaurant/branches/{branch.pk}/")
    token = page.cookies["csrftoken"].value
    accepted = client.patch(
        PATCH_URL.format(preparation.pk), {"status": "collecting"}, format="json", HTTP_X_CSRFTOKEN=token
    )
    assert accepted.status_code == 200


def test_collecting_moves_the_drivers_trip_to_ready_to_collect(staff_api: APIClient, branch: Branch) -> None:
    preparation = PreparationFactory.create(order__branch=branch)
    delivery = DeliveryFactory.create(order=preparation.order)

    response = staff_api.patch(PATCH_URL.format(preparation.pk), {"status": "collecting"}, format="json")

    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.READY_TO_COLLECT
    assert delivery.collecting_at is not None
    assert response.json()["driver"]["delivery_status"] == "ready_to_collect"


def test_collecting_without_a_delivery_still_succeeds(staff_api: APIClient, branch: Branch) -> None:
    preparation = PreparationFactory.create(order__branch=branch, kind="pickup")
    response = staff_api.patch(PATCH_URL.format(preparation.pk), {"status": "collecting"}, format="json")
    assert response.status_code == 200
    assert response.json()["driver"] is None


def test_a_move_is_broadcast_to_the_branch_after_commit(
    staff_api: APIClient, branch: Branch, django_capture_on_commit_callbacks: Any
) -> None:
    preparation = PreparationFactory.create(order__branch=branch)

    layer = get_channel_layer()
    channel = async_to_sync(listen)(branch.pk)
    with django_capture_on_commit_callbacks(execute=True):
        staff_api.patch(PATCH_URL.format(preparation.pk), {"status": "collecting"}, format="json")
    message = async_to_sync(layer.receive)(channel)

    assert message["type"] == "preparation.updated"
    assert message["preparation"]["id"] == preparation.pk
    assert message["preparation"]["status"] == "collecting"


def test_nothing_is_broadcast_when_the_move_is_refused(
    staff_api: APIClient, branch: Branch, django_capture_on_commit_callbacks: Any
) -> None:
    preparation = PreparationFactory.create(order__branch=branch)
    with django_capture_on_commit_callbacks() as callbacks:
        staff_api.patch(PATCH_URL.format(preparation.pk), {"status": "ready"}, format="json")
    assert callbacks == []
    assert Preparation.objects.get(pk=preparation.pk).status == "received"


def test_placing_an_order_broadcasts_its_preparation(
    api_client: APIClient, branch: Branch, django_capture_on_commit_callbacks: Any
) -> None:
    customer = CustomerFactory.create()
    menu_item = MenuItemFactory.create()
    layer = get_channel_layer()
    channel = async_to_sync(listen)(branch.pk)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=customer.user)}")
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(
            "/api/orders/",
            {
                "branch_id": branch.pk,
                "latitude": 21.5,
                "longitude": 39.2,
                "items": [{"menu_item_id": menu_item.pk, "quantity": 3}],
            },
            format="json",
        )
    assert response.status_code == 201
    message = async_to_sync(layer.receive)(channel)
    assert message["preparation"]["order"]["albaik_identifier"] == response.json()["albaik_identifier"]
    assert message["preparation"]["order"]["items"] == [{"name": menu_item.name, "quantity": 3}]
    assert message["preparation"]["status"] == "received"
