import json
from io import StringIO

import pytest
from django.core.management import call_command

from driver_api.models import CurrentTrip

pytestmark = pytest.mark.django_db


def reconcile(*args: str) -> dict:
    out = StringIO()
    call_command("reconcile_current_trips", "--json", *args, stdout=out)
    return json.loads(out.getvalue())


def test_no_drift_after_a_normal_assignment(driver, place_order):
    place_order()
    assert reconcile() == {"drifted": [], "fixed": False}


def test_drift_is_reported_and_fixed(driver, place_order):
    place_order()
    CurrentTrip.objects.filter(driver=driver).update(delivery_status="out_for_delivery", items=[])
    report = reconcile()
    assert report["drifted"] == [{"driver_id": driver.pk, "fields": ["delivery", "items"]}]
    assert reconcile("--fix")["drifted"] == report["drifted"]
    assert reconcile() == {"drifted": [], "fixed": False}
    assert CurrentTrip.objects.get(driver=driver).delivery_status == "assigned"


def test_a_missing_row_is_drift(driver, place_order):
    place_order()
    CurrentTrip.objects.filter(driver=driver).delete()
    assert reconcile()["drifted"] == [{"driver_id": driver.pk, "fields": ["trip"]}]
    reconcile("--fix")
    assert reconcile()["drifted"] == []
