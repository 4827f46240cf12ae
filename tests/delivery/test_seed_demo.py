import json
from io import StringIO

import pytest
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


@pytest.mark.django_db
def test_seed_demo_twice_gives_the_same_data():
    first = seed_json()
    counts = (Branch.objects.count(), MenuItem.objects.count(), Driver.objects.count(), Customer.objects.count())
    assert seed_json() == first
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
    assert response.json()["token"] == driver["token"]
    staff = demo["staff"][0]
    response = api_client.post(
        "/api/sessions/", {"username": staff["username"], "password": staff["password"]}, format="json"
    )
    assert response.json()["branch_ids"] == [staff["branch_id"]]
