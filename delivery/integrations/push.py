"""Customer push gateway client (contract §8)."""

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings

from delivery.integrations.http import send

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
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def send(self, notification: PushNotification) -> None:
        send(
            "POST",
            f"{self.base_url}/notifications",
            json=notification.payload(),
            headers={"Idempotency-Key": notification.idempotency_key},
            accept_statuses=(409,),
        )


@dataclass
class ConsolePushBackend:
    """Records and logs what it would send (PUSH_GATEWAY_URL unset)."""

    sent: list[PushNotification] = field(default_factory=list)

    def send(self, notification: PushNotification) -> None:
        self.sent.append(notification)
        logger.info("push (console): %s", notification.payload())


console_push = ConsolePushBackend()


def push_backend() -> PushBackend:
    if settings.PUSH_GATEWAY_URL:
        return HttpPushBackend(settings.PUSH_GATEWAY_URL)
    return console_push
