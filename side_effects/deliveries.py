"""Side effects of delivery transitions, chosen per driver by feature flags.

For each transition the factory yields one strategy per piece of work: either do it
in the request (the old path) or leave it to a Kafka consumer (the new path). The
choice is made once, here, and written into the event's `handled_synchronously`,
so a flag flipped while the event is in flight cannot make work happen twice or
not at all. Consumers do only the work that is not listed.
"""

import functools
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from side_effects.base import NoSideEffect, SideEffect, execute_all
from side_effects.flags import FlagName, SwitchName, flag_active_for, switch_active
from side_effects.models import EffectKind, EffectPath, record_effect

if TYPE_CHECKING:
    from events.envelope import Event

logger = logging.getLogger(__name__)


class Work(StrEnum):
    """Pieces of work that can move from the request to a consumer (`handled_synchronously` values)."""

    CURRENT_TRIP = "current_trip"
    DASHBOARD_BROADCAST = "dashboard_broadcast"
    CUSTOMER_NOTIFICATION = "customer_notification"
    WASEAT_CLOSE = "waseat_close"
    DRIVER_STATUS = "driver_status"


WORK_FLAGS: dict[Work, FlagName] = {
    Work.DASHBOARD_BROADCAST: FlagName.KAFKA_DASHBOARD_BROADCAST,
    Work.CUSTOMER_NOTIFICATION: FlagName.KAFKA_CUSTOMER_NOTIFICATION,
    Work.WASEAT_CLOSE: FlagName.KAFKA_WASEAT_CLOSE,
    Work.DRIVER_STATUS: FlagName.KAFKA_DRIVER_STATUS,
}

# The work each transition involves, besides updating the delivery itself.
TRANSITION_WORK: dict[str, tuple[Work, ...]] = {
    "trip.assigned": (Work.CURRENT_TRIP, Work.DASHBOARD_BROADCAST, Work.CUSTOMER_NOTIFICATION),
    "delivery.driver_arrived": (Work.CURRENT_TRIP, Work.DASHBOARD_BROADCAST, Work.DRIVER_STATUS),
    "delivery.ready_to_collect": (Work.CURRENT_TRIP, Work.DASHBOARD_BROADCAST),
    "delivery.out_for_delivery": (
        Work.CURRENT_TRIP,
        Work.DASHBOARD_BROADCAST,
        Work.CUSTOMER_NOTIFICATION,
        Work.DRIVER_STATUS,
    ),
    "delivery.delivered": (
        Work.CURRENT_TRIP,
        Work.DASHBOARD_BROADCAST,
        Work.CUSTOMER_NOTIFICATION,
        Work.WASEAT_CLOSE,
        Work.DRIVER_STATUS,
    ),
    "delivery.failed": (
        Work.CURRENT_TRIP,
        Work.DASHBOARD_BROADCAST,
        Work.CUSTOMER_NOTIFICATION,
        Work.DRIVER_STATUS,
    ),
    "driver.status_changed": (Work.DRIVER_STATUS,),
}


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


class InRequest(SideEffect[TransitionContext]):
    """Work done by the request (old path)."""

    work: ClassVar[Work]
    # Runs before the event is published, and may find it cannot do the work (see `done`).
    before_publish: ClassVar[bool] = False
    done: bool = True


class LeftToConsumer(SideEffect[TransitionContext]):
    """Work left to a Kafka consumer (new path): nothing to do in the request."""

    def __init__(self, context: TransitionContext, work: Work) -> None:
        super().__init__(context)
        self.work = work

    def execute(self) -> None:
        return None


class CurrentTripInRequest(InRequest):
    """Write the driver's own store in the request.

    When the row does not hold this trip yet (its `trip.assigned` is still on its way to the
    driver_trip consumer), the change is left to that consumer, which applies it after the
    assignment: both events share the driver's partition.
    """

    work = Work.CURRENT_TRIP
    name = "current_trip_in_request"
    before_publish = True

    def execute(self) -> None:
        from driver_api.services import current_trip_assign, current_trip_merge

        snapshot = self.context.snapshot
        driver_id = snapshot["driver"]["id"]
        if self.context.event_type == "trip.assigned":
            self.done = current_trip_assign(driver_id=driver_id, snapshot=snapshot)
            return
        delivery = snapshot["delivery"]
        self.done = current_trip_merge(
            driver_id=driver_id,
            delivery_id=delivery["id"],
            status=delivery["status"],
            arrived_at=_parse(delivery.get("arrived_at")),
            collecting_at=_parse(delivery.get("collecting_at")),
        )


class DashboardBroadcastInRequest(InRequest):
    work = Work.DASHBOARD_BROADCAST
    name = "dashboard_broadcast_in_request"

    def execute(self) -> None:
        snapshot = self.context.snapshot
        event_id = self.context.event_id
        transaction.on_commit(
            lambda: dashboard_broadcast(snapshot=snapshot, path=EffectPath.REQUEST, event_id=event_id)
        )


class CustomerNotificationInRequest(InRequest):
    work = Work.CUSTOMER_NOTIFICATION
    name = "customer_notification_in_request"

    def execute(self) -> None:
        from delivery.services.notifications import customer_notify

        snapshot = self.context.snapshot
        event_id = self.context.event_id
        transaction.on_commit(
            lambda: _logged(customer_notify, snapshot=snapshot, path=EffectPath.REQUEST, idempotency_key=event_id)
        )


class WaseatCloseInRequest(InRequest):
    """Close the order in WASEAT after the request commits.

    If WASEAT still fails after the client's retries, the close is not dropped: a
    `waseat.close_requested` event hands it to the waseat consumer, which retries it (or
    dead-letters it for an operator to replay). No other consumer acts on that event, so
    nothing else the delivered event carried is done again.
    """

    work = Work.WASEAT_CLOSE
    name = "waseat_close_in_request"

    def execute(self) -> None:
        context = self.context
        transaction.on_commit(lambda: waseat_close_or_hand_over(context))


def waseat_close_or_hand_over(context: TransitionContext) -> None:
    from delivery.services.waseat import waseat_close_delivered, waseat_close_hand_over

    order = context.snapshot["order"]
    try:
        waseat_close_delivered(snapshot=context.snapshot, path=EffectPath.REQUEST, event_id=context.event_id)
    except Exception:
        logger.exception(
            "WASEAT close of %s failed in the request; handing it to the consumer", order["albaik_identifier"]
        )
        waseat_close_hand_over(snapshot=context.snapshot, key=context.event_key, delivered_event_id=context.event_id)


class DriverStatusInRequest(InRequest):
    work = Work.DRIVER_STATUS
    name = "driver_status_in_request"

    def execute(self) -> None:
        from delivery.services.drivers import driver_status_record

        if self.context.driver_status is None:
            return
        driver_status_record(
            driver_id=self.context.snapshot["driver"]["id"],
            status=self.context.driver_status,
            at=self.context.occurred_at,
            event_id=self.context.event_id,
        )


IN_REQUEST: dict[Work, type[InRequest]] = {
    Work.CURRENT_TRIP: CurrentTripInRequest,
    Work.DASHBOARD_BROADCAST: DashboardBroadcastInRequest,
    Work.CUSTOMER_NOTIFICATION: CustomerNotificationInRequest,
    Work.WASEAT_CLOSE: WaseatCloseInRequest,
    Work.DRIVER_STATUS: DriverStatusInRequest,
}


def runs_in_request(work: Work, context: TransitionContext) -> bool:
    """The one place where flags decide the path of a piece of work."""
    if work is Work.CURRENT_TRIP:
        # The driver API writes its own store; changes from elsewhere reach it through Kafka when switched on.
        if context.initiated_by_driver and context.event_type != "trip.assigned":
            return True
        return not switch_active(SwitchName.KAFKA_TRIP_ASSIGNMENT)
    return not flag_active_for(WORK_FLAGS[work], context.driver_user)


def delivery_side_effects(context: TransitionContext) -> Iterator[SideEffect[TransitionContext]]:
    """Yield the side effects of a delivery transition, one strategy per piece of work."""
    works = TRANSITION_WORK.get(context.event_type, ())
    for work in works:
        if runs_in_request(work, context):
            yield IN_REQUEST[work](context)
        else:
            yield LeftToConsumer(context, work)
    if not works:
        yield NoSideEffect(context)


def execute_before_publish(side_effects: list[SideEffect[TransitionContext]]) -> list[SideEffect[TransitionContext]]:
    """Execute the side effects that decide, by running, whether the request did their work."""
    early = [effect for effect in side_effects if isinstance(effect, InRequest) and effect.before_publish]
    for effect in early:
        effect.execute()
    return [effect for effect in side_effects if effect not in early]


def handled_synchronously(side_effects: list[SideEffect[TransitionContext]]) -> list[str]:
    return [effect.work.value for effect in side_effects if isinstance(effect, InRequest) and effect.done]


def dashboard_broadcast(*, snapshot: dict[str, Any], path: str, event_id: uuid.UUID | None) -> None:
    """Send the snapshot's preparation to its branch's dashboard group and record it."""
    from restaurant.broadcasts import broadcast_preparation

    preparation = snapshot["preparation"]
    albaik_identifier = snapshot["order"]["albaik_identifier"]
    detail: dict[str, Any]
    if not preparation:  # an order the kitchen does not prepare: nothing to show
        record_effect(
            albaik_identifier=albaik_identifier,
            kind=EffectKind.BROADCAST,
            path=path,
            outcome="skipped",
            event_id=event_id,
            detail={"reason": "no preparation"},
        )
        return
    try:
        broadcast_preparation(branch_id=snapshot["branch"]["id"], preparation=preparation)
    except Exception as exc:  # the dashboard refreshes on reconnect; a lost broadcast is logged, not fatal
        logger.exception("dashboard broadcast failed for %s", albaik_identifier)
        outcome, detail = "failed", {"error": str(exc)}
    else:
        delivery = snapshot.get("delivery") or {}
        outcome, detail = "ok", {"status": preparation.get("status"), "delivery_status": delivery.get("status")}
    record_effect(
        albaik_identifier=albaik_identifier,
        kind=EffectKind.BROADCAST,
        path=path,
        outcome=outcome,
        event_id=event_id,
        detail=detail,
    )


def _logged(func: Any, **kwargs: Any) -> None:
    """Run work after commit; a failure is recorded by the work itself and must not fail the answered request."""
    try:
        func(**kwargs)
    except Exception:
        logger.exception("%s failed after commit", getattr(func, "__name__", func))


def _parse(value: str | None) -> Any:
    from django.utils.dateparse import parse_datetime

    return parse_datetime(value) if value else None


EventHandler = Callable[["Event"], None]


def left_to_consumer(work: Work) -> Callable[[EventHandler], EventHandler]:
    """The consumer's half of the strategy: handle the event only if the request did not do `work`.

    The decision was taken once, in the request, and travels in `handled_synchronously`;
    a flag flipped since then changes nothing.
    """

    def decorate(handler: EventHandler) -> EventHandler:
        @functools.wraps(handler)
        def handle(event: "Event") -> None:
            if work.value in event.handled_synchronously:
                return
            handler(event)

        return handle

    return decorate


def publish_transition(context: TransitionContext, *, key: str) -> "Event":
    """Choose the side effects, publish the event saying which ran in the request, then run the rest.

    Call inside the transaction that made the change, with `context.snapshot` filled in.
    """
    from events.publishing import publish

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
