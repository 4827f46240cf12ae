"""The one event envelope (contract §5): what the outbox stores and Kafka carries."""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from jsonschema import ValidationError

from events.schemas import DATA_COMPILED, DATA_VALIDATORS, ENVELOPE_COMPILED, ENVELOPE_VALIDATOR


class InvalidEvent(Exception):
    """An event that does not match the envelope or its type's schema.

    `code` says what is wrong: `not_json`, `envelope`, `unknown_type` or `data`.
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# orjson, strict like json.dumps: datetimes and dataclasses in `data` are an error, not silently encoded.
ENCODING = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def driver_key(driver_id: int) -> str:
    return f"driver-{driver_id}"


def order_key(order_id: int) -> str:
    return f"order-{order_id}"


def _iso_utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _error_path(error: ValidationError) -> str:
    return "/".join(str(part) for part in error.absolute_path) or "(root)"


def validate_document(document: Any) -> None:
    """Validate a decoded envelope and its `data` against the schema of (type, version)."""
    if ENVELOPE_COMPILED.is_valid(document):
        compiled = DATA_COMPILED.get((document["type"], document["version"]))
        if compiled is not None and compiled.is_valid(document["data"]):
            return
    errors = sorted(ENVELOPE_VALIDATOR.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        raise InvalidEvent(f"envelope {_error_path(errors[0])}: {errors[0].message}", code="envelope")
    validator = DATA_VALIDATORS.get((document["type"], document["version"]))
    if validator is None:
        raise InvalidEvent(
            f"no schema for event type {document['type']!r} version {document['version']}", code="unknown_type"
        )
    errors = sorted(validator.iter_errors(document["data"]), key=lambda e: list(e.absolute_path))
    if errors:
        raise InvalidEvent(f"data/{_error_path(errors[0])}: {errors[0].message}", code="data")


@dataclass(frozen=True)
class Event:
    id: uuid.UUID
    type: str
    version: int
    occurred_at: datetime
    key: str
    handled_synchronously: tuple[str, ...]
    data: dict[str, Any] = field(hash=False)

    def to_document(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "version": self.version,
            "occurred_at": _iso_utc(self.occurred_at),
            "key": self.key,
            "handled_synchronously": list(self.handled_synchronously),
            "data": self.data,
        }

    def to_json(self) -> bytes:
        """The contract §5 envelope, UTF-8 JSON. Raises InvalidEvent when `data` is not JSON-serialisable."""
        try:
            return orjson.dumps(self.to_document(), option=ENCODING)
        except TypeError as exc:  # orjson.JSONEncodeError
            raise InvalidEvent(f"data is not JSON-serialisable: {exc}", code="data") from exc

    @classmethod
    def from_json(cls, raw: bytes | str) -> "Event":
        """Decode and validate an envelope; raises InvalidEvent."""
        return cls.from_document(decode_document(raw))

    @classmethod
    def from_document(cls, document: Any) -> "Event":
        """Validate a decoded envelope (`decode_document`); raises InvalidEvent."""
        validate_document(document)
        return cls(
            id=uuid.UUID(document["id"]),
            type=document["type"],
            version=document["version"],
            occurred_at=datetime.fromisoformat(document["occurred_at"]).astimezone(UTC),
            key=document["key"],
            handled_synchronously=tuple(document["handled_synchronously"]),
            data=document["data"],
        )


def decode_document(raw: bytes | str) -> Any:
    """The JSON document of a message, not yet validated; raises InvalidEvent."""
    try:
        return orjson.loads(raw)
    except (TypeError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
        raise InvalidEvent(f"not a JSON document: {exc}", code="not_json") from exc


def document_type(document: Any) -> str | None:
    """The `type` of a decoded envelope that may be invalid, when it has one."""
    event_type = document.get("type") if isinstance(document, dict) else None
    return event_type if isinstance(event_type, str) else None
