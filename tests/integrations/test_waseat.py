"""The WASEAT client against a real local HTTP server, through the service: payloads, retries, permanent failures."""

import pytest
from django.test import override_settings

from delivery.services.waseat import waseat_close
from integrations.http import PermanentHTTPError, TransientHTTPError, single_attempt
from side_effects.models import EffectRecord
from tests.http_servers import Reply

pytestmark = pytest.mark.django_db

FAST_RETRIES = {"HTTP_CLIENT_BACKOFF_SECONDS": 0.01, "HTTP_CLIENT_MAX_ATTEMPTS": 3}


def close(albaik_identifier="ALB-1"):
    return waseat_close(
        albaik_identifier=albaik_identifier, total="36.00", delivered_at="2026-11-21T10:00:00+00:00", path="request"
    )


def test_waseat_close_sends_the_contract_request(recording_server):
    with override_settings(WASEAT_BASE_URL=recording_server.url, WASEAT_API_KEY="k-123"):
        assert close() is True
    [request] = recording_server.requests
    assert (request.method, request.path) == ("POST", "/orders/ALB-1/close")
    assert request.headers["Authorization"] == "Bearer k-123"
    assert request.headers["Idempotency-Key"] == "close-ALB-1"
    assert request.body == {
        "albaik_identifier": "ALB-1",
        "total": "36.00",
        "delivery_status": "delivered",
        "delivered_at": "2026-11-21T10:00:00+00:00",
    }
    assert EffectRecord.objects.get(kind="waseat_close").outcome == "ok"


def test_waseat_close_retries_5xx_429_and_timeouts(recording_server):
    recording_server.then(Reply(status=500), Reply(status=429), Reply(status=200, delay=0.5), Reply(status=201))
    with override_settings(
        WASEAT_BASE_URL=recording_server.url, HTTP_CLIENT_TIMEOUT_SECONDS=0.2, HTTP_CLIENT_MAX_ATTEMPTS=4
    ):
        assert close() is True
    assert len(recording_server.requests) == 4


def test_waseat_409_means_already_closed(recording_server):
    recording_server.then(Reply(status=409))
    with override_settings(WASEAT_BASE_URL=recording_server.url):
        assert close() is True
    assert EffectRecord.objects.get(kind="waseat_close").outcome == "ok"


def test_waseat_4xx_is_permanent_and_not_retried(recording_server):
    recording_server.then(Reply(status=422))
    with override_settings(WASEAT_BASE_URL=recording_server.url, **FAST_RETRIES), pytest.raises(PermanentHTTPError):
        close()
    assert len(recording_server.requests) == 1
    assert EffectRecord.objects.get(kind="waseat_close").outcome == "failed"


def test_waseat_still_failing_after_retries_is_transient(recording_server):
    recording_server.then(*[Reply(status=503)] * 3)
    with override_settings(WASEAT_BASE_URL=recording_server.url, **FAST_RETRIES), pytest.raises(TransientHTTPError):
        close()
    assert len(recording_server.requests) == 3


def test_an_order_is_closed_once(recording_server):
    with override_settings(WASEAT_BASE_URL=recording_server.url):
        assert close() is True
        assert close() is False
    assert len(recording_server.requests) == 1


def test_unreachable_waseat_is_transient():
    with override_settings(WASEAT_BASE_URL="http://127.0.0.1:9", **FAST_RETRIES), pytest.raises(TransientHTTPError):
        close()


def test_single_attempt_sends_once_whatever_the_retry_setting(recording_server):
    recording_server.then(Reply(status=503), Reply(status=200))
    settings = override_settings(WASEAT_BASE_URL=recording_server.url, HTTP_CLIENT_MAX_ATTEMPTS=4)
    with settings, single_attempt(), pytest.raises(TransientHTTPError):
        close()
    assert len(recording_server.requests) == 1
