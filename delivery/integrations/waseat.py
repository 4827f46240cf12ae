"""WASEAT (POS/ERP) client: close an order (contract §8)."""

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings

from delivery.integrations.http import send

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
    def __init__(self, base_url: str, api_key: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key

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


@dataclass
class ConsoleWaseatBackend:
    """Records and logs what it would send (WASEAT_BASE_URL unset)."""

    sent: list[CloseRequest] = field(default_factory=list)

    def close_order(self, request: CloseRequest) -> None:
        self.sent.append(request)
        logger.info("WASEAT close (console): %s", request.body())


console_waseat = ConsoleWaseatBackend()


def waseat_backend() -> WaseatBackend:
    if settings.WASEAT_BASE_URL:
        return HttpWaseatBackend(settings.WASEAT_BASE_URL, settings.WASEAT_API_KEY)
    return console_waseat
