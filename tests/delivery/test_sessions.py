from datetime import timedelta

import pytest
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from delivery.services.accounts import token_issue
from tests.factories import PASSWORD, BranchFactory, CustomerFactory, DriverFactory, UserFactory


@pytest.mark.django_db
def test_driver_logs_in_by_phone(api_client):
    driver = DriverFactory.create()
    response = api_client.post("/api/sessions/", {"phone": driver.phone, "password": PASSWORD}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["driver_id"] == driver.pk
    assert body["customer_id"] is None
    assert body["user_id"] == driver.user_id
    assert body["branch_ids"] == []
    # The token authenticates the driver.
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert api_client.post("/graphql/", {"query": "{ currentTrip { id } }"}, format="json").status_code == 200


@pytest.mark.django_db
def test_customer_logs_in_by_phone(api_client):
    customer = CustomerFactory.create()
    response = api_client.post("/api/sessions/", {"phone": customer.telephone, "password": PASSWORD}, format="json")
    assert response.status_code == 201
    assert response.json()["customer_id"] == customer.pk
    assert response.json()["driver_id"] is None


@pytest.mark.django_db
def test_staff_logs_in_by_username_and_sees_their_branches(api_client):
    user = UserFactory.create()
    branch = BranchFactory.create()
    branch.staff.add(user)
    response = api_client.post("/api/sessions/", {"username": user.username, "password": PASSWORD}, format="json")
    assert response.status_code == 201
    assert response.json()["branch_ids"] == [branch.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "credentials",
    [
        {"phone": "+966500000999", "password": PASSWORD},
        {"username": "nobody", "password": PASSWORD},
    ],
    ids=["unknown-phone", "unknown-username"],
)
def test_unknown_account_is_401(api_client, credentials):
    response = api_client.post("/api/sessions/", credentials, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


@pytest.mark.django_db
def test_wrong_password_is_401(api_client):
    driver = DriverFactory.create()
    response = api_client.post("/api/sessions/", {"phone": driver.phone, "password": "wrong"}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"password": "x"}, {"phone": "+9665"}, [], "text"])
def test_malformed_session_request_is_400(api_client, body):
    response = api_client.post("/api/sessions/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation"


@pytest.mark.django_db
def test_invalid_json_is_400(api_client):
    response = api_client.generic("POST", "/api/sessions/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_json"


def log_in(api_client, credentials):
    return api_client.post("/api/sessions/", credentials, format="json")


def status_with(api_client, token):
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    status = api_client.get("/api/orders/ALB-NONE/").status_code
    api_client.credentials()
    return status


@pytest.mark.django_db
def test_each_login_issues_a_new_random_token_and_both_work(api_client):
    customer = CustomerFactory.create()
    credentials = {"phone": customer.telephone, "password": PASSWORD}
    first = log_in(api_client, credentials).json()["token"]
    second = log_in(api_client, credentials).json()["token"]
    assert first != second
    assert len(first) >= 64
    # 404: authenticated, and the order does not exist.
    assert status_with(api_client, first) == 404
    assert status_with(api_client, second) == 404


@pytest.mark.django_db
def test_tokens_are_stored_only_as_digests(api_client):
    customer = CustomerFactory.create()
    token = log_in(api_client, {"phone": customer.telephone, "password": PASSWORD}).json()["token"]
    rows = list(AuthToken.objects.filter(user=customer.user))
    assert len(rows) == 1
    assert token not in rows[0].digest
    assert len(rows[0].digest) == 128


@pytest.mark.django_db
def test_logging_out_revokes_only_that_token(api_client):
    customer = CustomerFactory.create()
    kept = token_issue(user=customer.user)
    token = token_issue(user=customer.user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    response = api_client.delete("/api/sessions/")
    assert response.status_code == 204
    assert status_with(api_client, token) == 401
    assert status_with(api_client, kept) == 404


@pytest.mark.django_db
def test_logging_out_without_a_token_is_401(api_client):
    response = api_client.delete("/api/sessions/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.django_db
def test_a_stale_token_does_not_stop_a_login(api_client):
    customer = CustomerFactory.create()
    api_client.credentials(HTTP_AUTHORIZATION="Token revoked-long-ago")
    assert log_in(api_client, {"phone": customer.telephone, "password": PASSWORD}).status_code == 201


@pytest.mark.django_db
def test_a_password_change_revokes_every_token(api_client):
    customer = CustomerFactory.create()
    tokens = [token_issue(user=customer.user) for _ in range(2)]
    customer.user.set_password("a-new-password")
    customer.user.save()
    assert [status_with(api_client, token) for token in tokens] == [401, 401]
    fresh = log_in(api_client, {"phone": customer.telephone, "password": "a-new-password"}).json()["token"]
    assert status_with(api_client, fresh) == 404


@pytest.mark.django_db
def test_other_saves_of_the_user_keep_tokens(api_client):
    customer = CustomerFactory.create()
    token = token_issue(user=customer.user)
    customer.user.first_name = "Renamed"
    customer.user.save()
    assert status_with(api_client, token) == 404


@pytest.mark.django_db
def test_a_deleted_user_cannot_log_back_into_an_old_token(api_client):
    customer = CustomerFactory.create()
    token = token_issue(user=customer.user)
    customer.user.delete()
    assert status_with(api_client, token) == 401


@pytest.mark.django_db
def test_tokens_expire_when_a_lifetime_is_set(api_client, settings):
    settings.REST_KNOX = {"TOKEN_TTL": timedelta(hours=1), "AUTH_HEADER_PREFIX": "Token"}
    customer = CustomerFactory.create()
    token = log_in(api_client, {"phone": customer.telephone, "password": PASSWORD}).json()["token"]
    row = AuthToken.objects.get(user=customer.user)
    assert row.expiry is not None
    assert status_with(api_client, token) == 404
    AuthToken.objects.filter(pk=row.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert status_with(api_client, token) == 401


@pytest.mark.django_db
def test_repeated_failed_logins_for_one_account_are_throttled(api_client, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login_account": "3/min", "login_address": "100/min"}
    driver = DriverFactory.create()
    for _ in range(3):
        assert log_in(api_client, {"phone": driver.phone, "password": "wrong"}).status_code == 401
    refused = log_in(api_client, {"phone": driver.phone, "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    assert not AuthToken.objects.filter(user=driver.user).exists()
    # Another account from the same address is not affected.
    other = DriverFactory.create()
    assert log_in(api_client, {"phone": other.phone, "password": PASSWORD}).status_code == 201


@pytest.mark.django_db
def test_repeated_failed_logins_from_one_address_are_throttled(api_client, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login_account": "100/min", "login_address": "3/min"}
    for index in range(3):
        assert log_in(api_client, {"username": f"guess{index}", "password": "x"}).status_code == 401
    refused = log_in(api_client, {"username": "guess-again", "password": "x"})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    forged = APIClient(HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert log_in(forged, {"username": "guess-again", "password": "x"}).status_code == 429
    elsewhere = APIClient(REMOTE_ADDR="10.9.9.9")
    assert log_in(elsewhere, {"username": "guess-again", "password": "x"}).status_code == 401


@pytest.mark.django_db
def test_successful_logins_are_not_counted(api_client, settings):
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login_account": "2/min", "login_address": "2/min"}
    driver = DriverFactory.create()
    for _ in range(5):
        assert log_in(api_client, {"phone": driver.phone, "password": PASSWORD}).status_code == 201


def test_parallel_failures_are_all_counted(settings):
    from concurrent.futures import ThreadPoolExecutor

    from django.core.cache import cache
    from rest_framework.test import APIRequestFactory
    from rest_framework.views import APIView

    from delivery.api.throttles import LoginAddressThrottle

    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "login_address": "1000/hour"}
    request = APIRequestFactory().post("/api/sessions/", {}, format="json", REMOTE_ADDR="192.0.2.1")

    def fail_once(_: int) -> None:
        throttle = LoginAddressThrottle()
        assert throttle.allow_request(request, APIView())
        throttle.failure()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fail_once, range(200)))
    throttle = LoginAddressThrottle()
    throttle.allow_request(request, APIView())
    assert cache.get(throttle.window_key) == 200
