"""Customer push gateway client (contract §8)."""

import logging
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from django.conf import settings

from integrations.backends import load_backend
from integrations.http import send

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PushNotification:
    idempotency_key: str
    user_id: int
    locale: str
    title: str
    body: str
    albaik_identifier: str
    status: str

    def payload(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "locale": self.locale,
            "title": self.title,
            "body": self.body,
            "albaik_identifier": self.albaik_identifier,
            "status": self.status,
        }


class PushBackend(Protocol):
    def send(self, notification: PushNotification) -> None: ...


class HttpPushBackend:
    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = (base_url or settings.PUSH_GATEWAY_URL).rstrip("/")

    def send(self, notification: PushNotification) -> None:
        send(
            "POST",
            f"{self.base_url}/notifications",
            json=notification.payload(),
            headers={"Idempotency-Key": notification.idempotency_key},
            accept_statuses=(409,),
        )


class ConsolePushBackend:
    """Records and logs what it would send (PUSH_GATEWAY_URL unset)."""

    # What every console instance recorded, like `django.core.mail.outbox`.
    sent: ClassVar[list[PushNotification]] = []

    def send(self, notification: PushNotification) -> None:
        self.sent.append(notification)
        logger.info("push (console): %s", notification.payload())


# An instance to read the shared record through.
console_push = ConsolePushBackend()


def push_backend() -> PushBackend:
    """The `PUSH_BACKEND` setting's class; by default HTTP when PUSH_GATEWAY_URL is set, else the console."""
    default = "HttpPushBackend" if settings.PUSH_GATEWAY_URL else "ConsolePushBackend"
    backend: PushBackend = load_backend("PUSH_BACKEND", default=f"{__name__}.{default}")
    return backend
