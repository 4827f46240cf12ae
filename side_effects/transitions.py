"""The side-effect factory of delivery transitions, and their publication.

For each transition the factory yields one strategy per movable piece of work the policy
lists for it: `InRequest` (the request does it: the old path) or `LeftToConsumer` (a Kafka
consumer does it: the new path). `publish_transition` writes the decision into the event's
`handled_synchronously`; consumers do only the work that is not listed.
"""

from collections.abc import Iterator

from events.envelope import Event
from events.publishing import publish
from side_effects.base import SideEffect, SideEffectFactory, execute_all
from side_effects.policy import MovableWork, TransitionContext, transition_works


class InRequest(SideEffect[TransitionContext]):
    """Work done by the request (old path)."""

    name = "in_request"

    def __init__(self, context: TransitionContext, work: type[MovableWork]) -> None:
        super().__init__(context)
        self.work = work
        # Until it runs, work done after publication counts as done; early work finds out by running.
        self.done = True

    def execute(self) -> None:
        self.done = self.work.in_request(self.context) is not False

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.work.name})"


class LeftToConsumer(SideEffect[TransitionContext]):
    """Work left to a Kafka consumer (new path): nothing to do in the request."""

    name = "left_to_consumer"

    def __init__(self, context: TransitionContext, work: type[MovableWork]) -> None:
        super().__init__(context)
        self.work = work

    def execute(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.work.name})"


class TransitionSideEffectFactory(SideEffectFactory[TransitionContext]):
    """One strategy per movable piece of work the transition involves, on the path the policy chooses."""

    def choose(self, context: TransitionContext) -> Iterator[SideEffect[TransitionContext]]:
        for work in transition_works(context.event_type):
            if work.runs_in_request(context):
                yield InRequest(context, work)
            else:
                yield LeftToConsumer(context, work)


def delivery_side_effects(context: TransitionContext) -> Iterator[SideEffect[TransitionContext]]:
    """Yield the side effects of a delivery transition, one strategy per piece of work."""
    return TransitionSideEffectFactory().side_effects(context)


def execute_before_publish(side_effects: list[SideEffect[TransitionContext]]) -> list[SideEffect[TransitionContext]]:
    """Execute the side effects that decide, by running, whether the request did their work."""
    early = [effect for effect in side_effects if isinstance(effect, InRequest) and effect.work.before_publish]
    for effect in early:
        effect.execute()
    return [effect for effect in side_effects if effect not in early]


def handled_synchronously(side_effects: list[SideEffect[TransitionContext]]) -> list[str]:
    return [effect.work.name for effect in side_effects if isinstance(effect, InRequest) and effect.done]


def publish_transition(context: TransitionContext, *, key: str) -> Event:
    """Choose the side effects, publish the event saying which ran in the request, then run the rest.

    Call inside the transaction that made the change, with `context.snapshot` filled in.
    """
    side_effects = list(delivery_side_effects(context))
    remaining = execute_before_publish(side_effects)
    context.event_key = key
    context.handled_synchronously = handled_synchronously(side_effects)
    event = publish(
        event_type=context.event_type,
        key=key,
        data=context.snapshot,
        handled_synchronously=context.handled_synchronously,
    )
    context.event_id = event.id
    context.occurred_at = event.occurred_at
    execute_all(remaining)
    return event
