"""The one registry of Kafka consumers (Sentry's shape): name -> topics, group, handlers, DLQ.

Each consumer lives in `consumers/<name>.py` and exposes a module-level `definition`.
Tests and extra deployments register more through `register()` or the
`CONSUMER_EXTRA_MODULES` setting (modules that call `register()` when imported).
"""

import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from django.conf import settings

from events.envelope import Event
from events.topics import DELIVERY_EVENTS, dlq_topic, topic_name

logger = logging.getLogger(__name__)

Handler = Callable[[Event], None]
# Entered around a batch's handlers (e.g. to write the batch's records in one insert on the way out).
BatchContext = Callable[[], AbstractContextManager[None]]
# Handles a batch's events in one go, in partition order, with the same end state as one by one.
BatchHandler = Callable[[Sequence[Event]], None]

CONSUMER_MODULES = (
    "driver_trip",
    "restaurant_dashboard",
    "waseat",
    "customer_notifications",
    "normal_data",
    "aggregator_orders",
)


class UnknownConsumer(LookupError):
    """No consumer by that name (or its module does not exist yet)."""


@dataclass(frozen=True)
class ConsumerDefinition:
    """A consumer: a pure handler per event type; other types are skipped (offset still committed).

    `work` names the piece of work the consumer does (a `handled_synchronously` value): events
    whose request already did it are skipped without touching the database. With
    `in_transaction` (the default) handlers of a batch run in one database transaction with
    their `ProcessedEvent` rows; without it they run outside any transaction (they call other
    services with an idempotency key, then record), and the rows are written once they return.
    A `batch_handler` (transactional consumers only) replaces the per-event handlers in a batch:
    it gets the batch's events still to do (of the types in `handlers`, in partition order,
    each once) and writes them in a few statements, ending where the handlers one by one would.
    A `batch_context` is entered around a batch's handlers. With `concurrent_keys` (consumers
    outside a transaction only) a batch's events are grouped by message key: each key's events
    run in partition order, different keys at once on up to `CONSUMER_HTTP_CONCURRENCY` threads.
    A partial batch waits at most
    `max_batch_wait_seconds` for more messages while the broker still has some (latency against
    fewer, bigger batches).
    The optional knobs default to the `CONSUMER_*` settings.
    """

    name: str
    handlers: Mapping[str, Handler]
    topics: tuple[str, ...] = (DELIVERY_EVENTS,)
    group_id: str | None = None
    work: str | None = None
    in_transaction: bool = True
    batch_handler: BatchHandler | None = None
    batch_context: BatchContext | None = None
    concurrent_keys: bool = False
    max_batch_wait_seconds: float | None = None
    batch_size: int | None = None
    max_attempts: int | None = None
    retry_backoff_seconds: float | None = None
    dlq_ratio_limit: float | None = None
    dlq_ratio_window: int | None = None
    dlq_max_consecutive: int | None = None

    def __post_init__(self) -> None:
        if self.batch_handler is not None and not self.in_transaction:
            raise ValueError(f"consumer {self.name}: a batch_handler needs in_transaction")
        if self.concurrent_keys and (self.in_transaction or self.batch_context is not None):
            raise ValueError(f"consumer {self.name}: concurrent_keys needs in_transaction=False and no batch_context")

    @property
    def group(self) -> str:
        """The consumer group, namespaced like the topics."""
        return f"{settings.KAFKA_TOPIC_PREFIX}{self.group_id or self.name}"

    @property
    def topic_names(self) -> tuple[str, ...]:
        return tuple(topic_name(topic) for topic in self.topics)

    @property
    def dlq_topic(self) -> str:
        return dlq_topic(self.name)


_registered: dict[str, ConsumerDefinition] = {}
_extra_modules_loaded = False


def register(definition: ConsumerDefinition) -> None:
    """Add (or replace) a consumer, e.g. one defined in tests."""
    _registered[definition.name] = definition


def _load_extra_modules() -> None:
    global _extra_modules_loaded
    if _extra_modules_loaded:
        return
    _extra_modules_loaded = True
    for module in settings.CONSUMER_EXTRA_MODULES:
        importlib.import_module(module)


def _load_module(name: str) -> ConsumerDefinition:
    module_name = f"consumers.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise UnknownConsumer(f"consumer {name!r} is not available yet: {module_name} does not exist") from exc
    definition = getattr(module, "definition", None)
    if not isinstance(definition, ConsumerDefinition) or definition.name != name:
        raise UnknownConsumer(f"{module_name}.definition must be a ConsumerDefinition named {name!r}")
    return definition


def get_consumer(name: str) -> ConsumerDefinition:
    """Imports consumers.<name> and reads its module-level `definition` (or a registered one)."""
    if name in _registered:
        return _registered[name]
    if name in CONSUMER_MODULES:
        _registered[name] = _load_module(name)
        return _registered[name]
    _load_extra_modules()
    if name in _registered:
        return _registered[name]
    known = ", ".join(sorted({*CONSUMER_MODULES, *_registered}))
    raise UnknownConsumer(f"unknown consumer {name!r}; known consumers: {known}")


def all_consumers() -> list[ConsumerDefinition]:
    """Every consumer module that exists (missing ones are logged and skipped), then registered extras."""
    definitions: list[ConsumerDefinition] = []
    for name in CONSUMER_MODULES:
        try:
            definitions.append(get_consumer(name))
        except UnknownConsumer as exc:
            logger.warning("skipping consumer %s: %s", name, exc)
    _load_extra_modules()
    definitions.extend(d for name, d in _registered.items() if name not in CONSUMER_MODULES)
    return definitions
