"""A movable piece of work is one class plus its registration: the factory, the event and its consumer follow."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar

import pytest

from events.envelope import Event
from side_effects.base import NoSideEffect
from side_effects.policy import WORKS, MovableWork, TransitionContext, register, transition_works
from side_effects.transitions import InRequest, LeftToConsumer, delivery_side_effects, handled_synchronously

HAPPENED = "test.happened"


class Stamp(MovableWork):
    name = "stamp"
    transitions = frozenset({HAPPENED})
    in_the_request: ClassVar[bool] = True
    done: ClassVar[list[str]] = []

    @classmethod
    def runs_in_request(cls, context: TransitionContext) -> bool:
        return cls.in_the_request

    @classmethod
    def in_request(cls, context: TransitionContext) -> None:
        cls.done.append("request")

    @classmethod
    def in_consumer(cls, event: Event) -> None:
        cls.done.append("consumer")


@pytest.fixture
def stamp() -> Iterator[type[Stamp]]:
    register(Stamp)
    Stamp.done.clear()
    try:
        yield Stamp
    finally:
        del WORKS[Stamp.name]


def context() -> TransitionContext:
    return TransitionContext(event_type=HAPPENED, event_id=uuid.uuid4(), driver_user=object())  # type: ignore[arg-type]


def event(handled: tuple[str, ...]) -> Event:
    return Event(
        id=uuid.uuid4(),
        type=HAPPENED,
        version=1,
        occurred_at=datetime.now(UTC),
        key="driver-1",
        handled_synchronously=handled,
        data={},
    )


def test_a_registered_work_is_chosen_for_its_transitions(stamp: type[Stamp]) -> None:
    assert transition_works(HAPPENED) == [stamp]
    effects = list(delivery_side_effects(context()))
    assert [type(effect) for effect in effects] == [InRequest]
    assert handled_synchronously(effects) == ["stamp"]
    effects[0].execute()
    assert stamp.done == ["request"]


def test_work_left_to_the_consumer_is_not_listed_and_its_consumer_does_it(
    stamp: type[Stamp], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Stamp, "in_the_request", False)
    effects = list(delivery_side_effects(context()))
    assert [type(effect) for effect in effects] == [LeftToConsumer]
    assert handled_synchronously(effects) == []
    handlers = stamp.consumer_handlers()
    assert set(handlers) == {HAPPENED}
    handlers[HAPPENED](event(handled=("stamp",)))
    assert stamp.done == []
    handlers[HAPPENED](event(handled=()))
    assert stamp.done == ["consumer"]


def test_a_transition_without_movable_work_yields_no_side_effect() -> None:
    assert [type(effect) for effect in delivery_side_effects(context())] == [NoSideEffect]
