"""Webhook signatures: `Rappi-Signature: t=<unix seconds>,sign=<hex HMAC-SHA256 of "<t>.<raw body>">`.

A signature is valid for 300 s either side of the server's clock (the replay guard) and
is compared in constant time.
"""

import hashlib
import hmac
import logging
import re

from delivery.errors import NotAuthenticated

logger = logging.getLogger(__name__)

HEADER = "Rappi-Signature"
REPLAY_WINDOW_SECONDS = 300
MAX_HEADER_LENGTH = 1024

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGN = re.compile(r"[0-9a-fA-F]{64}")


def signature_compute(*, body: bytes, secret: str, timestamp: str) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>.<body>"` with `secret`."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def signature_header(*, body: bytes, secret: str, timestamp: int) -> str:
    """The `Rappi-Signature` header value an aggregator sends with `body` at `timestamp`."""
    return f"t={timestamp},sign={signature_compute(body=body, secret=secret, timestamp=str(timestamp))}"


def signature_verify(*, header: str | None, body: bytes, secret: str, now: float) -> None:
    """Raise NotAuthenticated (codes `signature_missing`, `signature_invalid`, `signature_expired`) unless valid."""
    if not header:
        raise NotAuthenticated(f"The {HEADER} header is required.", code="signature_missing")
    if not secret:
        logger.error("RAPPI_WEBHOOK_SECRET is empty: every webhook is refused")
        raise NotAuthenticated("Webhooks are not configured.", code="signature_invalid")
    timestamp, signs = _parse(header)
    if timestamp is None or not signs:
        raise NotAuthenticated(f"Malformed {HEADER} header.", code="signature_invalid")
    if abs(now - int(timestamp)) > REPLAY_WINDOW_SECONDS:
        raise NotAuthenticated("The signature is too old or too far in the future.", code="signature_expired")
    expected = signature_compute(body=body, secret=secret, timestamp=timestamp).encode()
    # Check every candidate so the time taken does not depend on which one matched.
    matched = False
    for sign in signs:
        matched |= hmac.compare_digest(expected, sign.lower().encode())
    if not matched:
        raise NotAuthenticated("The signature does not match.", code="signature_invalid")


def _parse(header: str) -> tuple[str | None, list[str]]:
    if len(header) > MAX_HEADER_LENGTH:
        return None, []
    timestamp: str | None = None
    signs: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        value = value.strip()
        if name == "t" and _TIMESTAMP.fullmatch(value) and timestamp is None:
            timestamp = value
        elif name == "sign" and _SIGN.fullmatch(value):
            signs.append(value)
    return timestamp, signs
