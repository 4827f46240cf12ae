"""Property-based fuzzing of the aggregator webhooks, correctly signed and not.

Generated paths (every courier event, kitchen statuses, known and unknown orders), bodies shaped
like the contract's with hostile values (mismatched order or event, future and malformed times,
odd couriers), any JSON and raw bytes, with a valid, stale or wrong signature. No answer may be a
5xx, and a rejected webhook changes neither the order nor the outbox.
"""

import time
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from aggregators.signatures import signature_header
from delivery.models import Bundle, Order
from events.models import OutboxEvent
from tests.factories import AggregatorOrderFactory
from tests.reliability.fuzzing import (
    CONTENT_TYPES,
    HOSTILE_TEXT,
    JSON_VALUE,
    RAW_BODY,
    SCALAR,
    Tally,
    dumps,
    fuzz_settings,
)
from tests.reliability.report import scale

EXAMPLES = scale(60, 3000)
SECRET = "fuzz-webhook-secret"
COURIER_EVENTS = ["assign", "at_hub", "in_transit", "at_destination", "delivered"]
KITCHEN_EVENTS = ["received", "preparing", "ready_for_pickup", "picked_up", "Bad-Status", "x" * 40]


def segment(text: str) -> str:
    """`text` as one URL path segment, whatever it holds (lone surrogates included)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="") or "x"


def state() -> tuple[Any, ...]:
    orders = Order.objects.order_by("pk").values_list(
        "status",
        "courier_id",
        "courier_name",
        "courier_phone",
        "courier_status",
        "courier_status_at",
        "kitchen_status",
        "kitchen_status_at",
        "bundle_id",
    )
    return (tuple(orders), OutboxEvent.objects.count(), Bundle.objects.count())


@pytest.mark.django_db
def test_fuzz_webhooks(settings: Any) -> None:
    settings.RAPPI_WEBHOOK_SECRET = SECRET
    settings.RAPPI_API_BASE_URL = ""
    settings.THROTTLE_RATES = {"login_account": "10/min", "login_address": "10/min", "webhook": "100000/min"}
    orders = [AggregatorOrderFactory.create() for _ in range(3)]
    ids = [order.aggregator_id or "" for order in orders]
    tally = Tally(drill="fuzz webhooks (signed)")

    def event_times() -> st.SearchStrategy[Any]:
        now = timezone.now()
        recent = st.integers(min_value=-10_000, max_value=250).map(lambda s: (now + timedelta(seconds=s)).isoformat())
        return st.one_of(
            recent,
            st.sampled_from(["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+23:59", "yesterday", "", "2025-13-01"]),
            st.datetimes().map(lambda d: d.isoformat()),
            SCALAR,
        )

    courier = st.one_of(
        st.fixed_dictionaries({"id": HOSTILE_TEXT, "name": HOSTILE_TEXT, "phone": HOSTILE_TEXT}),
        st.fixed_dictionaries({"id": st.sampled_from(["bob", "joe"]), "name": st.just("Bob")}),
        JSON_VALUE,
    )

    @st.composite
    def webhooks(draw: st.DrawFn) -> tuple[str, bytes, str, str]:
        aggregator_id = draw(st.sampled_from(ids) | HOSTILE_TEXT)
        family = draw(st.sampled_from(["couriers", "kitchen"]))
        event = draw(st.sampled_from(COURIER_EVENTS if family == "couriers" else KITCHEN_EVENTS) | HOSTILE_TEXT)
        path = f"/webhooks/rappi/{segment(aggregator_id)}/{family}/{segment(event)}/"
        kind = draw(st.sampled_from(["shaped", "shaped", "shaped", "json", "raw"]))
        if kind == "shaped":
            body: dict[str, Any] = {
                "order_id": draw(st.sampled_from([aggregator_id, *ids]) | HOSTILE_TEXT),
                "event": draw(st.sampled_from([event, "at_hub", "assign"]) | HOSTILE_TEXT),
                "event_time": draw(event_times()),
            }
            if draw(st.booleans()):
                body["courier"] = draw(courier)
            extra = draw(st.dictionaries(HOSTILE_TEXT, SCALAR, max_size=2))
            payload, content_type = dumps({**extra, **body}), "application/json"
        elif kind == "raw":
            payload, content_type = draw(RAW_BODY), draw(CONTENT_TYPES)
        else:
            payload, content_type = dumps(draw(JSON_VALUE)), "application/json"
        signing = draw(st.sampled_from(["valid", "valid", "valid", "stale", "wrong", "none", "garbage"]))
        now = int(time.time())
        if signing == "valid":
            header = signature_header(body=payload, secret=SECRET, timestamp=now)
        elif signing == "stale":
            header = signature_header(body=payload, secret=SECRET, timestamp=now - 301)
        elif signing == "wrong":
            header = signature_header(body=payload, secret="not-the-secret", timestamp=now)
        elif signing == "garbage":
            header = draw(HOSTILE_TEXT).encode("utf-8", "surrogatepass").decode("latin-1")
        else:
            header = ""
        return path, payload, content_type, header

    @given(webhooks())
    @fuzz_settings(EXAMPLES)
    def send(webhook: tuple[str, bytes, str, str]) -> None:
        path, payload, content_type, header = webhook
        client = Client(raise_request_exception=False)
        extra: dict[str, Any] = {"HTTP_RAPPI_SIGNATURE": header} if header else {}
        before = state()
        response = client.generic("PATCH", path, payload, content_type=content_type, **extra)
        tally.check(request=f"{path} {payload[:200]!r}", status=response.status_code, before=before, after=state())

    send()
    tally.finish()
