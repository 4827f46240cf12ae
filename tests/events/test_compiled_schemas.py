"""The compiled schemas (jsonschema-rs) accept every event a real trip writes: consumers take the fast path."""

from typing import Any

import orjson
import pytest

from events.models import OutboxEvent
from events.schemas import DATA_COMPILED, DATA_VALIDATORS, ENVELOPE_COMPILED
from tests.driver_api.queries import UPDATE_DRIVER_STATUS, UPDATE_ORDER
from tests.drivers import DriverClient


@pytest.mark.django_db
def test_every_event_of_a_trip_passes_the_compiled_schemas(driver: Any, place_order: Any) -> None:
    order = place_order()
    app = DriverClient(driver)
    app.execute(UPDATE_DRIVER_STATUS, status="WAITING_AT_RESTAURANT")
    for status in ("OUT_FOR_DELIVERY", "DELIVERED"):
        app.execute(UPDATE_ORDER, albaikIdentifier=order.albaik_identifier, status=status)
    documents = [orjson.loads(row.envelope) for row in OutboxEvent.objects.all()]
    assert {document["type"] for document in documents} >= {
        "trip.assigned",
        "delivery.driver_arrived",
        "delivery.out_for_delivery",
        "delivery.delivered",
    }
    for document in documents:
        key = (document["type"], document["version"])
        assert ENVELOPE_COMPILED.is_valid(document)
        assert DATA_COMPILED[key].is_valid(document["data"]), document["type"]
        assert DATA_VALIDATORS[key].is_valid(document["data"])
