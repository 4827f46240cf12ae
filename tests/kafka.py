"""pytest plugin: a real Kafka-protocol broker for the suite, and ways to drive it.

One broker per test session: librdkafka's mock cluster (embedded), or real Kafka when
`KAFKA_BOOTSTRAP_SERVERS` is set. Each test that asks for `kafka` gets its own topic prefix
(so its own topics and consumer groups) and Django settings pointing at the broker.
`relay` and `consumer` run the real outbox relay and consumer runtime on threads and stop
them (and close their database connections) when the test ends. Use them with
`pytest.mark.django_db(transaction=True)`: the threads commit for real.
"""

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, Producer, TopicPartition
from django.db import connection

from consumers.registry import ConsumerDefinition, register
from consumers.runtime import ConsumerHalted, ConsumerRunner
from events.broker import EmbeddedBroker, embedded_broker_start
from events.relay import OutboxRelay
from events.topics import topic_name
from tests.processes import wait_for
from tests.tansu import BROKER_KIND_ENV, LIST_OFFSETS_LIMIT

__all__ = ["KafkaTestBroker", "TCPGate", "wait_for"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On Tansu, a check that must trust end offsets is a known broker limit: expected to fail.

    Not strictly: a run whose batches all hold one record passes.
    """
    if os.environ.get(BROKER_KIND_ENV) != "tansu":
        return
    for item in items:
        if item.get_closest_marker("tansu_limit") is not None:
            item.add_marker(pytest.mark.xfail(reason=LIST_OFFSETS_LIMIT, strict=False))


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """The session's broker address: KAFKA_BOOTSTRAP_SERVERS, or an embedded mock cluster."""
    configured = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "")
    if configured:
        yield configured
        return
    broker: EmbeddedBroker = embedded_broker_start()
    try:
        yield broker.bootstrap_servers
    finally:
        broker.stop()


@dataclass
class KafkaTestBroker:
    """The broker as one test sees it: its own topic prefix, and plain clients to inspect topics."""

    bootstrap: str
    prefix: str
    _producer: Producer | None = field(default=None, repr=False)

    def topic(self, logical: str = "delivery-events") -> str:
        return topic_name(logical)

    @property
    def producer(self) -> Producer:
        if self._producer is None:
            self._producer = Producer({"bootstrap.servers": self.bootstrap, "enable.idempotence": True})
        return self._producer

    def produce(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Produce one message and wait for the broker's acknowledgement."""
        errors: list[KafkaError | None] = []
        self.producer.produce(
            topic,
            value=value,
            key=key.encode() if key is not None else None,
            headers=list((headers or {}).items()),
            on_delivery=lambda err, msg: errors.append(err),
        )
        self.producer.flush(10)
        assert errors == [None], errors

    def ensure_topic(self, topic: str) -> int:
        """Create the topic (brokers auto-create on a metadata request); returns its partition count."""
        metadata = self.producer.list_topics(topic, timeout=10)
        return len(metadata.topics[topic].partitions)

    def read(self, topic: str, *, timeout: float = 15.0) -> list[Message]:
        """Every message now in the topic, per partition in offset order (no consumer group).

        Each partition is read to its end-of-partition marker rather than to the end offset of
        ListOffsets(latest), which Tansu answers wrongly after multi-record batches.
        """
        reader = Consumer(
            {
                "bootstrap.servers": self.bootstrap,
                "group.id": f"reader-{uuid.uuid4()}",
                "enable.partition.eof": True,
                "enable.auto.commit": False,
            }
        )
        try:
            metadata = reader.list_topics(topic, timeout=10).topics.get(topic)
            if metadata is None or metadata.error is not None:
                return []
            pending = set(metadata.partitions)
            reader.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(pending)])
            messages: list[Message] = []

            def all_read() -> bool:
                message = reader.poll(0.2)
                if message is None:
                    return not pending
                error = message.error()
                if error is None:
                    messages.append(message)
                elif error.code() == KafkaError._PARTITION_EOF:
                    pending.discard(message.partition() or 0)
                return not pending

            if pending:
                wait_for(all_read, timeout=timeout, interval=0, what=f"the messages of {topic}")
            return messages
        finally:
            reader.close()

    def committed(self, group: str, topic: str) -> dict[int, int]:
        """The group's committed offsets (partition -> next offset), partitions without a commit left out."""
        reader = Consumer({"bootstrap.servers": self.bootstrap, "group.id": group, "enable.auto.commit": False})
        try:
            metadata = reader.list_topics(topic, timeout=10).topics[topic]
            offsets = reader.committed([TopicPartition(topic, p) for p in metadata.partitions], timeout=10)
            return {tp.partition: tp.offset for tp in offsets if tp.offset >= 0}
        finally:
            reader.close()

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(5)
            self._producer.close()


@pytest.fixture
def kafka(kafka_bootstrap: str, settings: Any) -> Iterator[KafkaTestBroker]:
    """This test's view of the broker; settings point at it with a fresh topic prefix."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings.KAFKA_BOOTSTRAP_SERVERS = kafka_bootstrap
    settings.KAFKA_TOPIC_PREFIX = prefix
    broker = KafkaTestBroker(bootstrap=kafka_bootstrap, prefix=prefix)
    yield broker
    broker.close()


class BackgroundRunner:
    """A relay or consumer runner on a thread; `stop()` waits for it and re-raises what it raised."""

    def __init__(self, name: str, run: Callable[[], None], request_stop: Callable[[], None]) -> None:
        self.error: BaseException | None = None
        self._request_stop = request_stop
        self._run = run
        self._thread = threading.Thread(target=self._target, name=name, daemon=True)

    def _target(self) -> None:
        try:
            self._run()
        except BaseException as exc:
            self.error = exc
        finally:
            connection.close()

    def start(self) -> "BackgroundRunner":
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 30.0) -> None:
        self._request_stop()
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"{self._thread.name} did not stop within {timeout}s"

    def join(self, timeout: float) -> BaseException | None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), f"{self._thread.name} still running after {timeout}s"
        return self.error


@pytest.fixture
def relay(kafka: KafkaTestBroker) -> Iterator[Callable[..., BackgroundRunner]]:
    """Start the real outbox relay on a thread: `relay(**OutboxRelay kwargs)`."""
    started: list[BackgroundRunner] = []

    def start(**kwargs: Any) -> BackgroundRunner:
        kwargs.setdefault("poll_interval", 0.2)
        instance = OutboxRelay(**kwargs)
        runner = BackgroundRunner("test-relay", instance.run, instance.request_stop).start()
        started.append(runner)
        return runner

    yield start
    for runner in started:
        runner.stop()


@pytest.fixture
def consumer(kafka: KafkaTestBroker) -> Iterator[Callable[..., BackgroundRunner]]:
    """Register a consumer definition and run it on a thread: `consumer(definition, **ConsumerRunner kwargs)`."""
    started: list[BackgroundRunner] = []

    def start(definition: ConsumerDefinition, **kwargs: Any) -> BackgroundRunner:
        register(definition)
        instance = ConsumerRunner(definition, **kwargs)
        runner = BackgroundRunner(f"test-consumer-{definition.name}", instance.run, instance.request_stop).start()
        started.append(runner)
        return runner

    yield start
    for runner in started:
        runner.stop()
        if runner.error is not None and not isinstance(runner.error, ConsumerHalted):
            raise runner.error


class TCPGate:
    """A TCP forwarder to the broker that can be closed and opened: "the network to Kafka is down".

    It only moves bytes; Kafka itself is the real broker behind it.
    """

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self._target = (host, int(port))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.address = f"127.0.0.1:{self.port}"
        self._listener: socket.socket | None = None

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.close()
