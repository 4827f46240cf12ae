"""Webhooks are authenticated by `Rappi-Signature`; a bad, missing or expired one is a 401 and changes nothing."""

import json
import time
from typing import Any

import pytest
from django.test import Client

from aggregators.signatures import signature_compute, signature_header, signature_verify
from delivery.errors import NotAuthenticated
from delivery.models import Order
from events.models import OutboxEvent
from tests.aggregators.conftest import at, courier_body, courier_path, signed_patch
from tests.factories import AggregatorOrderFactory
from tests.fake_aggregator import SECRET

pytestmark = pytest.mark.django_db


def assign(client: Client, order: Order, **kwargs: Any) -> Any:
    return signed_patch(
        client, courier_path(order.aggregator_id or "", "assigned"), courier_body("assigned", at(1)), **kwargs
    )


def assert_unchanged(order: Order) -> None:
    fresh = Order.objects.get(pk=order.pk)
    assert (fresh.courier_id, fresh.courier_status, fresh.courier_status_at) == ("", "", None)
    assert not OutboxEvent.objects.exists()


def test_a_valid_signature_is_accepted(client: Client) -> None:
    order = AggregatorOrderFactory.create()
    response = assign(client, order)
    assert response.status_code == 200
    assert response.json()["courier_status"] == "assigned"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        pytest.param({"header": ""}, "signature_missing", id="missing"),
        pytest.param({"secret": "another-secret"}, "signature_invalid", id="wrong-secret"),
        pytest.param({"header": "t=1,sign=zz"}, "signature_invalid", id="malformed"),
        pytest.param({"header": "sign=" + "0" * 64}, "signature_invalid", id="no-timestamp"),
        pytest.param({"header": "t=x" * 600}, "signature_invalid", id="huge-header"),
        pytest.param({"timestamp": -310}, "signature_expired", id="expired"),
        pytest.param({"timestamp": 310}, "signature_expired", id="from-the-future"),
    ],
)
def test_a_bad_missing_or_expired_signature_is_a_401_and_changes_nothing(
    client: Client, kwargs: dict[str, Any], code: str
) -> None:
    order = AggregatorOrderFactory.create()
    if "timestamp" in kwargs:  # seconds away from now
        kwargs = {"timestamp": int(time.time()) + kwargs["timestamp"]}
    response = assign(client, order, **kwargs)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert_unchanged(order)


def test_a_signature_over_another_body_is_refused(client: Client) -> None:
    order = AggregatorOrderFactory.create()
    signed = json.dumps(courier_body("assigned", at(1))).encode()
    header = signature_header(body=signed, secret=SECRET, timestamp=int(time.time()))
    tampered = signed.replace(b"Bob", b"Eve")
    response = signed_patch(
        client, courier_path(order.aggregator_id or "", "assigned"), None, raw=tampered, header=header
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "signature_invalid"
    assert_unchanged(order)


def test_an_unknown_order_with_a_bad_signature_is_a_401_not_a_404(client: Client) -> None:
    response = signed_patch(client, courier_path("no-such-order", "at_hub"), {"event_time": at(1)}, secret="nope")
    assert response.status_code == 401


def test_the_signature_is_the_hmac_of_timestamp_dot_raw_body() -> None:
    import hashlib
    import hmac

    body = b'{"event_time": "2030-01-01T12:00:00+00:00"}'
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature_compute(body=body, secret=SECRET, timestamp="1700000000") == expected
    assert signature_header(body=body, secret=SECRET, timestamp=1700000000) == f"t=1700000000,sign={expected}"


def test_the_replay_window_is_300_seconds_either_side() -> None:
    body = b"{}"
    header = signature_header(body=body, secret=SECRET, timestamp=1_000_000)
    signature_verify(header=header, body=body, secret=SECRET, now=1_000_300)
    signature_verify(header=header, body=body, secret=SECRET, now=999_700)
    with pytest.raises(NotAuthenticated) as expired:
        signature_verify(header=header, body=body, secret=SECRET, now=1_000_301)
    assert expired.value.code == "signature_expired"


def test_an_empty_secret_refuses_everything() -> None:
    body = b"{}"
    header = signature_header(body=body, secret="", timestamp=int(time.time()))
    with pytest.raises(NotAuthenticated):
        signature_verify(header=header, body=body, secret="", now=time.time())
