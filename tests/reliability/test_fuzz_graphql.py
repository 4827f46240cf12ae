"""Property-based fuzzing of the GraphQL driver API.

Documents are generated from the schema's own types (fields, aliases, fragments, nesting,
arguments as hostile literals or variables), then some are mangled character by character;
variables are hostile JSON. No answer may be a 5xx, an error never carries internal text, and
a refused request (HTTP 4xx, or every mutation answering `errors`) changes nothing.
"""

import json
from typing import Any

import pytest
from graphql import GraphQLEnumType, GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLScalarType
from hypothesis import given
from hypothesis import strategies as st
from rest_framework.test import APIClient

from delivery.models import Delivery, DeliveryStatusChange, Driver, DriverStatusChange
from delivery.services.accounts import token_issue
from driver_api.schema import schema
from events.models import OutboxEvent
from tests.reliability.fuzzing import HOSTILE_NUMBER, HOSTILE_TEXT, JSON_VALUE, Tally, dumps, fuzz_settings
from tests.reliability.report import scale

EXAMPLES = scale(60, 3500)
GRAPHQL_SCHEMA = schema.graphql_schema
INTERNAL_TEXT = ("Traceback", "psycopg", "NUL (0x00)", "has no len()", "object of type", "Did you mean")


def unwrap(type_: Any) -> Any:
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        type_ = type_.of_type
    return type_


def literal(type_: Any) -> st.SearchStrategy[str]:
    """A GraphQL literal: often of the right type, often not."""
    named = unwrap(type_)
    text = HOSTILE_TEXT.map(lambda s: json.dumps(s.encode("utf-8", "replace").decode("utf-8")))
    numbers = HOSTILE_NUMBER.map(lambda n: str(n) if not isinstance(n, float) else repr(n))
    if isinstance(named, GraphQLEnumType):
        return st.sampled_from(list(named.values)) | text | st.sampled_from(["DELIVERD", "null"])
    if isinstance(named, GraphQLScalarType) and named.name in {"Float", "Int"}:
        return numbers | text | st.sampled_from(["null", "true", "[1]"])
    return text | numbers | st.sampled_from(["null", "{a: 1}", "[]"])


@st.composite
def selection(draw: st.DrawFn, type_: GraphQLObjectType, depth: int, aliases: list[int]) -> str:
    fields = list(type_.fields.items())
    picked = draw(st.lists(st.sampled_from(fields), min_size=1, max_size=4))
    parts = []
    for name, field in picked:
        alias = ""
        if draw(st.integers(0, 5)) == 0:
            aliases[0] += 1
            alias = f"a{aliases[0]}: "
        arguments = ""
        if field.args and draw(st.integers(0, 4)) > 0:
            chosen = draw(st.lists(st.sampled_from(list(field.args.items())), unique_by=lambda a: a[0], min_size=1))
            arguments = "(" + ", ".join(f"{arg}: {draw(literal(spec.type))}" for arg, spec in chosen) + ")"
        target = unwrap(field.type)
        sub = ""
        if isinstance(target, GraphQLObjectType):
            if depth > 12 or draw(st.integers(0, 6)) == 0:
                sub = "{ __typename }"
            else:
                sub = "{ " + draw(selection(target, depth + 1, aliases)) + " }"
        parts.append(f"{alias}{name}{arguments} {sub}".strip())
    if draw(st.integers(0, 8)) == 0:
        parts.append("__typename")
    return " ".join(parts)


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(["query", "mutation", "mutation", "variables", "mangled", "raw", "repeat"]))
    aliases = [0]
    if kind in {"query", "mutation", "mangled"}:
        root = GRAPHQL_SCHEMA.query_type if kind == "query" else GRAPHQL_SCHEMA.mutation_type
        assert root is not None
        document = f"{kind if kind != 'mangled' else 'mutation'} {{ {draw(selection(root, 1, aliases))} }}"
        if kind == "mangled":
            position = draw(st.integers(0, len(document)))
            document = (
                document[:position]
                + draw(st.sampled_from(["{", "}", "(", "$", "...", "\\", '"', "#"]))
                + (document[position + draw(st.integers(0, 3)) :])
            )
        return document, None
    if kind == "variables":
        document = (
            "mutation M($id: String!, $status: DeliveryUpdate!, $reason: String, $lat: Float!, $lng: Float!) "
            "{ updateOrder(albaikIdentifier: $id, status: $status, reason: $reason) { errors { code field } } "
            "updateDriverProfile(latitude: $lat, longitude: $lng) { ok errors { code } } }"
        )
        names = ["id", "status", "reason", "lat", "lng"]
        variables = draw(st.dictionaries(st.sampled_from(names), JSON_VALUE | st.sampled_from(["DELIVERED", 1.5])))
        return document, draw(st.just(variables) | JSON_VALUE)
    if kind == "repeat":
        field = draw(st.sampled_from(["currentTrip { id }", "updateDriverProfile(latitude: 1, longitude: 2) { ok }"]))
        count = draw(st.integers(1, 400))
        operation = "mutation" if field.startswith("update") else "query"
        return operation + " { " + " ".join(f"x{i}: {field}" for i in range(count)) + " }", None
    return draw(
        HOSTILE_TEXT | st.sampled_from(["{", "{ currentTrip { " * 50, "query { __schema { types { name } } }"])
    ), None


def state() -> tuple[Any, ...]:
    return (
        tuple(Driver.objects.order_by("pk").values_list("status", "latitude", "longitude")),
        tuple(Delivery.objects.order_by("pk").values_list("status", "arrived_at")),
        DeliveryStatusChange.objects.count(),
        DriverStatusChange.objects.count(),
        OutboxEvent.objects.count(),
    )


def refused(status: int, body: Any) -> bool:
    """A 4xx, or an answer whose every root payload carries errors (so nothing ran to completion)."""
    if 400 <= status < 500:
        return True
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not data:
        return isinstance(body, dict) and bool(body.get("errors"))
    payloads = list(data.values())
    return all(isinstance(p, dict) and p.get("errors") for p in payloads)


@pytest.mark.django_db
def test_fuzz_graphql(settings: Any, driver: Any, place_order: Any) -> None:
    settings.DEBUG = False
    place_order()
    client: Any = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=driver.user)}")
    tally = Tally(drill="fuzz GraphQL")

    @given(documents(), st.sampled_from(["application/json", "application/graphql"]))
    @fuzz_settings(EXAMPLES)
    def send(request: tuple[str, Any], content_type: str) -> None:
        document, variables = request
        if content_type == "application/graphql":
            payload = document.encode("utf-8", "surrogatepass")
        else:
            payload = dumps({"query": document, "variables": variables})
        before = state()
        response = client.generic("POST", "/graphql/", payload, content_type=content_type)
        text = response.content.decode("utf-8", "replace")
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        leaked = any(marker in text for marker in INTERNAL_TEXT)
        tally.check(
            request=f"{document[:300]!r} {variables!r:.100}",
            status=500 if leaked else response.status_code,
            before=before,
            after=state(),
            rejected=refused(response.status_code, body),
        )

    send()
    tally.finish()
