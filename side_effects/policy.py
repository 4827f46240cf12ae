"""The flag policy: which path, request or consumer, each movable piece of work takes.

A movable piece of work is one `MovableWork` subclass registered with `@register`: its name
(the value written into `handled_synchronously`), its flag, the delivery transitions that
involve it, the events its consumer handles, and its one implementation, called by the request
(old path, `in_request`) or by its consumer (new path, `in_consumer`). The choice is made once,
in the request, and travels with the event, so a flag flipped while the event is in flight
cannot make work happen twice or not at all.

This module sits below the services and imports none of them: implementations live above it
(`side_effects.deliveries`) and reach the request path through the registry.
"""

import functools
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser

from events.envelope import Event
from side_effects.flags import FlagName, flag_active_for

EventHandler = Callable[[Event], None]
BatchEventHandler = Callable[[Sequence[Event]], None]


@dataclass
class TransitionContext:
    """What is going on: one delivery transition, described by the event it publishes."""

    event_type: str
    event_id: uuid.UUID
    driver_user: AbstractBaseUser
    # Filled by the service once the change is applied: the event data.
    snapshot: dict[str, Any] = field(default_factory=dict)
    # Normal-data driver status this transition implies, if any.
    driver_status: str | None = None
    # Whether the driver API itself initiated the change (its own store is then written in the request).
    initiated_by_driver: bool = True
    # Set when the event is published.
    event_key: str = ""
    handled_synchronously: list[str] = field(default_factory=list)
    # When the fact happened: the event's `occurred_at`, so both paths apply it with the same time.
    occurred_at: datetime | None = None


class MovableWork(ABC):
    """A piece of work that a flag moves from the request to a Kafka consumer."""

    # The `handled_synchronously` value.
    name: ClassVar[str]
    # On for a driver: the work is left to the consumer.
    flag: ClassVar[FlagName]
    # The delivery transitions (event types) that involve this work.
    transitions: ClassVar[frozenset[str]]
    # The events its consumer handles; the transitions unless it handles more.
    consumer_events: ClassVar[tuple[str, ...]] = ()
    # Runs before the event is published, and may find it cannot do the work (`in_request` returns False).
    before_publish: ClassVar[bool] = False

    @classmethod
    def runs_in_request(cls, context: TransitionContext) -> bool:
        """The decision for this transition; by default the work's flag for the driver."""
        return not flag_active_for(cls.flag, context.driver_user)

    @classmethod
    @abstractmethod
    def in_request(cls, context: TransitionContext) -> bool | None:
        """The old path: do the work (or register it with `on_commit`); False if it could not be done."""

    @classmethod
    @abstractmethod
    def in_consumer(cls, event: Event) -> None:
        """The new path: the same work, done by the consumer from the event alone."""

    @classmethod
    def in_consumer_batch(cls, events: Sequence[Event]) -> None:
        """The new path for a batch of events, in order: `in_consumer` for each, unless the work
        writes a batch in fewer statements (it must end where one by one would)."""
        for event in events:
            cls.in_consumer(event)

    @classmethod
    def consumer_handlers(cls) -> dict[str, EventHandler]:
        """The consumer's handlers: `in_consumer` for each event, unless the request already did the work."""
        handler = left_to_consumer(cls.name)(cls.in_consumer)
        return {event_type: handler for event_type in cls.consumer_events or sorted(cls.transitions)}

    @classmethod
    def consumer_batch_handler(cls) -> BatchEventHandler:
        """The consumer's batch handler: `in_consumer_batch` for the events the request left to it."""

        def handle(events: Sequence[Event]) -> None:
            left = [event for event in events if cls.name not in event.handled_synchronously]
            if left:
                cls.in_consumer_batch(left)

        return handle


# In registration order, which is the order of `handled_synchronously`.
WORKS: dict[str, type[MovableWork]] = {}


def register(work: type[MovableWork]) -> type[MovableWork]:
    """Register a movable piece of work (class decorator): the one line a new piece of work adds."""
    WORKS[work.name] = work
    return work


def transition_works(event_type: str) -> list[type[MovableWork]]:
    """The movable work a delivery transition involves, besides updating the delivery itself."""
    return [work for work in WORKS.values() if event_type in work.transitions]


def left_to_consumer(work_name: str) -> Callable[[EventHandler], EventHandler]:
    """The consumer's half of the strategy: handle the event only if the request did not do the work.

    The decision was taken once, in the request, and travels in `handled_synchronously`;
    a flag flipped since then changes nothing.
    """

    def decorate(handler: EventHandler) -> EventHandler:
        @functools.wraps(handler)
        def handle(event: Event) -> None:
            if work_name in event.handled_synchronously:
                return
            handler(event)

        return handle

    return decorate
