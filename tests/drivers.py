"""Driver-app fixtures shared by every test folder: a branch, available drivers, placing orders, GraphQL."""

from typing import Any

import pytest
from rest_framework.test import APIClient

from delivery.models import DriverStatus, Order
from delivery.services.accounts import token_issue
from delivery.services.orders import ItemRequest, order_place
from tests.factories import BranchFactory, CustomerFactory, DriverFactory, MenuItemFactory


class DriverClient:
    """The driver app: GraphQL over HTTP with the driver's token."""

    def __init__(self, driver: Any) -> None:
        self.driver = driver
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=driver.user)}")

    def execute(self, query: str, **variables: Any) -> dict[str, Any]:
        response = self.client.post("/graphql/", {"query": query, "variables": variables}, format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert "errors" not in body, body
        return body["data"]


@pytest.fixture
def branch():
    return BranchFactory.create(latitude=21.5433, longitude=39.1728)


@pytest.fixture
def make_driver(branch):
    def make(**overrides: Any):
        fields = {"status": DriverStatus.AVAILABLE, "latitude": branch.latitude + 0.01, "longitude": branch.longitude}
        fields.update(overrides)
        return DriverFactory.create(**fields)

    return make


@pytest.fixture
def driver(make_driver):
    return make_driver()


@pytest.fixture
def driver_app(driver):
    return DriverClient(driver)


@pytest.fixture
def place_order(branch, django_capture_on_commit_callbacks):
    """Place an order as a customer and run what happens on commit (trip assignment, eagerly)."""

    def place(*, customer: Any = None, quantity: int = 2) -> Order:
        customer = customer or CustomerFactory.create()
        item = MenuItemFactory.create()
        with django_capture_on_commit_callbacks(execute=True):
            order = order_place(
                customer=customer,
                branch_id=branch.pk,
                latitude=21.56,
                longitude=39.19,
                items=[ItemRequest(menu_item_id=item.pk, quantity=quantity)],
            )
        order.refresh_from_db()
        return order

    return place
