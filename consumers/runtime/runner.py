"""The consumer run loop, written once for every consumer.

At-least-once: offsets are stored (`enable.auto.offset.store=false`) only after the
handler's transaction committed, and committed from the stored offsets. Exactly-once
effects: the `ProcessedEvent(consumer, event_id)` row is inserted in that same
transaction, so a redelivered event is skipped. Messages are handled one at a time, in
partition order; a transient failure is retried in place with exponential backoff, so
per-key order holds. Permanent failures and exhausted retries go to the consumer's
dead-letter topic, guarded by a failure-ratio limit. Cooperative-sticky assignment;
partitions being revoked are committed before they go (nothing is in hand then, since
callbacks run inside `poll`). Stopping (SIGTERM/SIGINT) finishes the message in hand,
commits and closes.
"""

import contextlib
import enum
import logging
import threading
import time
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition
from django.conf import settings
from django.db import DatabaseError, connection, transaction

from consumers.errors import InvalidMessage, PermanentFailure
from consumers.models import ProcessedEvent
from consumers.registry import ConsumerDefinition, Handler
from consumers.runtime.dead_letters import DeadLetterWriter, message_headers
from consumers.runtime.metrics import DEAD_LETTERED, HALTED, HANDLER_SECONDS, LAG, PROCESSED, RETRIED
from consumers.runtime.ratio_guard import ConsumerHalted, RatioGuard
from consumers.runtime.time_limit import time_limit
from delivery.integrations.http import PermanentHTTPError
from events.broker import bootstrap_servers, client_config
from events.envelope import Event, InvalidEvent, peek_event_type

logger = logging.getLogger(__name__)

PERMANENT_ERRORS: tuple[type[Exception], ...] = (InvalidMessage, PermanentFailure, PermanentHTTPError)
MAX_BACKOFF_SECONDS = 30.0


class Outcome(enum.Enum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    SKIPPED = "skipped"
    DEAD_LETTERED = "dead_lettered"
    ABANDONED = "abandoned"  # asked to stop before it was done: not committed, redelivered later


class ConsumerRunner:
    """Runs one consumer until stopped. `run()` blocks; `request_stop()` may be called from anywhere."""

    def __init__(
        self,
        definition: ConsumerDefinition,
        *,
        bootstrap: str | None = None,
        consumer_overrides: dict[str, Any] | None = None,
        liveness_file: Path | None = None,
    ) -> None:
        self.definition = definition
        self.name = definition.name
        self.max_attempts = definition.max_attempts or settings.CONSUMER_MAX_ATTEMPTS
        self.backoff = (
            settings.CONSUMER_RETRY_BACKOFF_SECONDS
            if definition.retry_backoff_seconds is None
            else definition.retry_backoff_seconds
        )
        self.time_limit = definition.time_limit_seconds or settings.CONSUMER_TIME_LIMIT_SECONDS
        self.guard = RatioGuard(
            limit=definition.dlq_ratio_limit or settings.CONSUMER_DLQ_RATIO_LIMIT,
            window=definition.dlq_ratio_window or settings.CONSUMER_DLQ_RATIO_WINDOW,
        )
        self.liveness_file = liveness_file or Path(settings.CONSUMER_LIVENESS_DIR) / f"{definition.name}.alive"
        self._bootstrap = bootstrap
        self._overrides = consumer_overrides or {}
        self._stopping = threading.Event()
        self._consumer: Consumer | None = None
        self._dead_letters: DeadLetterWriter | None = None
        self._stored: dict[tuple[str, int], int] = {}  # next offset to commit, per assigned partition
        self._assigned: set[tuple[str, int]] = set()
        self._next_touch = 0.0
        self._next_lag = 0.0

    # -- lifecycle -------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def _consumer_config(self) -> dict[str, Any]:
        session_ms = settings.KAFKA_CONSUMER_SESSION_TIMEOUT_MS
        # Worst case for one message: every attempt hits the time limit, plus the backoffs between.
        worst_case_s = self.max_attempts * (self.time_limit + MAX_BACKOFF_SECONDS) + 60
        config = client_config(
            **{
                "group.id": self.definition.group,
                "client.id": f"consumer-{self.name}",
                "enable.auto.commit": True,
                "auto.commit.interval.ms": 1000,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "fetch.wait.max.ms": settings.KAFKA_CONSUMER_FETCH_WAIT_MS,
                "partition.assignment.strategy": "cooperative-sticky",
                "session.timeout.ms": session_ms,
                "heartbeat.interval.ms": max(100, min(3000, session_ms // 3)),
                "max.poll.interval.ms": max(300_000, int(worst_case_s * 1000)),
                "allow.auto.create.topics": True,
                "error_cb": self._on_client_error,
            }
        )
        config["bootstrap.servers"] = self._bootstrap or bootstrap_servers()
        config.update(self._overrides)
        return config

    def run(self) -> None:
        """Consume until stopped. Raises ConsumerHalted when the ratio guard trips."""
        consumer = self._consumer = Consumer(self._consumer_config())
        self._dead_letters = DeadLetterWriter(self.definition, bootstrap=self._bootstrap)
        try:
            self._dead_letters.ensure_topics(self.definition.topic_names)
            consumer.subscribe(
                list(self.definition.topic_names),
                on_assign=self._on_assign,
                on_revoke=self._on_revoke,
                on_lost=self._on_lost,
            )
            logger.info(
                "consumer %s: subscribed to %s as group %s",
                self.name,
                self.definition.topic_names,
                self.definition.group,
            )
            while not self._stopping.is_set():
                self._housekeeping()
                message = consumer.poll(0.5)
                if message is None:
                    continue
                error = message.error()
                if error is not None:
                    self._on_message_error(error)
                    continue
                outcome = self._handle(message)
                if outcome is Outcome.ABANDONED:
                    break
                self._store(consumer, message)
        finally:
            self._close()

    def _close(self) -> None:
        consumer, self._consumer = self._consumer, None
        try:
            if consumer is not None:
                self._commit(consumer, self._stored)
                consumer.close()
        finally:
            if self._dead_letters is not None:
                self._dead_letters.close()
                self._dead_letters = None
            for topic, partition in self._assigned:
                self._remove_lag(topic, partition)
            self._assigned.clear()
            self.liveness_file.unlink(missing_ok=True)
            connection.close()
            logger.info("consumer %s: stopped", self.name)

    def _store(self, consumer: Consumer, message: Message) -> None:
        try:
            consumer.store_offsets(message=message)
        except KafkaException as exc:  # the partition was lost meanwhile; its new owner redelivers
            logger.warning("consumer %s: could not store offset: %s", self.name, exc)
            return
        self._stored[(message.topic() or "", message.partition() or 0)] = (message.offset() or 0) + 1

    # -- rebalancing -----------------------------------------------------------------------

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._assigned.update((tp.topic, tp.partition) for tp in partitions)
        logger.info("consumer %s: assigned %s", self.name, _describe(partitions))

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        self._commit(consumer, {tp: offset for tp, offset in self._stored.items() if tp in revoked})
        self._forget(revoked)
        logger.info("consumer %s: revoked %s (committed first)", self.name, _describe(partitions))

    def _on_lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Another member may own them already: committing now could move its offsets backwards.
        self._forget({(tp.topic, tp.partition) for tp in partitions})
        logger.warning("consumer %s: lost %s", self.name, _describe(partitions))

    def _forget(self, partitions: set[tuple[str, int]]) -> None:
        for topic, partition in partitions:
            self._stored.pop((topic, partition), None)
            self._remove_lag(topic, partition)
        self._assigned.difference_update(partitions)

    def _commit(self, consumer: Consumer, offsets: dict[tuple[str, int], int]) -> None:
        if not offsets:
            return
        try:
            consumer.commit(
                offsets=[TopicPartition(topic, partition, offset) for (topic, partition), offset in offsets.items()],
                asynchronous=False,
            )
        except KafkaException as exc:
            logger.warning("consumer %s: commit failed (the messages will be redelivered): %s", self.name, exc)

    # -- one message -----------------------------------------------------------------------

    def _handle(self, message: Message) -> Outcome:
        raw = message.value()
        try:
            event = Event.from_json(raw or b"")
        except InvalidEvent as exc:
            event_type = message_headers(message).get("event_type") or peek_event_type(raw)
            if event_type is not None and event_type not in self.definition.handlers:
                return self._skip()
            return self._dead_letter(message, error=f"InvalidEvent: {exc}", attempts=1, reason="invalid")
        handler = self.definition.handlers.get(event.type)
        if handler is None:
            return self._skip()
        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = self._apply(event, handler, message)
            except PERMANENT_ERRORS as exc:
                reason = "invalid" if isinstance(exc, InvalidMessage) else "permanent"
                return self._dead_letter(message, error=_describe_error(exc), attempts=attempt, reason=reason)
            except Exception as exc:
                if isinstance(exc, DatabaseError):
                    connection.close()  # reconnect for the next attempt
                if attempt >= self.max_attempts:
                    return self._dead_letter(message, error=_describe_error(exc), attempts=attempt, reason="exhausted")
                RETRIED.labels(self.name).inc()
                delay = min(MAX_BACKOFF_SECONDS, self.backoff * 2 ** (attempt - 1))
                logger.warning(
                    "consumer %s: %s %s attempt %d/%d failed, retrying in %.2f s: %s",
                    self.name, event.type, event.id, attempt, self.max_attempts, delay, _describe_error(exc),
                )  # fmt: skip
                if self._pause(delay):
                    return Outcome.ABANDONED
                continue
            self.guard.record_success()
            PROCESSED.labels(self.name, outcome.value).inc()
            return outcome

    def _apply(self, event: Event, handler: Handler, message: Message) -> Outcome:
        started = time.perf_counter()
        with transaction.atomic():
            if ProcessedEvent.objects.filter(consumer=self.name, event_id=event.id).exists():
                return Outcome.DUPLICATE
            ProcessedEvent.objects.create(
                consumer=self.name,
                event_id=event.id,
                event_type=event.type,
                topic=message.topic() or "",
                partition=message.partition(),
                offset=message.offset(),
            )
            with time_limit(self.time_limit):
                handler(event)
        HANDLER_SECONDS.labels(self.name, event.type).observe(time.perf_counter() - started)
        return Outcome.PROCESSED

    def _skip(self) -> Outcome:
        PROCESSED.labels(self.name, Outcome.SKIPPED.value).inc()
        return Outcome.SKIPPED

    def _dead_letter(self, message: Message, *, error: str, attempts: int, reason: str) -> Outcome:
        if self.guard.would_trip():
            HALTED.labels(self.name).inc()
            raise ConsumerHalted(
                f"consumer {self.name} stopped itself: {self.guard.describe()}. Last error: {error}. "
                f"The message at {message.topic()}[{message.partition()}]@{message.offset()} was neither "
                "dead-lettered nor committed; fix the cause and start the consumer again."
            )
        assert self._dead_letters is not None
        while True:
            try:
                sent = self._dead_letters.send(message, error=error, attempts=attempts, stopping=self._stopping)
            except Exception as exc:
                logger.error("consumer %s: dead-letter write failed, retrying: %s", self.name, exc)
                if self._pause(1.0):
                    return Outcome.ABANDONED
                continue
            if not sent:
                return Outcome.ABANDONED
            break
        self.guard.record_failure()
        DEAD_LETTERED.labels(self.name, reason).inc()
        logger.error(
            "consumer %s: dead-lettered %s[%s]@%s after %d attempt(s): %s",
            self.name, message.topic(), message.partition(), message.offset(), attempts, error,
        )  # fmt: skip
        return Outcome.DEAD_LETTERED

    # -- errors, liveness, lag -------------------------------------------------------------

    def _on_message_error(self, error: KafkaError) -> None:
        if error.fatal():
            raise KafkaException(error)
        if error.code() != KafkaError._PARTITION_EOF:
            logger.warning("consumer %s: %s", self.name, error)

    def _on_client_error(self, error: KafkaError) -> None:
        logger.warning("consumer %s: client error: %s", self.name, error)

    def _pause(self, seconds: float) -> bool:
        """Wait between attempts, still alive to the liveness probe; True when asked to stop."""
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            if self._stopping.wait(min(remaining, 1.0)):
                return True
            self._touch_liveness()
        return self._stopping.is_set()

    def _touch_liveness(self) -> None:
        now = time.monotonic()
        if now >= self._next_touch:
            self._next_touch = now + 1.0
            self.liveness_file.parent.mkdir(parents=True, exist_ok=True)
            self.liveness_file.touch()

    def _housekeeping(self) -> None:
        self._touch_liveness()
        now = time.monotonic()
        if now >= self._next_lag:
            self._next_lag = now + 10.0
            self._update_lag()

    def _update_lag(self) -> None:
        consumer = self._consumer
        if consumer is None or not self._assigned:
            return
        partitions = [TopicPartition(topic, partition) for topic, partition in sorted(self._assigned)]
        try:
            positions = consumer.position(partitions)
        except KafkaException:
            return
        for tp in positions:
            low, high = consumer.get_watermark_offsets(tp, cached=True)
            position = tp.offset if tp.offset >= 0 else low
            if high >= 0 and position >= 0:
                LAG.labels(self.name, tp.topic, str(tp.partition)).set(max(high - position, 0))

    def _remove_lag(self, topic: str, partition: int) -> None:
        with contextlib.suppress(KeyError):
            LAG.remove(self.name, topic, str(partition))


def _describe(partitions: list[TopicPartition]) -> str:
    return ", ".join(f"{tp.topic}[{tp.partition}]" for tp in partitions) or "nothing"


def _describe_error(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}"
