"""JSON Schemas of the event envelope (contract §5) and of each event type's `data`, per version.

Strict about required keys and their types; additional properties are allowed so a
writer can add fields without breaking readers. Validated when written and when read.
"""

from datetime import datetime
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator, FormatChecker

from events.types import TRIP_EVENT_TYPES, EventType

Schema = dict[str, Any]

FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _is_iso_datetime(value: object) -> bool:
    # ISO 8601 with a time zone, as written by `datetime.isoformat()` on aware datetimes.
    if not isinstance(value, str):
        return True
    return datetime.fromisoformat(value).tzinfo is not None


def _object(properties: dict[str, Schema], *, optional: tuple[str, ...] = ()) -> Schema:
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
        "additionalProperties": True,
    }


STRING: Schema = {"type": "string"}
TEXT: Schema = {"type": "string", "minLength": 1}
INTEGER: Schema = {"type": "integer"}
NUMBER: Schema = {"type": "number"}
BOOLEAN: Schema = {"type": "boolean"}
DECIMAL: Schema = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
DATETIME: Schema = {"type": "string", "format": "date-time"}
OPTIONAL_DATETIME: Schema = {"type": ["string", "null"], "format": "date-time"}
FREE_OBJECT: Schema = {"type": "object"}

ENVELOPE: Schema = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "pattern": r"^[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}$"},
        "type": TEXT,
        "version": {"type": "integer", "minimum": 1},
        "occurred_at": DATETIME,
        "key": {"type": "string", "minLength": 1, "maxLength": 200},
        "handled_synchronously": {"type": "array", "items": TEXT, "uniqueItems": True},
        "data": FREE_OBJECT,
    },
    "required": ["id", "type", "version", "occurred_at", "key", "handled_synchronously", "data"],
    "additionalProperties": True,
}

ORDER = _object(
    {
        "id": INTEGER,
        "albaik_identifier": TEXT,
        "total": DECIMAL,
        "latitude": NUMBER,
        "longitude": NUMBER,
        "created_at": DATETIME,
        "source": {"enum": ["own_fleet", "aggregator"]},
        "aggregator_id": {"type": ["string", "null"]},
    }
)
BRANCH = _object({"id": INTEGER, "name": STRING, "latitude": NUMBER, "longitude": NUMBER})
CUSTOMER = _object(
    {
        "user_id": {"type": ["integer", "null"]},
        "first_name": STRING,
        "last_name": STRING,
        "telephone": STRING,
        "preferred_locale": TEXT,
        "notify": BOOLEAN,
    }
)
ITEM = _object({"id": INTEGER, "name": STRING, "quantity": {"type": "integer", "minimum": 1}, "total": DECIMAL})
DELIVERY = _object(
    {
        "id": INTEGER,
        "status": TEXT,
        "created_at": DATETIME,
        "arrived_at": OPTIONAL_DATETIME,
        "collecting_at": OPTIONAL_DATETIME,
        "out_for_delivery_at": OPTIONAL_DATETIME,
        "finished_at": OPTIONAL_DATETIME,
        "version": INTEGER,
    }
)
DRIVER = _object({"id": INTEGER, "user_id": INTEGER, "name": STRING, "status": TEXT})

DELIVERY_SNAPSHOT = _object(
    {
        "order": ORDER,
        "branch": BRANCH,
        "customer": CUSTOMER,
        "items": {"type": "array", "items": ITEM},
        "delivery": DELIVERY,
        "driver": DRIVER,
        "preparation": FREE_OBJECT,
        "failure_reason": STRING,
    },
    optional=("failure_reason",),
)

DRIVER_STATUS_CHANGED = _object(
    {
        "driver": _object(
            {
                "id": INTEGER,
                "user_id": INTEGER,
                "name": STRING,
                "status": TEXT,
                "previous_status": {"type": ["string", "null"]},
            }
        ),
        "changed_at": DATETIME,
        "delivery_id": {"type": ["integer", "null"]},
    }
)

# The request could not close a delivered order in WASEAT: the waseat consumer does it (and nobody else).
WASEAT_CLOSE_REQUESTED = _object(
    {
        "order": ORDER,
        "delivery": _object({"id": INTEGER, "finished_at": OPTIONAL_DATETIME}),
        "delivered_event_id": {"type": "string", "minLength": 1},
    }
)

AGGREGATOR_ORDER_STATUS = _object(
    {
        "order": ORDER,
        "courier": {"oneOf": [{"type": "null"}, _object({"id": STRING, "name": STRING, "phone": STRING})]},
        "courier_status": STRING,
        "kitchen_status": STRING,
        "event_time": DATETIME,
        "bundle": {"oneOf": [{"type": "null"}, {"type": "array", "items": TEXT}]},
        "preparation": FREE_OBJECT,
    }
)

AGGREGATOR_ORDER_RECEIVED = _object(
    {
        "aggregator": TEXT,
        # The aggregator's order as received (contract §8); the adapter judges the rest.
        "order": _object({"id": {"type": ["string", "integer"]}}),
    }
)

# (event type, version) -> schema of `data`.
DATA_SCHEMAS: dict[tuple[str, int], Schema] = {
    **{(event_type, 1): DELIVERY_SNAPSHOT for event_type in TRIP_EVENT_TYPES},
    (EventType.DRIVER_STATUS_CHANGED, 1): DRIVER_STATUS_CHANGED,
    (EventType.WASEAT_CLOSE_REQUESTED, 1): WASEAT_CLOSE_REQUESTED,
    (EventType.COURIER_ASSIGNED, 1): AGGREGATOR_ORDER_STATUS,
    (EventType.COURIER_STATUS_CHANGED, 1): AGGREGATOR_ORDER_STATUS,
    (EventType.KITCHEN_STATUS_CHANGED, 1): AGGREGATOR_ORDER_STATUS,
    (EventType.AGGREGATOR_ORDER_RECEIVED, 1): AGGREGATOR_ORDER_RECEIVED,
}

EVENT_TYPES: tuple[str, ...] = tuple(dict.fromkeys(str(event_type) for event_type, _ in DATA_SCHEMAS))

ENVELOPE_VALIDATOR = Draft202012Validator(ENVELOPE, format_checker=FORMATS)
DATA_VALIDATORS: dict[tuple[str, int], Draft202012Validator] = {
    key: Draft202012Validator(schema, format_checker=FORMATS) for key, schema in DATA_SCHEMAS.items()
}


def _is_iso_datetime_text(value: str) -> bool:
    try:
        return _is_iso_datetime(value)
    except ValueError:
        return False


def _compiled(schema: Schema) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(
        schema, formats={"date-time": _is_iso_datetime_text}, validate_formats=True
    )


# The same schemas compiled by jsonschema-rs: every consumer checks every event it handles, and
# this answers "valid" in microseconds where `jsonschema` walks the schema in Python. Only a
# document it refuses is checked again by the validators above, for their error messages.
ENVELOPE_COMPILED = _compiled(ENVELOPE)
DATA_COMPILED: dict[tuple[str, int], jsonschema_rs.Draft202012Validator] = {
    key: _compiled(schema) for key, schema in DATA_SCHEMAS.items()
}
