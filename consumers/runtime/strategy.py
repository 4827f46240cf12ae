"""The processing strategy arroyo's StreamProcessor runs for every consumer.

Messages wait in one queue per partition and are handled in partition order. A partition's
queue is handled in batches: for consumers `in_transaction`, one database transaction per
batch that starts by recording the batch in the idempotency ledger (`ledger`: one statement that
also says which events are new) and then calls the handlers (or the consumer's `batch_handler`, when
it has one, once for the batch); otherwise handlers run outside any transaction and the ledger
rows are inserted once they return (with `concurrent_keys`, each key's events in order on a
thread of a small pool, different keys at once). A batch is handled as soon as the consumer has caught up
with what the broker has (or the batch is full), so a lone message is not kept waiting.

A transient failure pauses only that partition at the broker and schedules a retry with
exponential backoff; the loop keeps polling and the other partitions keep flowing, and the
messages behind the failed one wait, so per-key order holds. Permanent failures and exhausted
retries are raised as arroyo's `InvalidMessage`, which the processor hands to the DLQ producer;
the offset is committed only once the dead letter is acknowledged. Before that, the
per-partition dead-letter limit is checked (`dead_letter_limit`).
"""

import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arroyo.backends.kafka import KafkaConsumer, KafkaPayload
from arroyo.dlq import InvalidMessage as ArroyoInvalidMessage
from arroyo.processing.strategies.abstract import MessageRejected, ProcessingStrategy
from arroyo.types import BrokerValue, Commit, Message, Partition
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from consumers.errors import InvalidMessage, PermanentFailure
from consumers.models import DeadLetter
from consumers.registry import ConsumerDefinition, Handler
from consumers.runtime.dead_letter_limit import ConsumerHalted, DeadLetterLimit
from consumers.runtime.dead_letters import DeadLetterReason
from consumers.runtime.health import ProgressHealth
from consumers.runtime.ledger import Batch, Entry, ledger_claim, ledger_record, ledger_seen
from consumers.runtime.metrics import DEAD_LETTERED, HALTED, HANDLER_SECONDS, PROCESSED, RETRIED, RETRYING
from events.envelope import Event, InvalidEvent, decode_document, document_type
from integrations.http import PermanentHTTPError, single_attempt

logger = logging.getLogger(__name__)

PERMANENT_ERRORS: tuple[type[Exception], ...] = (InvalidMessage, PermanentFailure, PermanentHTTPError)
MAX_BACKOFF_SECONDS = 30.0
# How long a partial batch may wait for more messages while the broker still has some (by default).
MAX_BATCH_WAIT_SECONDS = 0.05


@dataclass(frozen=True)
class RuntimeSettings:
    batch_size: int
    max_buffered: int
    max_attempts: int
    backoff: float
    statement_timeout_ms: int
    # Keys of a batch handled at once (consumers with `concurrent_keys`); 1 is one event after the other.
    key_concurrency: int = 1


@dataclass
class Retry:
    attempts: int
    next_at: float


@dataclass(eq=False)
class Item:
    """One message and what to do with it."""

    value: BrokerValue[KafkaPayload]
    event: Event | None = None
    handler: Handler | None = None
    invalid: str | None = None

    @property
    def offset(self) -> int:
        return self.value.offset


class LoopState:
    """What the poll loop needs to know from the strategy: how long it may wait for the broker."""

    def __init__(self) -> None:
        self.caught_up = False
        self.stopping = False
        self.ready = False
        self.next_retry_at: float | None = None

    def poll_timeout(self, requested: float | None) -> float:
        if self.ready:
            return 0.0
        wait = 1.0 if requested is None else min(requested, 1.0)
        if self.next_retry_at is not None:
            wait = min(wait, max(self.next_retry_at - time.monotonic(), 0.0))
        return wait


class RuntimeConsumer(KafkaConsumer):
    """arroyo's Kafka consumer, waiting for the broker only as long as the strategy can wait,
    and keeping the health file current from the loop."""

    def __init__(self, configuration: Mapping[str, Any], *, loop: LoopState, health: ProgressHealth) -> None:
        super().__init__(configuration)
        self.loop = loop
        self.health = health

    def poll(self, timeout: float | None = None) -> BrokerValue[KafkaPayload] | None:
        self.health.beat()
        value = super().poll(self.loop.poll_timeout(timeout))
        self.loop.caught_up = value is None
        return value

    def watermarks(self, partition: Partition) -> tuple[int, int]:
        """Low and high watermarks as last fetched (no broker round trip)."""
        from confluent_kafka import TopicPartition

        client = self._KafkaConsumer__consumer  # type: ignore[attr-defined]
        low, high = client.get_watermark_offsets(TopicPartition(partition.topic.name, partition.index), cached=True)
        return int(low), int(high)


class ConsumerStrategy(ProcessingStrategy[KafkaPayload]):
    """Handles one assignment's messages (see the module docstring)."""

    def __init__(
        self,
        *,
        definition: ConsumerDefinition,
        settings: RuntimeSettings,
        limit: DeadLetterLimit,
        commit: Commit,
        consumer: RuntimeConsumer,
    ) -> None:
        self.definition = definition
        self.name = definition.name
        self.settings = settings
        self.limit = limit
        self._commit = commit
        self._consumer = consumer
        self._loop = consumer.loop
        self._health = consumer.health
        self._queues: dict[Partition, deque[BrokerValue[KafkaPayload]]] = {}
        self._received: dict[Partition, float] = {}
        self._retries: dict[Partition, Retry] = {}
        self._to_commit: dict[Partition, int] = {}
        self._closed = False
        self._handling: Item | None = None  # the item whose handler is running, to blame a failed batch
        wait = definition.max_batch_wait_seconds
        self._max_batch_wait = MAX_BATCH_WAIT_SECONDS if wait is None else wait
        self._health.retrying = 0
        RETRYING.labels(self.name).set(0)

    # -- arroyo's interface ----------------------------------------------------------------

    def submit(self, message: Message[KafkaPayload]) -> None:
        assert not self._closed
        value = message.value
        assert isinstance(value, BrokerValue)
        if self._buffered() >= self.settings.max_buffered:
            raise MessageRejected()
        queue = self._queues.setdefault(value.partition, deque())
        if not queue:
            self._received[value.partition] = time.monotonic()
        queue.append(value)
        if value.partition not in self._retries:
            self._loop.ready = True  # the rest of the loop's state is brought up to date by `poll`

    def poll(self) -> None:
        self._flush_commits()
        now = time.monotonic()
        for partition, queue in list(self._queues.items()):
            if not queue:
                continue
            retry = self._retries.get(partition)
            if retry is not None:
                if now < retry.next_at:
                    self._keep_paused(partition)
                    continue
            elif (
                len(queue) < self.settings.batch_size
                and not self._loop.caught_up
                and now - self._received.get(partition, now) < self._max_batch_wait
            ):
                continue  # more is on its way: let the batch fill
            self._work(partition)
            if self._loop.stopping:
                break  # finish the batch in hand only
        self._flush_commits()
        self._update_loop()

    def close(self) -> None:
        self._closed = True

    def terminate(self) -> None:
        self._closed = True
        self._queues.clear()
        self._retries.clear()
        self._update_loop()

    def join(self, timeout: float | None = None) -> None:
        # Finished messages are committed now; waiting ones are redelivered to the next owner.
        self._flush_commits(force=True)
        self._queues.clear()
        self._retries.clear()
        self._update_loop()

    # -- one partition -----------------------------------------------------------------------

    def _work(self, partition: Partition) -> None:
        queue = self._queues[partition]
        size = 1 if partition in self._retries else self.settings.batch_size
        items: list[Item] = []
        for value in _head(queue, size):
            item = self._classify(value)
            if item.invalid is not None:
                if not items:
                    self._dead_letter(partition, item, error=item.invalid, attempts=1, reason="invalid")
                break
            items.append(item)
        finished, failure = self._apply(items)
        skipped = sum(1 for item in items[:finished] if item.handler is None)
        if skipped:
            PROCESSED.labels(self.name, "skipped").inc(skipped)
        self._finish(partition, finished)
        if failure is not None:
            self._failed(partition, *failure)
        elif partition in self._retries:
            self._retry_done(partition)

    def _classify(self, value: BrokerValue[KafkaPayload]) -> Item:
        handlers = self.definition.handlers
        problem: InvalidEvent | None = None
        try:
            document = decode_document(value.payload.value or b"")  # decoded once, validated below
        except InvalidEvent as exc:
            document, problem = None, exc
        event_type = document_type(document)
        # Skipped whether valid or not, unless its header names a type handled here: no schema check.
        if event_type is not None and event_type not in handlers and _header(value, "event_type") not in handlers:
            return Item(value)
        try:
            if problem is not None:
                raise problem
            event = Event.from_document(document)
        except InvalidEvent as exc:
            named = _header(value, "event_type") or event_type
            if named is not None and named not in handlers:
                return Item(value)
            return Item(value, invalid=f"InvalidEvent: {exc}")
        handler = handlers.get(event.type)
        work = self.definition.work
        if handler is None or (work is not None and work in event.handled_synchronously):
            return Item(value, event)  # nothing to do here, and nothing to record
        return Item(value, event, handler)

    def _apply(self, items: list[Item]) -> tuple[int, tuple[Item, Exception] | None]:
        """Handle the items in order. Returns how many leading items are done, and the failure."""
        work = [item for item in items if item.handler is not None]
        if not work:
            return len(items), None
        if not self.definition.in_transaction:
            return self._apply_outside(items)
        try:
            self._apply_in_transaction(work)
        except Exception as exc:
            failing = self._handling
            positions = {id(item): position for position, item in enumerate(items)}
            if failing is not None and failing is not work[0]:
                # The ones before it were rolled back with it: again, in one transaction, without it.
                with contextlib.suppress(Exception):
                    self._apply_in_transaction(work[: work.index(failing)])
                    return positions[id(failing)], (failing, exc)
            if len(work) == 1 or failing is work[0]:
                return positions[id(work[0])], (work[0], exc)
            # The failure was not in a handler (e.g. the commit): one transaction per message.
            for position, item in enumerate(items):
                if item.handler is None:
                    continue
                try:
                    self._apply_in_transaction([item])
                except Exception as single:
                    return position, (item, single)
            return len(items), None
        return len(items), None

    def _apply_in_transaction(self, work: list[Item]) -> None:
        started = time.perf_counter()
        self._handling = None
        batch_handler = self.definition.batch_handler
        with transaction.atomic():
            self._statement_timeout(local=True)
            # The ledger rows first, in the effects' transaction: one statement records the batch and
            # answers which events had no row yet (an event twice in the batch is handled once).
            claimed = ledger_claim(self._ledger_batch(work))
            fresh: list[Item] = []
            for item in work:
                assert item.event is not None
                if item.event.id in claimed:
                    claimed.discard(item.event.id)
                    fresh.append(item)
            with single_attempt():
                if batch_handler is not None:
                    # One call for the batch: a failure blames no message, so it falls back to one at a time.
                    if fresh:
                        batch_handler([item.event for item in fresh if item.event is not None])
                else:
                    for item in fresh:
                        assert item.event is not None
                        assert item.handler is not None
                        self._handling = item
                        item.handler(item.event)
                    self._handling = None
        self._observe(work, fresh, time.perf_counter() - started)

    def _apply_outside(self, items: list[Item]) -> tuple[int, tuple[Item, Exception] | None]:
        work = [item for item in items if item.handler is not None]
        started = time.perf_counter()
        batch_at = timezone.now()
        self._statement_timeout(local=False)
        seen = ledger_seen(self.name, [item.event.id for item in work if item.event is not None])
        todo: list[Item] = []
        for item in work:
            assert item.event is not None
            if item.event.id not in seen:  # done before, or twice in this batch: handled once
                seen.add(item.event.id)
                todo.append(item)
        done: list[Item] = []
        failures: list[tuple[Item, Exception]] = []
        batch_context = self.definition.batch_context or contextlib.nullcontext
        try:
            keys = _by_key(todo)
            if self.settings.key_concurrency > 1 and len(keys) > 1:
                self._run_keys_concurrently(keys, done, failures)
            else:
                with single_attempt(), batch_context():
                    failure = self._run_in_order(todo, done)
                if failure is not None:
                    failures.append(failure)
        finally:
            # Recorded once the calls returned: a crash before this repeats them with the same keys.
            ledger_record(self._ledger_batch(done, at=batch_at))
        self._observe(work, done, time.perf_counter() - started)
        if not failures:
            return len(items), None
        # The first failure in partition order is the partition's to retry or dead-letter; what other
        # keys did after it is recorded, so its handling again skips it.
        positions = {id(item): position for position, item in enumerate(items)}
        failing = min(failures, key=lambda failure: positions[id(failure[0])])
        return positions[id(failing[0])], failing

    def _run_in_order(self, todo: list[Item], done: list[Item]) -> tuple[Item, Exception] | None:
        """Handle the items one after the other; stops at the first failure and returns it."""
        for item in todo:
            assert item.event is not None
            assert item.handler is not None
            try:
                item.handler(item.event)
            except Exception as exc:
                return item, exc
            done.append(item)
        return None

    def _run_keys_concurrently(
        self, keys: list[list[Item]], done: list[Item], failures: list[tuple[Item, Exception]]
    ) -> None:
        """Each key's items in order on a thread of its own (at most `key_concurrency` at once)."""
        workers = min(self.settings.key_concurrency, len(keys))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"consumer-{self.name}") as pool:
            outcomes = list(pool.map(self._run_key_in_thread, keys))
        for key_done, failure in outcomes:
            done.extend(key_done)
            if failure is not None:
                failures.append(failure)

    def _run_key_in_thread(self, todo: list[Item]) -> tuple[list[Item], tuple[Item, Exception] | None]:
        done: list[Item] = []
        try:
            try:
                self._statement_timeout(local=False)
            except Exception as exc:
                return done, (todo[0], exc)
            with single_attempt():
                return done, self._run_in_order(todo, done)
        finally:
            connections.close_all()  # this thread's connection goes back to the pool

    def _ledger_batch(self, items: list[Item], *, at: datetime | None = None) -> Batch:
        """The ledger rows of `items` (all from one partition), stamped when handling started."""
        entries = [Entry(item.event.id, item.event.type, item.offset) for item in items if item.event is not None]
        partition = items[0].value.partition if items else None
        return Batch(
            consumer=self.name,
            topic=partition.topic.name if partition else "",
            partition=partition.index if partition else 0,
            at=at or timezone.now(),
            entries=entries,
        )

    def _statement_timeout(self, *, local: bool) -> None:
        if connection.vendor != "postgresql" or not self.settings.statement_timeout_ms:
            return
        scope = "LOCAL " if local else ""
        with connection.cursor() as cursor:
            cursor.execute(f"SET {scope}statement_timeout = {int(self.settings.statement_timeout_ms)}")

    def _observe(self, work: list[Item], handled: list[Item], seconds: float) -> None:
        if handled:
            PROCESSED.labels(self.name, "processed").inc(len(handled))
            per_event = seconds / len(handled)
            for event_type, count in Counter(item.event.type for item in handled if item.event).items():
                histogram = HANDLER_SECONDS.labels(self.name, event_type)
                for _ in range(count):
                    histogram.observe(per_event)
        duplicates = len(work) - len(handled)
        if duplicates > 0:
            PROCESSED.labels(self.name, "duplicate").inc(duplicates)

    # -- outcomes ----------------------------------------------------------------------------

    def _finish(self, partition: Partition, count: int) -> None:
        if count <= 0:
            return
        queue = self._queues[partition]
        last = None
        for _ in range(count):
            last = queue.popleft()
        assert last is not None
        self._received[partition] = time.monotonic()
        self._to_commit[partition] = last.next_offset

    def _failed(self, partition: Partition, item: Item, exc: Exception) -> None:
        retry = self._retries.get(partition)
        attempts = (retry.attempts if retry is not None else 0) + 1
        error = f"{exc.__class__.__name__}: {exc}"
        if isinstance(exc, PERMANENT_ERRORS):
            reason = "invalid" if isinstance(exc, InvalidMessage) else "permanent"
            self._dead_letter(partition, item, error=error, attempts=attempts, reason=reason)
        if isinstance(exc, DatabaseError):
            connection.close()  # reconnect for the next attempt
        if attempts >= self.settings.max_attempts:
            self._dead_letter(partition, item, error=error, attempts=attempts, reason="exhausted")
        delay = min(MAX_BACKOFF_SECONDS, self.settings.backoff * 2 ** (attempts - 1))
        self._retries[partition] = Retry(attempts=attempts, next_at=time.monotonic() + delay)
        self._keep_paused(partition)
        RETRIED.labels(self.name).inc()
        event = item.event
        logger.warning(
            "consumer %s: %s[%s]@%s %s attempt %d/%d failed, retrying in %.2f s (partition paused): %s",
            self.name, partition.topic.name, partition.index, item.offset, event.type if event else "",
            attempts, self.settings.max_attempts, delay, error,
        )  # fmt: skip
        self._update_loop()

    def _retry_done(self, partition: Partition) -> None:
        self._retries.pop(partition, None)
        if partition in self._consumer.paused():
            self._consumer.resume([partition])
        self._update_loop()

    def _keep_paused(self, partition: Partition) -> None:
        if partition not in self._consumer.paused():
            self._consumer.pause([partition])

    def _dead_letter(self, partition: Partition, item: Item, *, error: str, attempts: int, reason: str) -> None:
        """Record the dead letter and hand the message to arroyo's DLQ policy (raises)."""
        topic = partition.topic.name
        problem = self.limit.exceeded_by(topic=topic, partition=partition.index, offset=item.offset)
        if problem is not None:
            self._flush_commits(force=True)
            HALTED.labels(self.name).inc()
            raise ConsumerHalted(
                f"consumer {self.name} stopped itself: {problem}. Last error: {error}. "
                f"The message at {topic}[{partition.index}]@{item.offset} was neither dead-lettered nor committed; "
                f"fix the cause and start the consumer again (or `manage.py dead_letter_limit {self.name} --reset`)."
            )
        headers = {name: _text(header) for name, header in item.value.payload.headers}
        DeadLetter.objects.bulk_create(
            [
                DeadLetter(
                    consumer=self.name,
                    topic=topic,
                    partition=partition.index,
                    offset=item.offset,
                    event_id=str(item.event.id) if item.event else headers.get("event_id", ""),
                    event_type=item.event.type if item.event else headers.get("event_type", "")[:64],
                    reason=reason,
                    error=error[:2000],
                    attempts=attempts,
                )
            ],
            ignore_conflicts=True,
        )
        queue = self._queues[partition]
        assert queue
        assert queue[0].offset == item.offset
        queue.popleft()
        self._received[partition] = time.monotonic()
        self._to_commit[partition] = item.value.next_offset
        if partition in self._retries:
            self._retry_done(partition)
        DEAD_LETTERED.labels(self.name, reason).inc()
        logger.error(
            "consumer %s: dead-lettered %s[%s]@%s after %d attempt(s): %s",
            self.name, topic, partition.index, item.offset, attempts, error,
        )  # fmt: skip
        self._update_loop()
        raise ArroyoInvalidMessage(
            partition,
            item.offset,
            reason=DeadLetterReason(error=error, attempts=attempts, reason=reason).encode(),
            log_exception=False,
        )

    # -- bookkeeping ---------------------------------------------------------------------------

    def _flush_commits(self, *, force: bool = False) -> None:
        # Called on every poll even with nothing new: arroyo commits staged offsets when its policy says so.
        offsets, self._to_commit = self._to_commit, {}
        self._commit(offsets, force)
        if offsets:
            self._health.progressed()

    def _buffered(self) -> int:
        return sum(len(queue) for queue in self._queues.values())

    def _update_loop(self) -> None:
        now = time.monotonic()
        ready = False
        next_retry: float | None = None
        for partition, queue in self._queues.items():
            retry = self._retries.get(partition)
            if retry is None:
                ready = ready or bool(queue)
            elif queue:
                next_retry = retry.next_at if next_retry is None else min(next_retry, retry.next_at)
                ready = ready or retry.next_at <= now
        self._loop.ready = ready
        self._loop.next_retry_at = next_retry
        self._health.pending = self._buffered()
        if self._health.retrying != len(self._retries):
            self._health.retrying = len(self._retries)
            RETRYING.labels(self.name).set(len(self._retries))


def _head(queue: deque[BrokerValue[KafkaPayload]], size: int) -> Iterator[BrokerValue[KafkaPayload]]:
    for position, value in enumerate(queue):
        if position >= size:
            return
        yield value


def _by_key(items: list[Item]) -> list[list[Item]]:
    """The items grouped by message key, each group in partition order."""
    keys: dict[bytes | None, list[Item]] = {}
    for item in items:
        keys.setdefault(item.value.payload.key, []).append(item)
    return list(keys.values())


def _header(value: BrokerValue[KafkaPayload], name: str) -> str | None:
    for header, content in value.payload.headers:
        if header == name:
            return _text(content)
    return None


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value
