"""The broker's and the relay's entries in `/readyz`: is a broker reachable, can the relay publish."""

import threading
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from django.conf import settings

from events.broker import BrokerNotConfigured, bootstrap_servers, client_config
from events.selectors import outbox_backlog

_clients: dict[str, AdminClient] = {}
_clients_lock = threading.Lock()


def _admin_client(address: str) -> AdminClient:
    with _clients_lock:
        if address not in _clients:
            _clients[address] = AdminClient(client_config(**{"bootstrap.servers": address}))
        return _clients[address]


def broker_readiness() -> dict[str, Any]:
    backlog = outbox_backlog()
    report: dict[str, Any] = {
        "outbox": {"backlog": backlog.size, "oldest_unpublished_age_seconds": round(backlog.oldest_age_seconds, 3)}
    }
    try:
        address = bootstrap_servers()
        metadata = _admin_client(address).list_topics(timeout=2)
    except (BrokerNotConfigured, KafkaException) as exc:
        return {"ok": False, "error": str(exc), **report}
    return {"ok": True, "bootstrap_servers": address, "brokers": len(metadata.brokers), **report}


def relay_readiness() -> dict[str, Any]:
    """Not ready while the relay cannot publish, read from the database (the relay may run elsewhere):
    the oldest publishable event waited longer than OUTBOX_READY_MAX_AGE_SECONDS, or events are parked."""
    backlog = outbox_backlog()
    publishing = backlog.oldest_age_seconds <= settings.OUTBOX_READY_MAX_AGE_SECONDS
    ready = publishing and backlog.parked == 0
    return {
        "ok": ready,
        "ready": ready,
        "publishing": publishing,
        "backlog": backlog.size,
        "oldest_unpublished_age_seconds": round(backlog.oldest_age_seconds, 3),
        "parked": backlog.parked,
    }
