"""The outbox relay: publishes committed outbox events to Kafka, in outbox order.

- One leader at a time: a PostgreSQL session advisory lock; standbys wait for it.
- Wakes on `NOTIFY events_outbox` (sent when a publishing transaction commits) and polls
  as a fallback; SQLite has no NOTIFY, so there it polls.
- An idempotent producer (`enable.idempotence`, `acks=all`) keeps per-partition order and
  never duplicates its own retries; events are marked published on their delivery report.
- A broker outage never loses an event: messages wait in the producer (up to
  `KAFKA_DELIVERY_TIMEOUT_MS`) while librdkafka reconnects with backoff, and the rows stay
  unpublished until their reports arrive. A failed report purges what is queued behind it and
  stops production until everything in flight has settled; then the relay backs off and resumes
  from the oldest unpublished event, so each key's events go out again in outbox order.
- A watchdog: when nothing in flight is acknowledged for `OUTBOX_RELAY_STALL_SECONDS` while the
  broker answers metadata (e.g. a restarted broker that no longer knows the producer id), the
  producer is replaced by a new one (new producer id) that resumes from the oldest unpublished
  event. While events wait, it logs and sets `outbox_relay_waiting_seconds`.
- Poison never blocks: an event the producer or broker refuses for what it is (size, encoding) is
  parked after `OUTBOX_PARK_AFTER_ATTEMPTS` attempts (at once when the producer refuses it
  locally); the relay skips parked events and everything else keeps flowing.
- Published events are deleted after `OUTBOX_RETENTION_HOURS`.
"""

import contextlib
import logging
import threading
import time
import zlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
from confluent_kafka import KafkaError, KafkaException, Message, Producer
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from events.broker import bootstrap_servers, idempotent_producer_config
from events.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_DELIVERY_ERRORS,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PARKED,
    OUTBOX_PRUNED,
    OUTBOX_PUBLISHED,
    RELAY_LEADER,
    RELAY_PRODUCER_REPLACED,
    RELAY_WAITING,
)
from events.models import OutboxEvent
from events.publishing import OUTBOX_CHANNEL
from events.selectors import Backlog, outbox_backlog, outbox_unpublished_ids
from events.services import outbox_mark_published, outbox_park, outbox_prune, outbox_record_failure

logger = logging.getLogger(__name__)

LEADER_LOCK_KEY = zlib.crc32(b"events.outbox_relay")

# Errors about the message itself: sending it again cannot succeed, so it is parked after a few tries.
REFUSED = frozenset(
    {
        KafkaError.MSG_SIZE_TOO_LARGE,  # also what produce() raises over message.max.bytes
        KafkaError.INVALID_MSG_SIZE,
        KafkaError.INVALID_MSG,  # CORRUPT_MESSAGE
        KafkaError.INVALID_RECORD,
        KafkaError._INVALID_ARG,
        KafkaError._BAD_MSG,
    }
)
# Reports of messages the relay itself purged (never sent, or sent by a producer being replaced).
PURGED = frozenset({KafkaError._PURGE_QUEUE, KafkaError._PURGE_INFLIGHT})


class LeaderLock:
    """PostgreSQL: a session advisory lock and a LISTEN on one dedicated connection.

    Losing the connection loses the lock, so leadership is re-checked on every wake-up.
    Other databases have no lock (one relay) and no NOTIFY (polling).
    """

    def __init__(self) -> None:
        self._raw: Any = None
        self.supported = connection.vendor == "postgresql"

    def acquire(self) -> bool:
        if not self.supported:
            return True
        if self._raw is None:
            # Its own session, outside the pool: the lock and the LISTEN live as long as it does.
            raw = psycopg.connect(**connection.get_connection_params())
            raw.autocommit = True
            self._raw = raw
        with self._raw.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND objid = %s",
                [LEADER_LOCK_KEY],
            )
            if cursor.fetchone() is not None:
                return True
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LEADER_LOCK_KEY])
            acquired = bool(cursor.fetchone()[0])
            if acquired:
                cursor.execute(f"LISTEN {OUTBOX_CHANNEL}")
            return acquired

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` s for a NOTIFY; True when one arrived."""
        if self._raw is None:
            time.sleep(timeout)
            return False
        notified = any(True for _ in self._raw.notifies(timeout=timeout, stop_after=1))
        if notified:  # several commits in a row wake the relay once
            for _ in self._raw.notifies(timeout=0):
                pass
        return notified

    def release(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            try:
                raw.close()  # closing the session releases the lock and the LISTEN
            except Exception:
                logger.debug("closing the leader connection failed", exc_info=True)


class OutboxRelay:
    """Publishes the outbox until stopped; `run()` blocks, `start()`/`stop()` run it on a thread."""

    name = "outbox-relay"

    def __init__(
        self,
        *,
        bootstrap: str | None = None,
        poll_interval: float | None = None,
        batch_size: int | None = None,
        retention: timedelta | None = None,
        producer_overrides: dict[str, Any] | None = None,
        stall_seconds: float | None = None,
        park_after: int | None = None,
    ) -> None:
        self._bootstrap = bootstrap
        self.poll_interval = settings.OUTBOX_RELAY_POLL_SECONDS if poll_interval is None else poll_interval
        self.batch_size = settings.OUTBOX_RELAY_BATCH_SIZE if batch_size is None else batch_size
        self.max_in_flight = self.batch_size * 4
        self.retention = timedelta(hours=settings.OUTBOX_RETENTION_HOURS) if retention is None else retention
        self.prune_interval = 600.0
        self.gauge_interval = 2.0
        self.stall_seconds = settings.OUTBOX_RELAY_STALL_SECONDS if stall_seconds is None else stall_seconds
        self.park_after = settings.OUTBOX_PARK_AFTER_ATTEMPTS if park_after is None else park_after
        self._producer_overrides = producer_overrides or {}
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._producer: Producer | None = None
        self._lock: LeaderLock | None = None
        self._leading = False
        self._in_flight: set[int] = set()
        self._delivered: list[int] = []
        self._failed: list[tuple[int, KafkaError]] = []
        self._settling = False  # a report failed: produce nothing until in-flight events settle
        self._backoff = 0.0
        self._resume_at = 0.0
        self._next_fetch = 0.0
        self._next_gauges = 0.0
        self._next_prune = 0.0
        self._next_leader_check = 0.0
        self._last_progress = 0.0  # when in flight last moved: a send from idle or any delivery report
        self._next_stall_check = 0.0

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="outbox-relay", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def request_stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        """Lead and publish until stopped; database and broker errors are retried with backoff."""
        self._lock = LeaderLock()
        failures = 0
        try:
            while not self._stopping.is_set():
                try:
                    if not self._ensure_leader():
                        self._stopping.wait(self.poll_interval)
                        continue
                    self._cycle()
                    failures = 0
                except Exception as exc:  # database or broker trouble: step down, back off, try again
                    failures += 1
                    delay = min(30.0, 0.25 * 2 ** min(failures, 7))
                    logger.warning("outbox relay: %s; retrying in %.1f s", exc, delay, exc_info=failures == 1)
                    self._step_down()
                    connection.close()
                    self._stopping.wait(delay)
        finally:
            self._shutdown(close_connection=True)

    def publish_pending(self, *, timeout: float = 30.0) -> int:
        """Publish every event unpublished now and wait for their reports (`relay_outbox --once`, tests)."""
        deadline = time.monotonic() + timeout
        published = 0
        self._lock = self._lock or LeaderLock()
        try:
            if not self._ensure_leader():
                raise RuntimeError("another relay holds the leader lock")
            publishable = OutboxEvent.objects.filter(published_at__isnull=True, parked_at__isnull=True)
            last_id = publishable.order_by("-id").values_list("id", flat=True).first()
            while last_id is not None and time.monotonic() < deadline:
                if not self._settling and time.monotonic() >= self._resume_at:
                    self._produce_next_batch()
                published += self._serve_reports(timeout=0.1)
                self._watch_in_flight()
                if not self._in_flight and not publishable.filter(id__lte=last_id).exists():
                    break
            return published
        finally:
            self._shutdown(close_connection=False)

    # -- one turn of the loop --------------------------------------------------------------

    def _cycle(self) -> None:
        self._serve_reports(timeout=0)
        now = time.monotonic()
        woken = False
        if not self._settling and now >= self._resume_at and now >= self._next_fetch:
            fetched = self._produce_next_batch()
            # A full batch means more is waiting; otherwise rely on NOTIFY or the poll interval.
            self._next_fetch = now if fetched >= self.batch_size else now + self.poll_interval
        self._watch_in_flight()
        if now >= self._next_gauges:
            self._update_gauges()
            self._next_gauges = now + self.gauge_interval
        if now >= self._next_prune:
            self._prune()
            self._next_prune = now + self.prune_interval
        if self._in_flight:
            assert self._producer is not None
            self._serve_reports(timeout=0.05)
            woken = self._lock is not None and self._lock.supported and self._lock.wait(0)
        else:
            woken = self._wait_for_work(min(self.poll_interval, max(self._next_fetch - time.monotonic(), 0.0)))
        if woken:
            self._next_fetch = 0.0

    def _wait_for_work(self, timeout: float) -> bool:
        if timeout <= 0:
            return False
        assert self._lock is not None
        if self._lock.supported:
            return self._lock.wait(min(timeout, 0.5))
        self._stopping.wait(min(timeout, 0.5))
        return False

    def _ensure_leader(self) -> bool:
        assert self._lock is not None
        if self._leading and time.monotonic() < self._next_leader_check:
            return True
        self._next_leader_check = time.monotonic() + 2.0
        try:
            leading = self._lock.acquire()
        except Exception as exc:  # the lock connection died: we are no longer leader
            logger.warning("outbox relay: leader lock unavailable: %s", exc)
            self._lock.release()
            leading = False
        if leading != self._leading:
            if leading:
                logger.info("outbox relay: leading")
            else:
                self._step_down()
        self._leading = leading
        RELAY_LEADER.set(1 if leading else 0)
        return leading

    def _step_down(self) -> None:
        if self._leading:
            logger.warning("outbox relay: lost the leader lock; dropping events in flight")
        self._leading = False
        self._next_leader_check = 0.0
        RELAY_LEADER.set(0)
        self._discard_producer()
        if self._lock is not None:
            self._lock.release()

    # -- producing -------------------------------------------------------------------------

    def _ensure_producer(self) -> Producer:
        if self._producer is None:
            overrides: dict[str, Any] = {"error_cb": self._on_client_error, **self._producer_overrides}
            if self._bootstrap:
                overrides["bootstrap.servers"] = self._bootstrap
            else:
                overrides["bootstrap.servers"] = bootstrap_servers()
            self._producer = Producer(idempotent_producer_config(**overrides))
        return self._producer

    def _discard_producer(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(KafkaException):  # a producer in a fatal state may raise it again
                producer.purge()
                producer.poll(0)  # serves the purge reports into lists cleared below
            producer.close()
        delivered = list(self._delivered)
        self._in_flight.clear()
        self._delivered.clear()
        self._failed.clear()
        self._settling = False
        RELAY_WAITING.set(0)
        if delivered:  # acknowledged at the last moment: not worth publishing twice
            try:
                OUTBOX_PUBLISHED.inc(outbox_mark_published(ids=delivered))
            except DatabaseError:
                logger.warning("outbox relay: %d acknowledged event(s) will be sent again", len(delivered))

    def _produce_next_batch(self) -> int:
        room = self.max_in_flight - len(self._in_flight)
        if room <= 0:
            return 0
        # Re-read from the oldest unpublished event: a transaction that committed late may have
        # an id lower than events already sent, and it must not be skipped.
        candidates = outbox_unpublished_ids(limit=len(self._in_flight) + min(room, self.batch_size))
        new_ids = [row_id for row_id in candidates if row_id not in self._in_flight]
        if not new_ids:
            return 0
        producer = self._ensure_producer()
        rows = (
            OutboxEvent.objects.filter(id__in=new_ids)
            .order_by("id")
            .values_list("id", "topic", "key", "envelope", "headers")
        )
        if not self._in_flight:
            self._last_progress = time.monotonic()
        sent = 0
        for row_id, topic, key, envelope, headers in rows:
            try:
                producer.produce(
                    topic,
                    key=key.encode(),
                    value=envelope.encode(),
                    headers=[(name, str(value).encode()) for name, value in headers.items()],
                    on_delivery=self._report_callback(row_id),
                )
            except BufferError:
                break  # the producer's queue is full: the rest goes in a later batch, in order
            except KafkaException as exc:
                error = exc.args[0]
                if error.code() not in REFUSED:
                    raise
                # The producer refuses it locally, every time: park it now, let the others through.
                self._park(row_id, error)
                continue
            self._in_flight.add(row_id)
            sent += 1
        producer.poll(0)
        return sent

    def _report_callback(self, row_id: int) -> Callable[[KafkaError | None, Message], None]:
        def on_delivery(error: KafkaError | None, message: Message) -> None:
            if error is None:
                self._delivered.append(row_id)
            else:
                self._failed.append((row_id, error))

        return on_delivery

    def _on_client_error(self, error: KafkaError) -> None:
        if error.code() in (KafkaError._ALL_BROKERS_DOWN, KafkaError._TRANSPORT):
            logger.warning("outbox relay: broker unreachable, events wait in order: %s", error)
        else:
            logger.error("outbox relay: producer error: %s", error)

    def _park(self, row_id: int, error: KafkaError) -> None:
        if outbox_park(ids=[row_id], error=str(error)):
            OUTBOX_PARKED.inc()
            logger.error(
                "outbox relay: event %d parked after the broker refused it (%s); "
                "`manage.py outbox_parked` inspects, retries or drops it",
                row_id,
                error,
            )

    def _serve_reports(self, *, timeout: float) -> int:
        """Let the producer run delivery callbacks, then record them; returns events published."""
        fatal: str | None = None
        if self._producer is not None:
            try:
                self._producer.poll(timeout)
            except KafkaException as exc:
                if not exc.args[0].fatal():
                    raise
                # e.g. UNKNOWN_PRODUCER_ID from a restarted broker: this producer id is done for.
                fatal = f"the producer failed fatally ({exc.args[0]})"
        delivered, self._delivered = self._delivered, []
        failed, self._failed = self._failed, []
        if delivered or failed:
            self._last_progress = time.monotonic()
        if delivered:
            outbox_mark_published(ids=delivered)
            self._in_flight.difference_update(delivered)
            OUTBOX_PUBLISHED.inc(len(delivered))
        real_failures = [(row_id, error) for row_id, error in failed if error.code() not in PURGED]
        for row_id, _error in failed:
            self._in_flight.discard(row_id)
        if real_failures:
            for row_id, error in real_failures:
                self._record_failure(row_id, error)
                if error.fatal():
                    fatal = f"a delivery report was fatal ({error})"
            OUTBOX_DELIVERY_ERRORS.inc(len(real_failures))
            logger.error(
                "outbox relay: %d delivery report(s) failed, first: %s", len(real_failures), real_failures[0][1]
            )
            if not self._settling and self._producer is not None:
                # Nothing queued behind a failure may overtake it: drop the queue, resend it from the outbox.
                self._producer.purge(in_queue=True, in_flight=False, blocking=False)
            self._settling = True
        if fatal is not None:  # the idempotent producer cannot continue; a new one gets a new producer id
            self._replace_producer(fatal)
        if self._settling and not self._in_flight:
            self._backoff = min(30.0, max(0.5, self._backoff * 2))
            self._resume_at = time.monotonic() + self._backoff
            self._settling = False
            logger.warning("outbox relay: resuming from the oldest unpublished event in %.1f s", self._backoff)
        elif delivered and not real_failures:
            self._backoff = 0.0
        return len(delivered)

    def _record_failure(self, row_id: int, error: KafkaError) -> None:
        refused = error.code() in REFUSED
        if refused and OutboxEvent.objects.filter(id=row_id, attempts__gte=self.park_after - 1).exists():
            self._park(row_id, error)
        else:
            outbox_record_failure(ids=[row_id], error=str(error))

    # -- the watchdog ----------------------------------------------------------------------

    def _watch_in_flight(self) -> None:
        """Say when events wait for reports; replace a producer that the answering broker ignores."""
        if not self._in_flight or self._producer is None:
            RELAY_WAITING.set(0)
            return
        now = time.monotonic()
        waited = now - self._last_progress
        RELAY_WAITING.set(waited)
        if waited < self.stall_seconds or now < self._next_stall_check:
            return
        self._next_stall_check = now + self.stall_seconds
        if not self._broker_answers():
            logger.warning(
                "outbox relay: broker unreachable; %d event(s) in flight waited %.0f s for a delivery report",
                len(self._in_flight),
                waited,
            )
            return
        self._replace_producer(f"no delivery report for {waited:.0f} s while the broker answers")

    def _replace_producer(self, reason: str) -> None:
        """Drop the producer and what it holds; a new one (new producer id) resends from the oldest unpublished."""
        logger.error(
            "outbox relay: %s; replacing the producer and resuming from the oldest unpublished event "
            "(%d event(s) in flight)",
            reason,
            len(self._in_flight),
        )
        RELAY_PRODUCER_REPLACED.inc()
        self._discard_producer()
        self._resume_at = time.monotonic()
        self._next_fetch = 0.0

    def _broker_answers(self) -> bool:
        assert self._producer is not None
        try:
            metadata = self._producer.list_topics(timeout=min(5.0, max(self.stall_seconds / 2, 1.0)))
        except KafkaException:
            return False
        return bool(metadata.brokers)

    # -- housekeeping ----------------------------------------------------------------------

    def _update_gauges(self) -> Backlog:
        backlog = outbox_backlog()
        OUTBOX_BACKLOG.set(backlog.size)
        OUTBOX_OLDEST_AGE.set(backlog.oldest_age_seconds)
        OUTBOX_PARKED.set(backlog.parked)
        return backlog

    def _prune(self) -> None:
        deleted = outbox_prune(older_than=timezone.now() - self.retention)
        if deleted:
            OUTBOX_PRUNED.inc(deleted)
            logger.info("outbox relay: pruned %d published events", deleted)

    def _shutdown(self, *, close_connection: bool) -> None:
        """Wait briefly for reports of events in flight, record them, and let go of everything."""
        try:
            if self._producer is not None and self._in_flight:
                self._producer.flush(5.0)
                self._serve_reports(timeout=0)
        except DatabaseError:
            logger.warning("outbox relay: could not record the last delivery reports", exc_info=True)
        finally:
            self._discard_producer()
            if self._lock is not None:
                self._lock.release()
            self._leading = False
            RELAY_LEADER.set(0)
            if close_connection:
                connection.close()


def relay_services() -> list[OutboxRelay]:
    """devserver: one relay thread (the broker's address is read when it starts)."""
    return [OutboxRelay()]
