"""The token lookup (`auth_token_get`): one statement, knox's semantics, the user's driver/customer loaded."""

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from delivery.selectors.accounts import auth_token_get, user_for_token
from delivery.services.accounts import token_issue, token_revoke
from tests.driver_api.queries import CURRENT_TRIP
from tests.factories import CustomerFactory, DriverFactory, UserFactory

pytestmark = pytest.mark.django_db


def graphql_status(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.post("/graphql/", {"query": CURRENT_TRIP}, format="json").status_code


def test_a_drivers_token_gives_the_token_user_and_driver_in_one_query():
    driver = DriverFactory.create()
    raw = token_issue(user=driver.user)
    with CaptureQueriesContext(connection) as queries:
        token = auth_token_get(raw_token=raw)
        assert token is not None
        assert token.user.pk == driver.user_id
        assert token.user.driver.pk == driver.pk
        assert token.user.driver.phone == driver.phone
        assert token.user.driver.user is token.user
        assert token.user.is_active is True
        assert not hasattr(token.user, "customer")
    assert len(queries) == 1
    assert token.digest == AuthToken.objects.get(user=driver.user).digest
    assert token.created == AuthToken.objects.get(user=driver.user).created


def test_a_customers_token_gives_the_customer_and_no_driver():
    customer = CustomerFactory.create()
    raw = token_issue(user=customer.user)
    with CaptureQueriesContext(connection) as queries:
        user: Any = user_for_token(raw_token=raw)
        assert user is not None
        assert user.customer.pk == customer.pk
        assert user.customer.notify is customer.notify
        assert getattr(user, "driver", None) is None
    assert len(queries) == 1


def test_a_token_of_a_user_with_neither_gives_the_user():
    user = UserFactory.create()
    found = user_for_token(raw_token=token_issue(user=user))
    assert found is not None
    assert found.pk == user.pk
    assert found.get_username() == user.username
    assert getattr(found, "driver", None) is None
    assert getattr(found, "customer", None) is None


@pytest.mark.parametrize(
    "raw", ["", "garbage", "x" * 129, "tøken", "' OR 1=1 --", "a" * 64], ids=lambda raw: repr(raw[:12])
)
def test_unknown_or_malformed_tokens_give_nothing(raw):
    DriverFactory.create()
    assert auth_token_get(raw_token=raw) is None


def test_a_revoked_token_gives_nothing_and_is_401():
    driver = DriverFactory.create()
    kept, raw = token_issue(user=driver.user), token_issue(user=driver.user)
    token = auth_token_get(raw_token=raw)
    assert token is not None
    token_revoke(token=token)
    assert auth_token_get(raw_token=raw) is None
    assert graphql_status(raw) == 401
    assert graphql_status(kept) == 200


def test_an_expired_token_gives_nothing_and_is_401():
    driver = DriverFactory.create()
    raw = token_issue(user=driver.user)
    AuthToken.objects.filter(user=driver.user).update(expiry=timezone.now() + timedelta(minutes=5))
    assert auth_token_get(raw_token=raw) is not None
    assert graphql_status(raw) == 200
    AuthToken.objects.filter(user=driver.user).update(expiry=timezone.now() - timedelta(seconds=1))
    assert auth_token_get(raw_token=raw) is None
    assert graphql_status(raw) == 401


def test_an_inactive_users_token_gives_nothing_and_is_401():
    driver = DriverFactory.create()
    raw = token_issue(user=driver.user)
    driver.user.is_active = False
    driver.user.save(update_fields=["is_active"])
    assert auth_token_get(raw_token=raw) is None
    assert graphql_status(raw) == 401
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert client.get("/api/orders/ALB-NONE/").status_code == 401
