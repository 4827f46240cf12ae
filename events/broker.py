"""Where the Kafka-protocol broker is, the client settings every component shares, and the
embedded broker of `devserver` and the tests.

The embedded broker is librdkafka's mock cluster: a client created with
`test.mock.num.brokers` starts it in-process, and its real address is announced in the
client's log. It speaks the real protocol on loopback (produce, idempotence, consumer
groups, offsets), keeps nothing on disk and cannot create topics: they auto-create with
4 partitions.
"""

import logging
import queue
import re
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from django.conf import settings

logger = logging.getLogger(__name__)
client_logger = logging.getLogger("kafka.client")

_ANNOUNCEMENT = re.compile(r"replaced with (?P<address>\S+)")


class BrokerNotConfigured(RuntimeError):
    """Neither `KAFKA_BOOTSTRAP_SERVERS` nor a running devserver's `var/kafka.bootstrap`."""


def bootstrap_servers() -> str:
    """settings.KAFKA_BOOTSTRAP_SERVERS, else var/kafka.bootstrap (KAFKA_BOOTSTRAP_FILE), else a clear error."""
    if settings.KAFKA_BOOTSTRAP_SERVERS:
        return str(settings.KAFKA_BOOTSTRAP_SERVERS)
    path = Path(settings.KAFKA_BOOTSTRAP_FILE)
    try:
        address = path.read_text().strip()
    except FileNotFoundError:
        address = ""
    if not address:
        raise BrokerNotConfigured(
            f"No Kafka broker: KAFKA_BOOTSTRAP_SERVERS is unset and {path} does not exist. "
            "Start `manage.py devserver` (it runs the embedded broker) or set KAFKA_BOOTSTRAP_SERVERS."
        )
    return address


def client_config(**overrides: Any) -> dict[str, Any]:
    """Settings shared by every client; librdkafka's own log goes to Python logging."""
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap_servers(),
        "logger": client_logger,
        # A broker outage is retried by librdkafka itself; cap the reconnect backoff.
        "reconnect.backoff.ms": 100,
        "reconnect.backoff.max.ms": 2000,
    }
    config.update(overrides)
    return config


def idempotent_producer_config(**overrides: Any) -> dict[str, Any]:
    """An idempotent producer: per-partition order, no duplicates from its own retries."""
    return client_config(
        **{
            "enable.idempotence": True,
            "acks": "all",
            "linger.ms": settings.KAFKA_PRODUCER_LINGER_MS,
            # Bounded: every message gets a report; the relay resends what failed from the outbox,
            # so a wedged producer can never hold events without saying so.
            "message.timeout.ms": settings.KAFKA_DELIVERY_TIMEOUT_MS,
            "message.max.bytes": settings.KAFKA_MESSAGE_MAX_BYTES,
            **overrides,
        }
    )


class EmbeddedBroker:
    """Owns a librdkafka mock cluster; it lives as long as the owning client does."""

    def __init__(self, owner: Producer, bootstrap_servers: str) -> None:
        self._owner: Producer | None = owner
        self.bootstrap_servers = bootstrap_servers

    def stop(self) -> None:
        owner, self._owner = self._owner, None
        if owner is not None:
            owner.close()


class _LogLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: queue.SimpleQueue[str] = queue.SimpleQueue()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.put(record.getMessage())


def embedded_broker_start(*, timeout: float = 10.0) -> EmbeddedBroker:
    """Start a one-broker mock cluster on loopback and return it with its bootstrap address."""
    announcements = _LogLines()
    owner_logger = logging.getLogger("kafka.embedded")
    owner_logger.addHandler(announcements)
    owner_logger.setLevel(logging.DEBUG)
    owner_logger.propagate = False
    owner = Producer({"test.mock.num.brokers": 1, "logger": owner_logger, "debug": "conf"})
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            owner.poll(0.05)  # delivers queued client log lines to the handler
            while not announcements.lines.empty():
                match = _ANNOUNCEMENT.search(announcements.lines.get())
                if match:
                    address = match.group("address")
                    logger.info("embedded Kafka-protocol broker listening on %s", address)
                    return EmbeddedBroker(owner, address)
        owner.close()
        raise RuntimeError("the embedded broker did not announce its address")
    finally:
        owner_logger.removeHandler(announcements)


class EmbeddedBrokerService:
    """devserver: the embedded broker, announced to other shells through var/kafka.bootstrap."""

    name = "kafka-broker"

    def __init__(self) -> None:
        self._broker: EmbeddedBroker | None = None
        self._file = Path(settings.KAFKA_BOOTSTRAP_FILE)

    def start(self) -> None:
        self._broker = embedded_broker_start()
        self._file.parent.mkdir(parents=True, exist_ok=True)
        self._file.write_text(self._broker.bootstrap_servers + "\n")

    def stop(self, timeout: float = 10.0) -> None:
        broker, self._broker = self._broker, None
        if broker is None:
            return
        try:
            if self._file.read_text().strip() == broker.bootstrap_servers:
                self._file.unlink()
        except FileNotFoundError:
            pass
        broker.stop()


def embedded_broker_services() -> list[EmbeddedBrokerService]:
    """The embedded broker, only when no real Kafka is configured."""
    return [] if settings.KAFKA_BOOTSTRAP_SERVERS else [EmbeddedBrokerService()]
