"""The outbox relay: publishes committed outbox events to Kafka, in outbox order.

- One leader at a time: a PostgreSQL session advisory lock; standbys wait for it.
- Wakes on `NOTIFY events_outbox` (sent when a publishing transaction commits) and polls
  as a fallback; SQLite has no NOTIFY, so there it polls.
- An idempotent producer (`enable.idempotence`, `acks=all`) keeps per-partition order and
  never duplicates its own retries; events are marked published on their delivery report.
- A broker outage never loses an event: messages wait in the producer (no delivery
  timeout) while librdkafka reconnects with backoff, and the rows stay unpublished until
  their reports arrive. A failed report stops production until everything in flight has
  settled, then the relay backs off and resumes from the oldest unpublished event.
- Published events are deleted after `OUTBOX_RETENTION_HOURS`.
"""

import logging
import threading
import time
import zlib
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
from confluent_kafka import KafkaError, Message, Producer
from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from events.broker import bootstrap_servers, idempotent_producer_config
from events.metrics import (
    OUTBOX_BACKLOG,
    OUTBOX_DELIVERY_ERRORS,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PRUNED,
    OUTBOX_PUBLISHED,
    RELAY_LEADER,
)
from events.models import OutboxEvent
from events.publishing import OUTBOX_CHANNEL
from events.selectors import Backlog, outbox_backlog, outbox_unpublished_ids
from events.services import outbox_mark_published, outbox_prune, outbox_record_failure

logger = logging.getLogger(__name__)

LEADER_LOCK_KEY = zlib.crc32(b"events.outbox_relay")


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
    ) -> None:
        self._bootstrap = bootstrap
        self.poll_interval = settings.OUTBOX_RELAY_POLL_SECONDS if poll_interval is None else poll_interval
        self.batch_size = settings.OUTBOX_RELAY_BATCH_SIZE if batch_size is None else batch_size
        self.max_in_flight = self.batch_size * 4
        self.retention = timedelta(hours=settings.OUTBOX_RETENTION_HOURS) if retention is None else retention
        self.prune_interval = 600.0
        self.gauge_interval = 2.0
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
            target = OutboxEvent.objects.filter(published_at__isnull=True).order_by("-id").values_list("id", flat=True)
            last_id = target.first()
            while last_id is not None and time.monotonic() < deadline:
                if not self._settling and time.monotonic() >= self._resume_at:
                    self._produce_next_batch()
                published += self._serve_reports(timeout=0.1)
                if (
                    not self._in_flight
                    and not OutboxEvent.objects.filter(published_at__isnull=True, id__lte=last_id).exists()
                ):
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
            producer.purge()
            producer.close()
        self._in_flight.clear()
        self._delivered.clear()
        self._failed.clear()
        self._settling = False

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
        for row_id, topic, key, envelope, headers in rows:
            producer.produce(
                topic,
                key=key.encode(),
                value=envelope.encode(),
                headers=[(name, str(value).encode()) for name, value in headers.items()],
                on_delivery=self._report_callback(row_id),
            )
            self._in_flight.add(row_id)
        producer.poll(0)
        return len(new_ids)

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

    def _serve_reports(self, *, timeout: float) -> int:
        """Let the producer run delivery callbacks, then record them; returns events published."""
        if self._producer is not None:
            self._producer.poll(timeout)
        delivered, self._delivered = self._delivered, []
        failed, self._failed = self._failed, []
        if delivered:
            outbox_mark_published(ids=delivered)
            self._in_flight.difference_update(delivered)
            OUTBOX_PUBLISHED.inc(len(delivered))
        if failed:
            fatal = False
            for row_id, error in failed:
                outbox_record_failure(ids=[row_id], error=str(error))
                self._in_flight.discard(row_id)
                fatal = fatal or error.fatal()
            OUTBOX_DELIVERY_ERRORS.inc(len(failed))
            logger.error("outbox relay: %d delivery report(s) failed, first: %s", len(failed), failed[0][1])
            self._settling = True
            if fatal:  # the idempotent producer cannot continue; a new one gets a new producer id
                self._discard_producer()
        if self._settling and not self._in_flight:
            self._backoff = min(30.0, max(0.5, self._backoff * 2))
            self._resume_at = time.monotonic() + self._backoff
            self._settling = False
            logger.warning("outbox relay: resuming from the oldest unpublished event in %.1f s", self._backoff)
        elif delivered and not failed:
            self._backoff = 0.0
        return len(delivered)

    # -- housekeeping ----------------------------------------------------------------------

    def _update_gauges(self) -> Backlog:
        backlog = outbox_backlog()
        OUTBOX_BACKLOG.set(backlog.size)
        OUTBOX_OLDEST_AGE.set(backlog.oldest_age_seconds)
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
