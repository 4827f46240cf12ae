"""Every endpoint refuses oversized, non-UTF-8, malformed and deeply nested bodies with a 4xx, never a 5xx."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from delivery.models import Order, Preparation
from delivery.services.accounts import token_issue
from tests.factories import BranchFactory, CustomerFactory, DriverFactory, PreparationFactory, UserFactory

pytestmark = pytest.mark.django_db

ONE_MB = 1024 * 1024


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def rest_endpoint(method: str, path: str, token: str | None) -> Callable[[bytes, str], Any]:
    def send(body: bytes, content_type: str) -> Any:
        client: Any = APIClient()
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client.generic(method, path, body, content_type=content_type)

    return send


@pytest.fixture(params=["sessions", "orders", "preparation", "graphql", "webhook"])
def endpoint(request: Any) -> tuple[str, Callable[[bytes, str], Any]]:
    name = request.param
    if name == "sessions":
        return name, rest_endpoint("POST", "/api/sessions/", None)
    if name == "orders":
        return name, rest_endpoint("POST", "/api/orders/", token_issue(user=CustomerFactory.create().user))
    if name == "preparation":
        branch = BranchFactory.create()
        staff = UserFactory.create()
        branch.staff.add(staff)
        preparation = PreparationFactory.create(order__branch=branch)
        return name, rest_endpoint("PATCH", f"/restaurant/preparations/{preparation.pk}/", token_issue(user=staff))
    if name == "graphql":
        return name, rest_endpoint("POST", "/graphql/", token_issue(user=DriverFactory.create().user))
    return name, rest_endpoint("PATCH", "/webhooks/rappi/R-1/couriers/at_hub/", None)


def error_code(name: str, response: Any) -> str:
    body = response.json()
    if name == "graphql":
        return body["errors"][0]["extensions"]["code"]
    return body["error"]["code"]


def snapshot() -> tuple[int, list[str]]:
    return Order.objects.count(), list(Preparation.objects.order_by("pk").values_list("status", flat=True))


@pytest.mark.parametrize(
    ("body", "content_type", "code", "graphql_code"),
    [
        (b"[" * 4000, "application/json", "too_deep", "BAD_REQUEST"),
        (nested(4000), "application/json", "too_deep", "BAD_REQUEST"),
        (nested(65), "application/json", "too_deep", "BAD_REQUEST"),
        (b'{"a": ' * 65 + b"1" + b"}" * 65, "application/json", "too_deep", "BAD_REQUEST"),
        (b"\xff\xfe{}", "application/json", "malformed_body", "BAD_REQUEST"),
        (b'{"status": "\xc3\x28"}', "application/json; charset=utf-8", "malformed_body", "BAD_REQUEST"),
        (b"{not json", "application/json", "malformed_json", "BAD_REQUEST"),
        (b'{"status": NaN}', "application/json", "malformed_json", "BAD_REQUEST"),
        (b"\xff{ currentTrip { id } }", "application/graphql", "malformed_body", "BAD_REQUEST"),
    ],
    ids=["brackets", "nested-4000", "nested-65", "objects-65", "bom", "bad-utf8", "syntax", "nan", "graphql-bytes"],
)
def test_malformed_bodies_are_400_and_change_nothing(endpoint, body, content_type, code, graphql_code):
    name, send = endpoint
    before = snapshot()
    response = send(body, content_type)
    assert response.status_code == 400, response.content
    assert error_code(name, response) == (graphql_code if name == "graphql" else code)
    assert snapshot() == before


def test_bodies_over_one_megabyte_are_413(endpoint):
    name, send = endpoint
    body = json.dumps({"padding": "x" * ONE_MB}).encode()
    before = snapshot()
    response = send(body, "application/json")
    assert response.status_code == 413
    assert error_code(name, response) == ("PAYLOAD_TOO_LARGE" if name == "graphql" else "body_too_large")
    assert snapshot() == before


def test_sixty_four_levels_pass_the_limit(endpoint):
    name, send = endpoint
    response = send(nested(64), "application/json")
    assert response.status_code < 500
    if response.status_code == 400 and name != "graphql":
        assert error_code(name, response) != "too_deep"


def test_rest_errors_keep_the_error_shape():
    client: Any = APIClient()
    response = client.generic("POST", "/api/sessions/", b"[" * 4000, content_type="application/json")
    assert set(response.json()["error"]) == {"code", "message", "fields"}


@pytest.mark.parametrize(
    "path", ["/api/orders/ALB%00/", "/restaurant/branches/1%00/preparations/", "/webhooks/rappi/a%00/couriers/at_hub/"]
)
def test_a_nul_in_the_path_is_404_not_a_database_error(path):
    client: Any = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=CustomerFactory.create().user)}")
    response = client.generic(
        "GET" if "webhooks" not in path else "PATCH", path, b"{}", content_type="application/json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
