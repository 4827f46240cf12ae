"""Dead-letter topics: writing a failed message to `delivery-events.dlq.<consumer>` and replaying it.

A dead letter keeps the original key, value and headers and adds `error`, `consumer`,
`attempts`, `original_topic`, `original_partition` and `original_offset`. Replaying puts
the original back on its topic: every consumer sees it again, and the ones that already
processed it skip it (ProcessedEvent).
"""

import json
import logging
import time
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import asdict, dataclass
from typing import Any

from arroyo.backends.abstract import ProducerFuture
from arroyo.backends.kafka import KafkaPayload, KafkaProducer
from arroyo.dlq import DlqLimit, DlqLimitState, DlqProducer
from arroyo.types import BrokerValue, Partition, Topic
from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from consumers.registry import ConsumerDefinition
from events.broker import client_config, idempotent_producer_config
from events.topics import topic_name

logger = logging.getLogger(__name__)

DLQ_HEADERS = ("error", "consumer", "attempts", "original_topic", "original_partition", "original_offset")

# A dead letter that is not acknowledged in this time fails the consumer (no commit) instead of wedging it.
DLQ_DELIVERY_TIMEOUT_MS = 30_000


def _decode(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def header_pairs(message: Message) -> list[tuple[str, str | bytes | None]]:
    headers = message.headers() or []
    return list(headers.items()) if isinstance(headers, dict) else list(headers)


def message_headers(message: Message) -> dict[str, str]:
    return {name: _decode(value) for name, value in header_pairs(message)}


@dataclass(frozen=True)
class DeadLetterReason:
    """Why a message is dead-lettered; travels as `InvalidMessage.reason` to the DLQ producer."""

    error: str
    attempts: int
    reason: str  # invalid, permanent, exhausted

    def encode(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def decode(cls, text: str | None) -> "DeadLetterReason":
        try:
            return cls(**json.loads(text or ""))
        except (TypeError, ValueError):
            return cls(error=text or "", attempts=1, reason="invalid")


class DeadLetterProducer(DlqProducer[KafkaPayload]):
    """arroyo's DLQ producer for `delivery-events.dlq.<consumer>`, with the contract's headers.

    The original key, value and headers are kept; `error`, `consumer`, `attempts`,
    `original_topic`, `original_partition` and `original_offset` are added. It never raises
    while producing: arroyo drops a message whose DLQ write raises, so a refusal is returned as
    a failed future, which fails the commit (and the consumer) instead of losing the message.
    """

    def __init__(self, definition: ConsumerDefinition, *, bootstrap: str | None = None) -> None:
        self.definition = definition
        overrides: dict[str, Any] = {"message.timeout.ms": DLQ_DELIVERY_TIMEOUT_MS}
        if bootstrap:
            overrides["bootstrap.servers"] = bootstrap
        self.producer = KafkaProducer(idempotent_producer_config(**overrides))

    def produce(
        self, value: BrokerValue[KafkaPayload], reason: str | None = None
    ) -> ProducerFuture[BrokerValue[KafkaPayload]]:
        why = DeadLetterReason.decode(reason)
        headers: list[tuple[str, bytes]] = [
            (name, header) for name, header in value.payload.headers if name not in DLQ_HEADERS
        ]
        headers += [
            ("error", why.error[:2000].encode()),
            ("consumer", self.definition.name.encode()),
            ("attempts", str(why.attempts).encode()),
            ("original_topic", value.partition.topic.name.encode()),
            ("original_partition", str(value.partition.index).encode()),
            ("original_offset", str(value.offset).encode()),
        ]
        payload = KafkaPayload(value.payload.key, value.payload.value, headers)
        try:
            return self.producer.produce(Topic(self.definition.dlq_topic), payload)
        except Exception as exc:  # e.g. over the broker's size limit: fail the commit, never drop
            logger.error("consumer %s: dead letter refused: %s", self.definition.name, exc)
            failed: Future[BrokerValue[KafkaPayload]] = Future()
            failed.set_exception(exc)
            return failed

    @classmethod
    def build_initial_state(cls, limit: DlqLimit | None, assignment: Mapping[Partition, int]) -> DlqLimitState:
        # The limit is kept in the database (consumers.runtime.dead_letter_limit), not in memory.
        return DlqLimitState(None)

    def ensure_topics(self, topics: tuple[str, ...], *, bootstrap: str, timeout: float = 10.0) -> None:
        """Ask for the topics' metadata: brokers that auto-create topics create them now."""
        admin = Producer(client_config(**{"bootstrap.servers": bootstrap}))
        try:
            for topic in topics:
                try:
                    admin.list_topics(topic, timeout=timeout)
                except Exception as exc:  # the consumer still starts; the broker reports missing topics
                    logger.warning("could not look up topic %s: %s", topic, exc)
        finally:
            admin.flush(1)

    def close(self) -> None:
        self.producer.close().result(timeout=10)


@dataclass(frozen=True)
class DeadLetter:
    partition: int
    offset: int
    event_id: str
    event_type: str
    error: str
    attempts: str
    original_topic: str
    original_partition: str
    original_offset: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _dead_letter(message: Message) -> DeadLetter:
    headers = message_headers(message)
    return DeadLetter(
        partition=message.partition() or 0,
        offset=message.offset() or 0,
        event_id=headers.get("event_id", ""),
        event_type=headers.get("event_type", ""),
        error=headers.get("error", ""),
        attempts=headers.get("attempts", ""),
        original_topic=headers.get("original_topic", ""),
        original_partition=headers.get("original_partition", ""),
        original_offset=headers.get("original_offset", ""),
    )


def dead_letters_replay(
    *, definition: ConsumerDefinition, limit: int | None = None, dry_run: bool = False, timeout: float = 30.0
) -> list[DeadLetter]:
    """Put a consumer's dead letters back on their original topic, oldest first per partition.

    Progress is kept as the committed offsets of the group `<group>.dlq-replay`, so each dead
    letter is replayed once. `dry_run` lists what would be replayed and changes nothing.
    """
    dlq = definition.dlq_topic
    reader = Consumer(
        client_config(
            **{
                "group.id": f"{definition.group}.dlq-replay",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "enable.partition.eof": True,
            }
        )
    )
    producer: Producer | None = None
    try:
        metadata = reader.list_topics(dlq, timeout=10)
        topic_metadata = metadata.topics.get(dlq)
        if topic_metadata is None or topic_metadata.error is not None:
            return []
        partitions = sorted(topic_metadata.partitions)
        committed = {
            tp.partition: tp.offset for tp in reader.committed([TopicPartition(dlq, p) for p in partitions], timeout=10)
        }
        start: dict[int, int] = {}
        for partition in partitions:
            low, _high = reader.get_watermark_offsets(TopicPartition(dlq, partition), timeout=10)
            start[partition] = max(committed.get(partition, -1), low)
        # Each partition is read to its end-of-partition marker, not to its high watermark: some
        # Kafka-protocol brokers (Tansu) report a wrong end offset after multi-record batches.
        pending = set(partitions)
        reader.assign([TopicPartition(dlq, p, start[p]) for p in sorted(pending)])
        if not dry_run:
            producer = Producer(idempotent_producer_config())
        replayed: list[DeadLetter] = []
        next_offsets: dict[int, int] = {}
        failures: list[KafkaError] = []
        deadline = time.monotonic() + timeout
        while pending and (limit is None or len(replayed) < limit):
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {dlq} took longer than {timeout:.0f} s")
            message = reader.poll(0.5)
            if message is None:
                continue
            partition = message.partition() or 0
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    pending.discard(partition)
                    continue
                raise RuntimeError(f"reading {dlq}: {error}")
            offset = message.offset() or 0
            if partition not in pending:
                continue
            letter = _dead_letter(message)
            replayed.append(letter)
            next_offsets[partition] = offset + 1
            if producer is not None:
                headers = [(name, value) for name, value in header_pairs(message) if name not in DLQ_HEADERS]
                headers.append(("replayed_from", dlq.encode()))
                producer.produce(
                    letter.original_topic or topic_name(),
                    key=message.key(),
                    value=message.value(),
                    headers=headers,
                    on_delivery=lambda err, msg: failures.append(err) if err is not None else None,
                )
                producer.poll(0)
        if producer is not None and replayed:
            if producer.flush(timeout) > 0 or failures:
                raise RuntimeError(f"replaying to the original topic failed: {failures[0] if failures else 'timeout'}")
            reader.commit(
                offsets=[TopicPartition(dlq, p, offset) for p, offset in sorted(next_offsets.items())],
                asynchronous=False,
            )
        return replayed
    finally:
        reader.close()
        if producer is not None:
            producer.close()
