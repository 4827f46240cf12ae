"""The strategy pattern for the side effects of a transition.

A service asks a factory for the side effects of the change it is making; the
factory yields zero or more `SideEffect`s (a generator; `NoSideEffect` when nothing
applies, because doing nothing is a decision too); the service executes them and
finishes its transaction. A new rule is a new class plus one line in a factory.
"""

from abc import ABC, abstractmethod
from collections.abc import Iterable
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


def execute_all(side_effects: Iterable[SideEffect[Any]]) -> list[SideEffect[Any]]:
    """Execute each side effect in order; returns them for logging and tests."""
    executed = []
    for side_effect in side_effects:
        side_effect.execute()
        executed.append(side_effect)
    return executed
