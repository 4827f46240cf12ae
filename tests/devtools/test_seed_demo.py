import json
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from delivery.models import Branch, Customer, Driver, MenuItem


def seed_json() -> dict:
    out = StringIO()
    call_command("seed_demo", "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_seed_demo_prints_the_contract_shape():
    demo = seed_json()
    assert set(demo) == {"branches", "menu_items", "drivers", "customers", "staff", "aggregators"}
    assert len(demo["branches"]) >= 2
    assert len(demo["drivers"]) >= 3
    assert len(demo["customers"]) >= 2
    assert {s["branch_id"] for s in demo["staff"]} == {b["id"] for b in demo["branches"]}
    assert set(demo["branches"][0]) == {"id", "name", "latitude", "longitude", "store_id"}
    assert set(demo["menu_items"][0]) == {"id", "sku", "name", "price"}
    assert set(demo["drivers"][0]) == {"id", "user_id", "phone", "password", "token"}
    assert set(demo["customers"][0]) == {"id", "phone", "password", "token"}
    assert set(demo["staff"][0]) == {"username", "password", "branch_id"}
    assert demo["aggregators"]["rappi"]["webhook_secret"]


def without_tokens(demo: dict) -> dict:
    return {
        **demo,
        "drivers": [{k: v for k, v in d.items() if k != "token"} for d in demo["drivers"]],
        "customers": [{k: v for k, v in c.items() if k != "token"} for c in demo["customers"]],
    }


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_data_and_fresh_tokens(api_client):
    first = seed_json()
    counts = (Branch.objects.count(), MenuItem.objects.count(), Driver.objects.count(), Customer.objects.count())
    second = seed_json()
    assert without_tokens(second) == without_tokens(first)
    assert second["drivers"][0]["token"] != first["drivers"][0]["token"]
    # Tokens printed by the first run stay valid.
    for token in (first["drivers"][0]["token"], second["drivers"][0]["token"]):
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert api_client.post("/graphql/", {"query": "{ currentTrip { id } }"}, format="json").status_code == 200
    assert (
        Branch.objects.count(),
        MenuItem.objects.count(),
        Driver.objects.count(),
        Customer.objects.count(),
    ) == counts


@pytest.mark.django_db
def test_printed_credentials_work(api_client):
    demo = seed_json()
    driver = demo["drivers"][0]
    response = api_client.post(
        "/api/sessions/", {"phone": driver["phone"], "password": driver["password"]}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["user_id"] == driver["user_id"]
    staff = demo["staff"][0]
    response = api_client.post(
        "/api/sessions/", {"username": staff["username"], "password": staff["password"]}, format="json"
    )
    assert response.json()["branch_ids"] == [staff["branch_id"]]


@pytest.mark.django_db
def test_seed_demo_creates_no_superuser_and_no_admin_account():
    seed_json()
    User = get_user_model()
    assert not User.objects.filter(is_superuser=True).exists()
    assert not User.objects.filter(username="admin").exists()
    staff = User.objects.filter(is_staff=True)
    assert not any(user.check_password("admin") for user in staff)
