"""WASEAT (POS/ERP) client: close an order (contract §8)."""

import logging
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from django.conf import settings

from integrations.backends import load_backend
from integrations.http import send

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CloseRequest:
    albaik_identifier: str
    total: str
    delivery_status: str
    delivered_at: str | None

    def body(self) -> dict[str, Any]:
        return {
            "albaik_identifier": self.albaik_identifier,
            "total": self.total,
            "delivery_status": self.delivery_status,
            "delivered_at": self.delivered_at,
        }


class WaseatBackend(Protocol):
    def close_order(self, request: CloseRequest) -> None: ...


class HttpWaseatBackend:
    def __init__(self, base_url: str | None = None, api_key: str | None = None) -> None:
        self.base_url = (base_url or settings.WASEAT_BASE_URL).rstrip("/")
        self.api_key = settings.WASEAT_API_KEY if api_key is None else api_key

    def close_order(self, request: CloseRequest) -> None:
        headers = {"Idempotency-Key": f"close-{request.albaik_identifier}"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        # 409 means WASEAT already closed it: the close is idempotent.
        send(
            "POST",
            f"{self.base_url}/orders/{request.albaik_identifier}/close",
            json=request.body(),
            headers=headers,
            accept_statuses=(409,),
        )


class ConsoleWaseatBackend:
    """Records and logs what it would send (WASEAT_BASE_URL unset)."""

    # What every console instance recorded, like `django.core.mail.outbox`.
    sent: ClassVar[list[CloseRequest]] = []

    def close_order(self, request: CloseRequest) -> None:
        self.sent.append(request)
        logger.info("WASEAT close (console): %s", request.body())


# An instance to read the shared record through.
console_waseat = ConsoleWaseatBackend()


def waseat_backend() -> WaseatBackend:
    """The `WASEAT_BACKEND` setting's class; by default HTTP when WASEAT_BASE_URL is set, else the console."""
    default = "HttpWaseatBackend" if settings.WASEAT_BASE_URL else "ConsoleWaseatBackend"
    backend: WaseatBackend = load_backend("WASEAT_BACKEND", default=f"{__name__}.{default}")
    return backend
