"""Property-based fuzzing of the REST API, driven by its OpenAPI schema (`/api/schema/`).

Every operation the schema lists (webhooks have their own fuzzer) gets generated path parameters,
credentials and bodies: bodies shaped by the operation's request schema with hostile values, any
JSON, and raw bytes. No answer may be a 5xx, and a rejected request changes nothing.
"""

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from knox.models import AuthToken
from rest_framework.test import APIClient

from delivery.models import Delivery, Order, OrderItem, Preparation
from delivery.services.accounts import token_issue
from tests.factories import PASSWORD, BranchFactory, CustomerFactory, DriverFactory, MenuItemFactory, UserFactory
from tests.reliability.fuzzing import (
    CONTENT_TYPES,
    HOSTILE_NUMBER,
    HOSTILE_TEXT,
    JSON_VALUE,
    RAW_BODY,
    Tally,
    dumps,
    fuzz_settings,
)
from tests.reliability.report import scale

EXAMPLES = scale(60, 4000)


def operations(schema: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(method, path template, request body property names) of every REST operation but the webhooks."""
    found = []
    components = schema.get("components", {}).get("schemas", {})
    for path, item in sorted(schema["paths"].items()):
        if path.startswith("/webhooks/"):
            continue
        for method, operation in sorted(item.items()):
            content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            ref = content.get("schema", {}).get("$ref", "")
            properties = components.get(ref.rsplit("/", 1)[-1], {}).get("properties", {})
            found.append((method.upper(), path, sorted(properties)))
    return found


def state() -> tuple[Any, ...]:
    """Everything a REST request could change."""
    return (
        Order.objects.count(),
        OrderItem.objects.count(),
        Delivery.objects.count(),
        AuthToken.objects.count(),
        tuple(Preparation.objects.order_by("pk").values_list("status", "version")),
    )


@pytest.mark.django_db
def test_fuzz_rest_api(settings: Any) -> None:
    settings.THROTTLE_RATES = {"login_account": "100000/min", "login_address": "100000/min", "webhook": "100000/min"}
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    ops = operations(schema)
    assert {path for _, path, _ in ops} >= {
        "/api/sessions/",
        "/api/orders/",
        "/restaurant/preparations/{preparation_id}/",
    }

    branch = BranchFactory.create()
    menu = [MenuItemFactory.create() for _ in range(2)]
    customer = CustomerFactory.create()
    staff = UserFactory.create()
    branch.staff.add(staff)
    driver = DriverFactory.create()
    order_ids = ["ALB-NONE"]
    tokens = {
        "customer": token_issue(user=customer.user),
        "staff": token_issue(user=staff),
        "driver": token_issue(user=driver.user),
    }
    # Known values, so some generated requests get past validation and reach the services.
    known: dict[str, list[Any]] = {
        "phone": [customer.telephone, driver.phone],
        "username": [staff.username],
        "password": [PASSWORD, "wrong"],
        "branch_id": [branch.pk],
        "menu_item_id": [item.pk for item in menu],
        "status": ["collecting", "ready", "handed_over", "received"],
        "preparation_id": [],
        "albaik_identifier": order_ids,
    }
    tally = Tally(drill="fuzz REST (schema-driven)")

    def value_for(name: str) -> st.SearchStrategy[Any]:
        if name == "items":
            item = st.fixed_dictionaries(
                {
                    "menu_item_id": st.sampled_from(known["menu_item_id"]) | HOSTILE_NUMBER,
                    "quantity": st.integers(min_value=-2, max_value=1002) | HOSTILE_NUMBER,
                }
            )
            return st.lists(item | JSON_VALUE, max_size=3) | JSON_VALUE
        choices = known.get(name) or []
        generic = HOSTILE_NUMBER if name.endswith(("_id", "itude")) else HOSTILE_TEXT
        return (st.sampled_from(choices) | generic) if choices else (generic | JSON_VALUE)

    @st.composite
    def requests(draw: st.DrawFn) -> tuple[str, str, str, bytes, str]:
        method, template, properties = draw(st.sampled_from(ops))
        path = template
        for name in ("branch_id", "preparation_id", "albaik_identifier"):
            if "{" + name + "}" in path:
                raw = draw(st.sampled_from(known[name] or [1]) | HOSTILE_TEXT | HOSTILE_NUMBER)
                path = path.replace("{" + name + "}", quote(str(raw).encode("utf-8", "surrogatepass"), safe="") or "x")
        auth = draw(st.sampled_from(["customer", "staff", "driver", "none", "garbage"]))
        kind = draw(st.sampled_from(["shaped", "shaped", "json", "raw"]))
        if kind == "shaped" and properties:
            chosen = draw(st.lists(st.sampled_from(properties), unique=True))
            body: Any = {name: draw(value_for(name)) for name in chosen}
            payload, content_type = dumps(body), "application/json"
        elif kind == "raw":
            payload, content_type = draw(RAW_BODY), draw(CONTENT_TYPES)
        else:
            payload, content_type = dumps(draw(JSON_VALUE)), "application/json"
        return method, path, auth, payload, content_type

    @given(requests())
    @fuzz_settings(EXAMPLES)
    def send(request: tuple[str, str, str, bytes, str]) -> None:
        method, path, auth, payload, content_type = request
        client: Any = APIClient(raise_request_exception=False)
        if auth == "garbage":
            client.credentials(HTTP_AUTHORIZATION="Token \x7f" + "g" * 40)
        elif auth != "none":
            # Logging out revokes the token in hand: give DELETE a token of its own.
            token = token_issue(user=customer.user) if method == "DELETE" else tokens[auth]
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        before = state()
        response = client.generic(method, path, payload, content_type=content_type)
        if response.status_code == 201 and path == "/api/orders/":
            order_ids.append(response.json()["albaik_identifier"])
            known["preparation_id"] = list(Preparation.objects.values_list("pk", flat=True))
        tally.check(
            request=f"{method} {path} {payload[:200]!r}", status=response.status_code, before=before, after=state()
        )

    send()
    tally.finish()
