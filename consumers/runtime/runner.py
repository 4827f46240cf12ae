"""The consumer run loop, written once for every consumer: arroyo's StreamProcessor.

arroyo (Sentry's consumer framework on confluent-kafka) owns the loop: it polls, hands
messages to the processing strategy (`consumers.runtime.strategy`), commits the offsets the
strategy forwards (at most once a second, and when partitions are revoked or the consumer
stops), and on rebalance closes the strategy, commits what it finished and starts a new one.
Dead letters go through its `DlqPolicy`, so an offset is committed only after its dead letter
is acknowledged. At-least-once: an offset is forwarded only after the message's effects and
its `ProcessedEvent` row are committed.

Group membership: a short session timeout (`KAFKA_CONSUMER_SESSION_TIMEOUT_MS`, 6 s) so a dead
member is replaced quickly, and static membership (`group.instance.id` from
`KAFKA_CONSUMER_INSTANCE_ID`) so a restarted member gets its partitions back without a
rebalance. Stopping (SIGTERM/SIGINT) finishes the batch in hand, commits and closes.
"""

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from arroyo.backends.kafka import KafkaPayload
from arroyo.commit import ONCE_PER_SECOND
from arroyo.dlq import DlqLimit, DlqPolicy
from arroyo.processing.processor import StreamProcessor
from arroyo.processing.strategies.abstract import ProcessingStrategy, ProcessingStrategyFactory
from arroyo.types import Commit, Partition, Topic
from django.conf import settings
from django.db import connection

from consumers.registry import ConsumerDefinition
from consumers.runtime.dead_letter_limit import DeadLetterLimit
from consumers.runtime.dead_letters import DeadLetterProducer
from consumers.runtime.health import ProgressHealth
from consumers.runtime.metrics import LAG
from consumers.runtime.strategy import ConsumerStrategy, LoopState, RuntimeConsumer, RuntimeSettings
from events.broker import bootstrap_servers, client_config

logger = logging.getLogger(__name__)


class ConsumerStrategyFactory(ProcessingStrategyFactory[KafkaPayload]):
    def __init__(
        self,
        *,
        definition: ConsumerDefinition,
        runtime: RuntimeSettings,
        limit: DeadLetterLimit,
        consumer: RuntimeConsumer,
    ) -> None:
        self.definition = definition
        self.runtime = runtime
        self.limit = limit
        self.consumer = consumer

    def create_with_partitions(
        self, commit: Commit, partitions: Mapping[Partition, int]
    ) -> ProcessingStrategy[KafkaPayload]:
        logger.info(
            "consumer %s: assigned %s",
            self.definition.name,
            ", ".join(f"{p.topic.name}[{p.index}]@{offset}" for p, offset in sorted(partitions.items())) or "nothing",
        )
        return ConsumerStrategy(
            definition=self.definition, settings=self.runtime, limit=self.limit, commit=commit, consumer=self.consumer
        )


class ConsumerRunner:
    """Runs one consumer until stopped. `run()` blocks; `request_stop()` may be called from anywhere."""

    def __init__(
        self,
        definition: ConsumerDefinition,
        *,
        bootstrap: str | None = None,
        consumer_overrides: dict[str, Any] | None = None,
        liveness_file: Path | None = None,
        instance_id: str | None = None,
        dead_letter_bootstrap: str | None = None,
    ) -> None:
        if len(definition.topics) != 1:
            raise ValueError(f"consumer {definition.name}: the runtime reads exactly one topic")
        self.definition = definition
        self.name = definition.name
        self.runtime = RuntimeSettings(
            batch_size=definition.batch_size or settings.CONSUMER_BATCH_SIZE,
            max_buffered=settings.CONSUMER_MAX_BUFFERED,
            max_attempts=definition.max_attempts or settings.CONSUMER_MAX_ATTEMPTS,
            backoff=(
                settings.CONSUMER_RETRY_BACKOFF_SECONDS
                if definition.retry_backoff_seconds is None
                else definition.retry_backoff_seconds
            ),
            statement_timeout_ms=settings.CONSUMER_STATEMENT_TIMEOUT_MS,
            key_concurrency=settings.CONSUMER_HTTP_CONCURRENCY if definition.concurrent_keys else 1,
        )
        self.limit = DeadLetterLimit(
            consumer=definition.name,
            limit=DlqLimit(
                max_invalid_ratio=definition.dlq_ratio_limit or settings.CONSUMER_DLQ_RATIO_LIMIT,
                max_consecutive_count=definition.dlq_max_consecutive or settings.CONSUMER_DLQ_MAX_CONSECUTIVE,
            ),
            window=definition.dlq_ratio_window or settings.CONSUMER_DLQ_RATIO_WINDOW,
        )
        self.health = ProgressHealth(
            consumer=definition.name,
            path=liveness_file or Path(settings.CONSUMER_LIVENESS_DIR) / f"{definition.name}.alive",
            stall_seconds=settings.CONSUMER_HEALTH_STALL_SECONDS,
        )
        self.liveness_file = self.health.path
        self._bootstrap = bootstrap
        self._dead_letter_bootstrap = dead_letter_bootstrap
        self._overrides = consumer_overrides or {}
        self._instance_id = settings.KAFKA_CONSUMER_INSTANCE_ID if instance_id is None else instance_id
        self._stopping = threading.Event()
        self._processor: StreamProcessor[KafkaPayload] | None = None
        self._consumer: RuntimeConsumer | None = None
        self._lag_timer: threading.Timer | None = None
        self._lag_labels: set[tuple[str, str, str]] = set()

    # -- lifecycle -------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stopping.set()
        consumer = self._consumer
        if consumer is not None:
            consumer.loop.stopping = True
        processor = self._processor
        if processor is not None:
            processor.signal_shutdown()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def consumer_config(self) -> dict[str, Any]:
        session_ms = settings.KAFKA_CONSUMER_SESSION_TIMEOUT_MS
        config = client_config(
            **{
                "group.id": self.definition.group,
                "client.id": f"consumer-{self.name}",
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": settings.KAFKA_CONSUMER_FETCH_WAIT_MS,
                "session.timeout.ms": session_ms,
                "heartbeat.interval.ms": max(100, min(3000, session_ms // 3)),
                "max.poll.interval.ms": max(settings.KAFKA_CONSUMER_MAX_POLL_INTERVAL_MS, session_ms),
                "allow.auto.create.topics": True,
                "error_cb": self._on_client_error,
            }
        )
        if self._instance_id:
            config["group.instance.id"] = f"{self.definition.group}-{self._instance_id}"
        config["bootstrap.servers"] = self._bootstrap or bootstrap_servers()
        config.update(self._overrides)
        return config

    def run(self) -> None:
        """Consume until stopped. Raises ConsumerHalted when the dead-letter limit trips."""
        config = self.consumer_config()
        dead_letters = DeadLetterProducer(
            self.definition, bootstrap=self._dead_letter_bootstrap or config["bootstrap.servers"]
        )
        consumer = self._consumer = RuntimeConsumer(config, loop=LoopState(), health=self.health)
        try:
            dead_letters.ensure_topics(self.definition.topic_names, bootstrap=config["bootstrap.servers"])
            self._processor = StreamProcessor(
                consumer=consumer,
                topic=Topic(self.definition.topic_names[0]),
                processor_factory=ConsumerStrategyFactory(
                    definition=self.definition, runtime=self.runtime, limit=self.limit, consumer=consumer
                ),
                commit_policy=ONCE_PER_SECOND,
                dlq_policy=DlqPolicy(producer=dead_letters),
            )
            logger.info(
                "consumer %s: subscribed to %s as group %s%s",
                self.name,
                self.definition.topic_names[0],
                self.definition.group,
                f" (instance {config['group.instance.id']})" if "group.instance.id" in config else "",
            )
            if self._stopping.is_set():
                consumer.loop.stopping = True
                self._processor.signal_shutdown()
            self._schedule_lag()
            self._processor.run()
        finally:
            if self._lag_timer is not None:
                self._lag_timer.cancel()
            if not consumer.closed:
                consumer.close()
            dead_letters.close()
            self._processor = None
            self._consumer = None
            for labels in self._lag_labels:
                LAG.remove(*labels)
            self._lag_labels.clear()
            self.health.remove()
            connection.close()
            logger.info("consumer %s: stopped", self.name)

    # -- errors, lag -----------------------------------------------------------------------

    def _on_client_error(self, error: Any) -> None:
        logger.warning("consumer %s: client error: %s", self.name, error)

    def _schedule_lag(self) -> None:
        self._lag_timer = threading.Timer(10.0, self._update_lag)
        self._lag_timer.daemon = True
        self._lag_timer.start()

    def _update_lag(self) -> None:
        consumer = self._consumer
        if consumer is None or self._stopping.is_set():
            return
        try:
            for partition, position in list(consumer.tell().items()):
                _, high = consumer.watermarks(partition)
                if high >= 0:
                    labels = (self.name, partition.topic.name, str(partition.index))
                    LAG.labels(*labels).set(max(high - position, 0))
                    self._lag_labels.add(labels)
        except Exception:  # the consumer is between states (rebalancing, closing): next time
            logger.debug("consumer %s: lag not updated", self.name, exc_info=True)
        self._schedule_lag()
