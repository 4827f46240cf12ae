"""The strategy pattern for the side effects of a transition: the one framework of delivery and aggregator changes.

A service asks a `SideEffectFactory` for the side effects of the change it is making; the
factory yields zero or more `SideEffect`s (a generator; `NoSideEffect` when nothing
applies, because doing nothing is a decision too); the service executes them and
finishes its transaction. A new rule is a new class plus one line in a factory's `rules`.
"""

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from typing import Any, ClassVar, Generic, TypeVar

ContextT = TypeVar("ContextT")


class SideEffect(ABC, Generic[ContextT]):
    name: ClassVar[str] = "side_effect"

    def __init__(self, context: ContextT) -> None:
        self.context = context

    @abstractmethod
    def execute(self) -> None:
        """Do the work, or register it with `transaction.on_commit` / the outbox."""

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.context!r})"


class NoSideEffect(SideEffect[Any]):
    name = "none"

    def execute(self) -> None:
        return None


class SideEffectFactory(ABC, Generic[ContextT]):
    """Chooses the side effects of one change."""

    @abstractmethod
    def choose(self, context: ContextT) -> Iterable[SideEffect[ContextT]]:
        """The strategies that apply to this change (none is fine)."""

    def side_effects(self, context: ContextT) -> Iterator[SideEffect[Any]]:
        """The chosen strategies, or `NoSideEffect` when none applies."""
        chosen = False
        for side_effect in self.choose(context):
            chosen = True
            yield side_effect
        if not chosen:
            yield NoSideEffect(context)


class RuleSideEffectFactory(SideEffectFactory[ContextT]):
    """A factory of (when, what) lines: each rule that applies yields its strategy, in order."""

    rules: tuple[tuple[Callable[[ContextT], bool], type[SideEffect[ContextT]]], ...] = ()

    def choose(self, context: ContextT) -> Iterator[SideEffect[ContextT]]:
        for applies, side_effect in self.rules:
            if applies(context):
                yield side_effect(context)


def execute_all(side_effects: Iterable[SideEffect[Any]]) -> list[SideEffect[Any]]:
    """Execute each side effect in order; returns them for logging and tests."""
    executed = []
    for side_effect in side_effects:
        side_effect.execute()
        executed.append(side_effect)
    return executed
