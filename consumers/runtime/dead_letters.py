"""Dead-letter topics: writing a failed message to `delivery-events.dlq.<consumer>` and replaying it.

A dead letter keeps the original key, value and headers and adds `error`, `consumer`,
`attempts`, `original_topic`, `original_partition` and `original_offset`. Replaying puts
the original back on its topic: every consumer sees it again, and the ones that already
processed it skip it (ProcessedEvent).
"""

import logging
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from confluent_kafka import Consumer, KafkaError, Message, Producer, TopicPartition

from consumers.registry import ConsumerDefinition
from events.broker import client_config, idempotent_producer_config
from events.topics import topic_name

logger = logging.getLogger(__name__)

DLQ_HEADERS = ("error", "consumer", "attempts", "original_topic", "original_partition", "original_offset")


class DeadLetterUnavailable(RuntimeError):
    """The dead-letter topic could not be written; the message stays uncommitted."""


def _decode(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def header_pairs(message: Message) -> list[tuple[str, str | bytes | None]]:
    headers = message.headers() or []
    return list(headers.items()) if isinstance(headers, dict) else list(headers)


def message_headers(message: Message) -> dict[str, str]:
    return {name: _decode(value) for name, value in header_pairs(message)}


class DeadLetterWriter:
    """Writes dead letters with an idempotent producer and waits for each to be acknowledged."""

    def __init__(self, definition: ConsumerDefinition, *, bootstrap: str | None = None) -> None:
        self.definition = definition
        overrides: dict[str, Any] = {"bootstrap.servers": bootstrap} if bootstrap else {}
        self.producer = Producer(idempotent_producer_config(**overrides))

    def ensure_topics(self, topics: tuple[str, ...], *, timeout: float = 10.0) -> None:
        """Ask for the topics' metadata: brokers that auto-create topics create them now."""
        for topic in topics:
            try:
                self.producer.list_topics(topic, timeout=timeout)
            except Exception as exc:  # the consumer still starts; the broker reports missing topics
                logger.warning("could not look up topic %s: %s", topic, exc)

    def send(self, message: Message, *, error: str, attempts: int, stopping: threading.Event) -> bool:
        """Write the dead letter and wait for the broker's acknowledgement.

        Returns False when asked to stop before it was acknowledged (the message is then not committed).
        """
        headers = [(name, value) for name, value in header_pairs(message) if name not in DLQ_HEADERS]
        headers += [
            ("error", error[:2000].encode()),
            ("consumer", self.definition.name.encode()),
            ("attempts", str(attempts).encode()),
            ("original_topic", (message.topic() or "").encode()),
            ("original_partition", str(message.partition()).encode()),
            ("original_offset", str(message.offset()).encode()),
        ]
        outcome: list[KafkaError | None] = []
        self.producer.produce(
            self.definition.dlq_topic,
            key=message.key(),
            value=message.value(),
            headers=headers,
            on_delivery=lambda err, msg: outcome.append(err),
        )
        while not outcome:
            self.producer.poll(0.5)
            if not outcome and stopping.is_set():
                self.producer.purge()
                self.producer.poll(0)
                return False
        if outcome[0] is not None:
            raise DeadLetterUnavailable(f"could not write to {self.definition.dlq_topic}: {outcome[0]}")
        return True

    def close(self) -> None:
        self.producer.flush(5.0)
        self.producer.close()


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
        end: dict[int, int] = {}
        for partition in partitions:
            low, high = reader.get_watermark_offsets(TopicPartition(dlq, partition), timeout=10)
            start[partition] = max(committed.get(partition, -1), low)
            end[partition] = high
        pending = {p for p in partitions if start[p] < end[p]}
        if not pending:
            return []
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
            if partition not in pending or offset >= end[partition]:
                pending.discard(partition)
                continue
            letter = _dead_letter(message)
            replayed.append(letter)
            next_offsets[partition] = offset + 1
            if offset + 1 >= end[partition]:
                pending.discard(partition)
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
