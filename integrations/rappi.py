"""Aggregator (Rappi-style) orders API client (contract §8).

`GET {RAPPI_API_BASE_URL}/orders?status=NEW`, `PUT .../orders/{id}/take`,
`PUT .../orders/{id}/reject {"reason"}`. With `RAPPI_API_BASE_URL` unset, a console
backend records what it would send and has no new orders.
"""

import logging
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol
from urllib.parse import quote

from django.conf import settings

from integrations.backends import load_backend
from integrations.http import PermanentHTTPError, send

logger = logging.getLogger(__name__)


class RappiBackend(Protocol):
    def orders_new(self) -> list[Any]: ...

    def order_take(self, *, aggregator_id: str) -> None: ...

    def order_reject(self, *, aggregator_id: str, reason: str) -> None: ...


class HttpRappiBackend:
    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = (base_url or settings.RAPPI_API_BASE_URL).rstrip("/")

    def orders_new(self) -> list[Any]:
        result = send("GET", f"{self.base_url}/orders?status=NEW")
        if not isinstance(result.body, list):
            raise PermanentHTTPError(
                f"GET {self.base_url}/orders: expected a JSON list", status_code=result.status_code
            )
        return result.body

    def order_take(self, *, aggregator_id: str) -> None:
        # 409: the order was already taken (by an earlier attempt of ours): taking is idempotent.
        send("PUT", self._order_url(aggregator_id, "take"), accept_statuses=(409,))

    def order_reject(self, *, aggregator_id: str, reason: str) -> None:
        send("PUT", self._order_url(aggregator_id, "reject"), json={"reason": reason}, accept_statuses=(409,))

    def _order_url(self, aggregator_id: str, action: str) -> str:
        return f"{self.base_url}/orders/{quote(aggregator_id, safe='')}/{action}"


@dataclass(frozen=True)
class ConsoleCall:
    method: str
    path: str
    body: dict[str, Any] | None = None


class ConsoleRappiBackend:
    """Records and logs what it would send (RAPPI_API_BASE_URL unset); it never has new orders."""

    # What every console instance recorded, like `django.core.mail.outbox`.
    sent: ClassVar[list[ConsoleCall]] = []

    def orders_new(self) -> list[Any]:
        return []

    def order_take(self, *, aggregator_id: str) -> None:
        self._record(ConsoleCall("PUT", f"/orders/{aggregator_id}/take"))

    def order_reject(self, *, aggregator_id: str, reason: str) -> None:
        self._record(ConsoleCall("PUT", f"/orders/{aggregator_id}/reject", {"reason": reason}))

    def _record(self, call: ConsoleCall) -> None:
        self.sent.append(call)
        logger.info("Rappi API (console): %s %s %s", call.method, call.path, call.body or "")


# An instance to read the shared record through.
console_rappi = ConsoleRappiBackend()


def rappi_backend() -> RappiBackend:
    """The `RAPPI_BACKEND` setting's class; by default HTTP when RAPPI_API_BASE_URL is set, else the console."""
    default = "HttpRappiBackend" if settings.RAPPI_API_BASE_URL else "ConsoleRappiBackend"
    backend: RappiBackend = load_backend("RAPPI_BACKEND", default=f"{__name__}.{default}")
    return backend
