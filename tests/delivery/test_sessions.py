import pytest

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
def test_logging_in_twice_returns_the_same_token(api_client):
    customer = CustomerFactory.create()
    credentials = {"phone": customer.telephone, "password": PASSWORD}
    first = api_client.post("/api/sessions/", credentials, format="json").json()["token"]
    second = api_client.post("/api/sessions/", credentials, format="json").json()["token"]
    assert first == second


@pytest.mark.django_db
def test_token_is_stored_only_as_a_digest(api_client):
    from delivery.models import AuthToken

    customer = CustomerFactory.create()
    token = api_client.post(
        "/api/sessions/", {"phone": customer.telephone, "password": PASSWORD}, format="json"
    ).json()["token"]
    stored = AuthToken.objects.get(user=customer.user)
    assert token not in stored.digest
    assert len(stored.digest) == 64


@pytest.mark.django_db
def test_rotated_token_replaces_the_old_one(api_client):
    from delivery.services.accounts import token_issue, token_rotate

    customer = CustomerFactory.create()
    old = token_issue(user=customer.user)
    new = token_rotate(user=customer.user)
    assert new != old
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api_client.get("/api/orders/ALB-NONE/").status_code == 401
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {new}")
    assert api_client.get("/api/orders/ALB-NONE/").status_code == 404


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
