import json
import uuid
from datetime import UTC, datetime

import pytest
from jsonschema import Draft202012Validator

from events.envelope import Event, InvalidEvent, driver_key, order_key
from events.schemas import DATA_COMPILED, DATA_SCHEMAS, ENVELOPE, ENVELOPE_COMPILED, EVENT_TYPES
from tests.events.samples import driver_status_data


def sample_event(**overrides: object) -> Event:
    fields: dict[str, object] = {
        "id": uuid.uuid4(),
        "type": "driver.status_changed",
        "version": 1,
        "occurred_at": datetime(2025, 3, 1, 12, 30, 15, 123456, tzinfo=UTC),
        "key": driver_key(7),
        "handled_synchronously": ("dashboard_broadcast",),
        "data": driver_status_data(driver_id=7),
    }
    fields.update(overrides)
    return Event(**fields)  # type: ignore[arg-type]


def test_keys():
    assert driver_key(7) == "driver-7"
    assert order_key(12) == "order-12"


def test_every_contract_event_type_has_a_version_1_schema():
    assert set(EVENT_TYPES) == {
        "trip.assigned",
        "delivery.driver_arrived",
        "delivery.ready_to_collect",
        "delivery.out_for_delivery",
        "delivery.delivered",
        "delivery.failed",
        "driver.status_changed",
        "waseat.close_requested",
        "courier.assigned",
        "courier.status_changed",
        "kitchen.status_changed",
        "aggregator.order_received",
    }
    for schema in (ENVELOPE, *DATA_SCHEMAS.values()):
        Draft202012Validator.check_schema(schema)


def test_round_trip_keeps_every_field():
    event = sample_event()
    assert Event.from_json(event.to_json()) == event


def test_envelope_has_the_contract_shape():
    event = sample_event()
    document = json.loads(event.to_json())
    assert document == {
        "id": str(event.id),
        "type": "driver.status_changed",
        "version": 1,
        "occurred_at": "2025-03-01T12:30:15.123456Z",
        "key": "driver-7",
        "handled_synchronously": ["dashboard_broadcast"],
        "data": event.data,
    }


def test_additional_properties_are_allowed():
    event = sample_event(data={**driver_status_data(driver_id=7), "new_field": {"x": 1}})
    assert Event.from_json(event.to_json()).data["new_field"] == {"x": 1}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"\xff\xfe not utf-8", "not_json"),
        (b"{not json", "not_json"),
        (b"[]", "envelope"),
        (json.dumps({"id": "x"}).encode(), "envelope"),
    ],
)
def test_unreadable_envelopes(raw, code):
    with pytest.raises(InvalidEvent) as caught:
        Event.from_json(raw)
    assert caught.value.code == code


def test_unknown_type_or_version():
    document = json.loads(sample_event().to_json())
    with pytest.raises(InvalidEvent) as caught:
        Event.from_json(json.dumps({**document, "type": "driver.teleported"}))
    assert caught.value.code == "unknown_type"
    with pytest.raises(InvalidEvent) as caught:
        Event.from_json(json.dumps({**document, "version": 2}))
    assert caught.value.code == "unknown_type"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda data: data.pop("changed_at"),
        lambda data: data["driver"].pop("status"),
        lambda data: data["driver"].update(id="7"),
        lambda data: data.update(changed_at="yesterday"),
        lambda data: data.update(changed_at="2025-03-01T12:00:00"),  # no time zone
        lambda data: data.update(delivery_id="3"),
    ],
)
def test_data_is_checked_against_its_schema(mutate):
    document = json.loads(sample_event().to_json())
    mutate(document["data"])
    with pytest.raises(InvalidEvent) as caught:
        Event.from_json(json.dumps(document))
    assert caught.value.code == "data"
    # The compiled schema refuses it too, so the fast path never lets through what the checker refuses.
    assert ENVELOPE_COMPILED.is_valid(document)
    assert not DATA_COMPILED[("driver.status_changed", 1)].is_valid(document["data"])


def test_the_compiled_schemas_accept_a_valid_event_and_refuse_a_bad_envelope():
    document = json.loads(sample_event().to_json())
    assert ENVELOPE_COMPILED.is_valid(document)
    assert DATA_COMPILED[("driver.status_changed", 1)].is_valid(document["data"])
    assert not ENVELOPE_COMPILED.is_valid({**document, "occurred_at": "2025-03-01T12:00:00"})
    assert not ENVELOPE_COMPILED.is_valid({**document, "occurred_at": "yesterday"})


def test_naive_or_bad_envelope_time_is_rejected():
    document = json.loads(sample_event().to_json())
    with pytest.raises(InvalidEvent) as caught:
        Event.from_json(json.dumps({**document, "occurred_at": "2025-03-01T12:00:00"}))
    assert caught.value.code == "envelope"


def test_data_that_is_not_json_serialisable():
    with pytest.raises(InvalidEvent) as caught:
        sample_event(data={"when": datetime.now(UTC)}).to_json()
    assert caught.value.code == "data"
