from decimal import Decimal

import pytest

from delivery.models import Order, OrderItem, Preparation
from delivery.services.accounts import token_issue
from tests.factories import BranchFactory, CustomerFactory, DriverFactory, MenuItemFactory


@pytest.fixture
def customer_client(api_client):
    customer = CustomerFactory.create()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=customer.user)}")
    api_client.customer = customer
    return api_client


@pytest.fixture
def menu():
    return [MenuItemFactory.create(price=Decimal("18.00")), MenuItemFactory.create(price=Decimal("1.50"))]


def order_body(branch, menu, **overrides):
    body = {
        "branch_id": branch.pk,
        "latitude": 21.55,
        "longitude": 39.18,
        "items": [{"menu_item_id": menu[0].pk, "quantity": 2}, {"menu_item_id": menu[1].pk, "quantity": 3}],
    }
    body.update(overrides)
    return body


@pytest.mark.django_db
def test_customer_places_an_order_priced_from_the_menu(customer_client, menu):
    branch = BranchFactory.create()
    body = order_body(branch, menu)
    body["items"][0]["price"] = "0.01"  # a client-sent price is ignored
    body["total"] = "0.01"
    response = customer_client.post("/api/orders/", body, format="json")
    assert response.status_code == 201
    created = response.json()
    assert created["total"] == "40.50"
    assert created["status"] == "placed"
    assert created["albaik_identifier"].startswith("ALB-")
    order = Order.objects.get(pk=created["id"])
    assert order.customer == customer_client.customer
    assert [(i.quantity, i.total) for i in order.items.all()] == [(2, Decimal("36.00")), (3, Decimal("4.50"))]
    assert Preparation.objects.get(order=order).status == "received"


@pytest.mark.django_db
def test_customer_reads_their_order_back(customer_client, menu):
    created = customer_client.post("/api/orders/", order_body(BranchFactory.create(), menu), format="json").json()
    response = customer_client.get(f"/api/orders/{created['albaik_identifier']}/")
    assert response.status_code == 200
    body = response.json()
    assert body["albaik_identifier"] == created["albaik_identifier"]
    assert body["total"] == "40.50"
    assert body["delivery"] is None
    assert [item["quantity"] for item in body["items"]] == [2, 3]


@pytest.mark.django_db
def test_another_customers_order_is_404(customer_client, menu, api_client):
    created = customer_client.post("/api/orders/", order_body(BranchFactory.create(), menu), format="json").json()
    other = CustomerFactory.create()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=other.user)}")
    response = api_client.get(f"/api/orders/{created['albaik_identifier']}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"branch_id": 999999}, "branch_id"),
        ({"items": []}, "items"),
        ({"items": [{"menu_item_id": 999999, "quantity": 1}]}, "items"),
        ({"items": [{"menu_item_id": "MENU0", "quantity": 0}]}, "items"),
        ({"items": [{"menu_item_id": "MENU0", "quantity": -1}]}, "items"),
        ({"latitude": 91}, "latitude"),
        ({"longitude": -180.5}, "longitude"),
        ({"latitude": "north"}, "latitude"),
        ({"items": "lots"}, "items"),
    ],
    ids=[
        "unknown-branch",
        "empty-items",
        "unknown-item",
        "zero-quantity",
        "negative-quantity",
        "latitude-out-of-range",
        "longitude-out-of-range",
        "latitude-not-a-number",
        "items-not-a-list",
    ],
)
def test_invalid_order_is_400_and_writes_nothing(customer_client, menu, change, field):
    branch = BranchFactory.create()
    if "items" in change and isinstance(change["items"], list):
        change = {
            "items": [dict(i, menu_item_id=menu[0].pk) if i["menu_item_id"] == "MENU0" else i for i in change["items"]]
        }
    response = customer_client.post("/api/orders/", order_body(branch, menu, **change), format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation"
    assert field in error["fields"]
    assert not Order.objects.exists()
    assert not OrderItem.objects.exists()


@pytest.mark.django_db
def test_branch_not_accepting_orders_is_400(customer_client, menu):
    branch = BranchFactory.create(accepting_orders=False)
    response = customer_client.post("/api/orders/", order_body(branch, menu), format="json")
    assert response.status_code == 400
    assert "branch_id" in response.json()["error"]["fields"]


@pytest.mark.django_db
def test_placing_an_order_needs_a_token(api_client, menu):
    response = api_client.post("/api/orders/", order_body(BranchFactory.create(), menu), format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.django_db
def test_a_bad_token_is_401(api_client, menu):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = api_client.post("/api/orders/", order_body(BranchFactory.create(), menu), format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.django_db
def test_a_driver_cannot_place_orders(api_client, menu):
    driver = DriverFactory.create()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=driver.user)}")
    response = api_client.post("/api/orders/", order_body(BranchFactory.create(), menu), format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert not Order.objects.exists()
