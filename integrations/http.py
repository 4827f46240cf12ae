"""The one outbound HTTP helper (contract §8).

Every client sends through `send`: a timeout (default 5 s), retries of transient
failures (connection errors, timeouts, 5xx, 429) with exponential backoff and jitter
(stamina), and a clear split between transient and permanent outcomes so Kafka
consumers can retry in place or dead-letter. Requests go through one keep-alive `httpx.Client` per process, so a
call to WASEAT or the push gateway does not pay a new TCP connection each time.
Callers send after their transaction commits (`transaction.on_commit`), never inside it.
"""

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpx
import stamina
from django.conf import settings

logger = logging.getLogger(__name__)
# Set by the consumer runtime: it retries with the partition paused, so the client must not sleep.
_single_attempt: ContextVar[bool] = ContextVar("http_single_attempt", default=False)


@contextmanager
def single_attempt() -> Iterator[None]:
    """Within this block every request is tried once; the caller retries transient failures itself."""
    token = _single_attempt.set(True)
    try:
        yield
    finally:
        _single_attempt.reset(token)


class HTTPDeliveryError(Exception):
    """The request did not succeed."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class TransientHTTPError(HTTPDeliveryError):
    """Still failing after the retries; worth trying again later."""


class PermanentHTTPError(HTTPDeliveryError):
    """Rejected (4xx other than 409/429): retrying cannot help."""


@dataclass(frozen=True)
class HTTPResult:
    status_code: int
    body: Any


_client: httpx.Client | None = None
_client_lock = threading.Lock()


def shared_client() -> httpx.Client:
    """The process's keep-alive client (thread-safe), created on first use, after any fork."""
    global _client
    if _client is None:
        with _client_lock:
            if _client is None:
                _client = httpx.Client(limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))
    return _client


def _forget_client() -> None:
    # A forked child must not share the parent's sockets.
    global _client
    _client = None


os.register_at_fork(after_in_child=_forget_client)


def _is_transient(status_code: int) -> bool:
    return status_code >= 500 or status_code == 429


def send(
    method: str,
    url: str,
    *,
    json: Any = None,
    headers: dict[str, str] | None = None,
    accept_statuses: tuple[int, ...] = (),
    timeout: float | None = None,
    max_attempts: int | None = None,
    backoff: float | None = None,
) -> HTTPResult:
    """Send one request, retrying transient failures. 2xx and `accept_statuses` succeed."""
    timeout = settings.HTTP_CLIENT_TIMEOUT_SECONDS if timeout is None else timeout
    attempts = settings.HTTP_CLIENT_MAX_ATTEMPTS if max_attempts is None else max_attempts
    if _single_attempt.get():
        attempts = 1
    delay = settings.HTTP_CLIENT_BACKOFF_SECONDS if backoff is None else backoff
    # Waits delay, 2*delay, 4*delay... plus up to `delay` of jitter; bounded by attempts, not by time.
    retries = stamina.retry_context(
        on=TransientHTTPError,
        attempts=attempts,
        timeout=None,
        wait_initial=delay,
        wait_exp_base=2,
        wait_jitter=delay,
        wait_max=delay * 2**attempts,
    )
    for attempt in retries:
        with attempt:
            try:
                return _attempt(
                    method, url, json=json, headers=headers, accept_statuses=accept_statuses, timeout=timeout
                )
            except TransientHTTPError as exc:
                if attempt.num < attempts:
                    logger.warning("attempt %d/%d failed, retrying: %s", attempt.num, attempts, exc)
                raise
    raise AssertionError("stamina.retry_context makes at least one attempt")


def _attempt(
    method: str,
    url: str,
    *,
    json: Any,
    headers: dict[str, str] | None,
    accept_statuses: tuple[int, ...],
    timeout: float,
) -> HTTPResult:
    try:
        response = shared_client().request(method, url, json=json, headers=headers, timeout=timeout)
    except httpx.TransportError as exc:  # connection refused, reset, timeout
        raise TransientHTTPError(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc
    status_code = response.status_code
    if 200 <= status_code < 300 or status_code in accept_statuses:
        body: Any
        try:
            body = response.json() if response.content else None
        except ValueError:
            body = response.text
        return HTTPResult(status_code=status_code, body=body)
    if _is_transient(status_code):
        raise TransientHTTPError(f"{method} {url}: HTTP {status_code}", status_code=status_code)
    raise PermanentHTTPError(f"{method} {url}: HTTP {status_code}", status_code=status_code)
