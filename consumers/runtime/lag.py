"""How far behind each consumer group is, per partition: in messages, and in seconds (the age of
the oldest message it has not consumed yet)."""

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from consumers.registry import ConsumerDefinition
from events.broker import client_config


@dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # next offset the group will read; None before its first commit
    end: int
    lag: int
    lag_seconds: float


@dataclass(frozen=True)
class GroupLag:
    consumer: str
    group: str
    partitions: list[PartitionLag] = field(default_factory=list)
    missing_topics: list[str] = field(default_factory=list)

    @property
    def lag(self) -> int:
        return sum(p.lag for p in self.partitions)

    @property
    def lag_seconds(self) -> float:
        return max((p.lag_seconds for p in self.partitions), default=0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "consumer": self.consumer,
            "group": self.group,
            "lag": self.lag,
            "lag_seconds": self.lag_seconds,
            "missing_topics": self.missing_topics,
            "partitions": [asdict(p) for p in self.partitions],
        }


def _oldest_unconsumed_timestamps(
    reader: Consumer, positions: list[TopicPartition], *, timeout: float
) -> dict[tuple[str, int], float]:
    """Timestamp (seconds) of the message at each position, read without joining the group."""
    if not positions:
        return {}
    reader.assign(positions)
    wanted = {(tp.topic, tp.partition) for tp in positions}
    found: dict[tuple[str, int], float] = {}
    deadline = time.monotonic() + timeout
    try:
        while wanted - found.keys() and time.monotonic() < deadline:
            message = reader.poll(0.2)
            if message is None or message.error() is not None:
                continue
            key = (message.topic() or "", message.partition() or 0)
            if key in wanted and key not in found:
                _, timestamp_ms = message.timestamp()
                found[key] = timestamp_ms / 1000.0
                reader.pause([TopicPartition(key[0], key[1])])
    finally:
        reader.unassign()
    return found


def consumer_lag_report(*, definitions: list[ConsumerDefinition], timeout: float = 10.0) -> list[GroupLag]:
    """Committed offset, end offset and lag of every partition of every group's topics."""
    report: list[GroupLag] = []
    for definition in definitions:
        reader = Consumer(
            client_config(
                **{"group.id": definition.group, "enable.auto.commit": False, "enable.auto.offset.store": False}
            )
        )
        try:
            partitions: list[TopicPartition] = []
            missing: list[str] = []
            for topic in definition.topic_names:
                metadata = reader.list_topics(topic, timeout=timeout).topics.get(topic)
                if metadata is None or metadata.error is not None:
                    if metadata is not None and metadata.error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
                        raise RuntimeError(f"topic {topic}: {metadata.error}")
                    missing.append(topic)
                    continue
                partitions.extend(TopicPartition(topic, p) for p in sorted(metadata.partitions))
            committed = reader.committed(partitions, timeout=timeout) if partitions else []
            rows: list[tuple[TopicPartition, int | None, int, int]] = []
            for tp in committed:
                low, high = reader.get_watermark_offsets(TopicPartition(tp.topic, tp.partition), timeout=timeout)
                done = tp.offset if tp.offset >= 0 else None
                start = max(done if done is not None else low, low)
                rows.append((tp, done, high, max(high - start, 0)))
            lagging = [TopicPartition(tp.topic, tp.partition, high - lag) for tp, _, high, lag in rows if lag > 0]
            timestamps = _oldest_unconsumed_timestamps(reader, lagging, timeout=timeout)
            now = time.time()
            report.append(
                GroupLag(
                    consumer=definition.name,
                    group=definition.group,
                    missing_topics=missing,
                    partitions=[
                        PartitionLag(
                            topic=tp.topic,
                            partition=tp.partition,
                            committed=done,
                            end=high,
                            lag=lag,
                            lag_seconds=round(max(now - timestamps[(tp.topic, tp.partition)], 0.0), 3)
                            if lag and (tp.topic, tp.partition) in timestamps
                            else 0.0,
                        )
                        for tp, done, high, lag in rows
                    ],
                )
            )
        finally:
            reader.close()
    return report
