"""Hostile documents: size, depth, aliases and cost refused before execution; introspection, suggestions and
internal text kept from clients; string arguments bounded."""

import logging
from typing import Any

import pytest
from rest_framework.test import APIClient

from delivery.models import Delivery, DeliveryFailure, Driver
from driver_api import limits
from tests.driver_api.queries import CURRENT_TRIP, UPDATE_ORDER

pytestmark = pytest.mark.django_db


def post(driver_app: Any, query: Any, **variables: Any) -> Any:
    return driver_app.client.post("/graphql/", {"query": query, "variables": variables}, format="json")


def codes(response: Any) -> list[str]:
    return [error["extensions"]["code"] for error in response.json()["errors"]]


def test_hundreds_of_aliases_are_refused_before_running(driver_app, django_assert_max_num_queries):
    aliases: list[str] = []
    while len("{" + " ".join([*aliases, "a0:currentTrip{id}"]) + "}") < limits.MAX_DOCUMENT_BYTES:
        aliases.append(f"a{len(aliases)}:currentTrip{{id}}")
    query = "{" + " ".join(aliases) + "}"
    assert len(aliases) > 400
    with django_assert_max_num_queries(1):  # the token, nothing else
        response = post(driver_app, query)
    assert response.status_code == 400
    assert codes(response) == ["QUERY_TOO_COMPLEX"]


def test_more_than_twenty_aliases_are_too_complex(driver_app):
    query = "{ " + " ".join(f"a{i}: __typename" for i in range(limits.MAX_ALIASES + 1)) + " }"
    response = post(driver_app, query)
    assert response.status_code == 400
    assert codes(response) == ["QUERY_TOO_COMPLEX"]
    allowed = "{ " + " ".join(f"a{i}: __typename" for i in range(limits.MAX_ALIASES)) + " }"
    assert post(driver_app, allowed).status_code == 200


def test_aliased_mutations_write_nothing(driver_app):
    driver: Driver = driver_app.driver
    before = (driver.latitude, driver.longitude)
    query = (
        "mutation { "
        + " ".join(f"m{i}: updateDriverProfile(latitude: 1, longitude: 1) {{ ok }}" for i in range(100))
        + " }"
    )
    response = post(driver_app, query)
    assert response.status_code == 400
    assert codes(response) == ["QUERY_TOO_COMPLEX"]
    driver.refresh_from_db()
    assert (driver.latitude, driver.longitude) == before


def test_aliases_inside_fragments_count_each_time_they_are_spread(driver_app):
    query = "fragment F on Order { a: id b: id c: id d: id e: id f: id }\n{ currentTrip { ...F ...F ...F ...F } }"
    response = post(driver_app, query)
    assert response.status_code == 400
    assert codes(response) == ["QUERY_TOO_COMPLEX"]


def test_documents_deeper_than_ten_levels_are_too_complex(driver_app):
    nested = "query { " + "currentTrip { " * 11 + "id" + " }" * 11 + " }"
    response = post(driver_app, nested)
    assert response.status_code == 400
    assert "QUERY_TOO_COMPLEX" in codes(response)


def test_a_cost_over_the_limit_is_too_complex(driver_app):
    assert post(driver_app, CURRENT_TRIP).status_code == 200
    fragment = "fragment F on Order { " + "id " * 60 + "}\n"
    query = fragment + "{ currentTrip { ...F ...F ...F ...F } }"
    response = post(driver_app, query)
    assert response.status_code == 400
    assert codes(response) == ["QUERY_TOO_COMPLEX"]


def test_documents_over_ten_kilobytes_are_refused(driver_app):
    query = "{ currentTrip { id } }" + " " * limits.MAX_DOCUMENT_BYTES
    response = post(driver_app, query)
    assert response.status_code == 400
    assert codes(response) == ["QUERY_TOO_COMPLEX"]


@pytest.mark.parametrize("query", [5, ["{ currentTrip { id } }"], {"q": 1}, True])
def test_a_query_that_is_not_a_string_is_a_400_without_internal_text(driver_app, query):
    response = driver_app.client.post("/graphql/", {"query": query}, format="json")
    assert response.status_code == 400
    assert codes(response) == ["BAD_REQUEST"]
    assert "len()" not in response.content.decode()


def test_variables_that_are_not_an_object_are_a_400(driver_app):
    response = driver_app.client.post("/graphql/", {"query": CURRENT_TRIP, "variables": [1]}, format="json")
    assert response.status_code == 400
    assert codes(response) == ["BAD_REQUEST"]


@pytest.mark.parametrize("debug", [False, True])
def test_introspection_only_with_debug(driver_app, settings, debug):
    settings.DEBUG = debug
    response = post(driver_app, "{ __schema { types { name } } }")
    if debug:
        assert response.status_code == 200
        assert response.json()["data"]["__schema"]["types"]
    else:
        assert response.status_code == 400
        assert "data" not in response.json()
    assert post(driver_app, "{ __typename }").status_code == 200


def test_no_suggestions_without_debug(driver_app, settings):
    settings.DEBUG = False
    response = post(driver_app, "{ curentTrip { id } }")
    assert response.status_code == 400
    assert "Did you mean" not in response.content.decode()
    assert "currentTrip" not in response.content.decode()
    assert codes(response) == ["GRAPHQL_VALIDATION_FAILED"]
    settings.DEBUG = True
    assert "Did you mean" in post(driver_app, "{ curentTrip { id } }").content.decode()


def test_enum_suggestions_are_dropped_too(driver_app, settings):
    settings.DEBUG = False
    response = post(driver_app, UPDATE_ORDER, albaikIdentifier="ALB-1", status="DELIVERD")
    assert response.status_code == 400
    assert "Did you mean" not in response.content.decode()


def test_a_reason_over_500_characters_is_validation(driver_app, place_order):
    order = place_order()
    identifier = order.albaik_identifier
    response = post(driver_app, UPDATE_ORDER, albaikIdentifier=identifier, status="FAILED", reason="x" * 501)
    assert response.status_code == 200
    errors = response.json()["data"]["updateOrder"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("reason", "VALIDATION")]
    assert Delivery.objects.get(order=order).status == "assigned"
    assert not DeliveryFailure.objects.exists()
    fine = post(driver_app, UPDATE_ORDER, albaikIdentifier=identifier, status="FAILED", reason="x" * 500)
    assert "VALIDATION" not in [e["code"] for e in fine.json()["data"]["updateOrder"]["errors"]]


def test_other_string_arguments_over_200_characters_are_validation(driver_app):
    response = post(driver_app, UPDATE_ORDER, albaikIdentifier="A" * 201, status="DELIVERED")
    assert response.status_code == 200
    errors = response.json()["data"]["updateOrder"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("albaikIdentifier", "VALIDATION")]


def test_a_nul_byte_is_validation_and_the_database_message_never_leaks(driver_app):
    response = post(driver_app, UPDATE_ORDER, albaikIdentifier="ALB\u0000", status="DELIVERED")
    assert response.status_code == 200
    errors = response.json()["data"]["updateOrder"]["errors"]
    assert [(e["field"], e["code"]) for e in errors] == [("albaikIdentifier", "VALIDATION")]
    assert "NUL (0x00)" not in response.content.decode()


def test_internal_errors_are_logged_with_a_request_id_and_never_shown(driver_app, monkeypatch, caplog):
    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr("driver_api.schema.current_trip_for_driver", explode)
    with caplog.at_level(logging.ERROR, logger="driver_api.limits"):
        response = driver_app.client.post(
            "/graphql/", {"query": CURRENT_TRIP}, format="json", HTTP_X_REQUEST_ID="req-42"
        )
    assert "secret internal detail" not in response.content.decode()
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "request_id": "req-42"}
    assert any("req-42" in record.getMessage() and record.exc_info for record in caplog.records)


def test_non_utf8_graphql_bodies_are_a_400(driver_app):
    response = driver_app.client.generic(
        "POST", "/graphql/", b"\xff\xfe{ currentTrip { id } }", content_type="application/graphql"
    )
    assert response.status_code == 400
    assert codes(response) == ["BAD_REQUEST"]


def test_unauthenticated_requests_are_still_401_first():
    response = APIClient().post("/graphql/", {"query": "{ __schema { types { name } } }"}, format="json")
    assert response.status_code == 401


def test_extra_rules_follow_debug(settings):
    settings.DEBUG = False
    assert limits.QueryComplexityRule in limits.extra_rules()
    assert len(limits.extra_rules()) == 2
    settings.DEBUG = True
    assert limits.extra_rules() == (limits.QueryComplexityRule,)
