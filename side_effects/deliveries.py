"""The movable work of delivery transitions: one class each, one implementation for both paths.

Each class is registered once (`@register`) and says its flag, the transitions that involve
it and the events its consumer handles; the request (old path) calls `in_request` through the
side-effect factory (`side_effects.transitions`), its consumer (new path) calls `in_consumer`
through `consumer_handlers()`. Adding a movable piece of work is one class here, registered.
"""

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_datetime

from delivery.services.drivers import DriverStatusFact, driver_status_record, driver_status_record_batch
from delivery.services.notifications import customer_notify
from delivery.services.waseat import (
    waseat_close_delivered,
    waseat_close_hand_over,
    waseat_close_pending_clear,
    waseat_close_pending_mark,
)
from driver_api.services import current_trip_assign, current_trip_merge
from events.envelope import Event
from events.types import TRIP_EVENT_TYPES, EventType
from restaurant.broadcasts import broadcast_preparation
from side_effects.flags import FlagName, SwitchName, switch_active
from side_effects.models import EffectKind, EffectPath, record_effect
from side_effects.policy import MovableWork, TransitionContext, register

logger = logging.getLogger(__name__)


@register
class CurrentTrip(MovableWork):
    """The driver's own store (CurrentTrip row).

    In the request, when the row does not hold this trip yet (its `trip.assigned` is still on its
    way to the driver_trip consumer), the change is left to that consumer, which applies it after
    the assignment: both events share the driver's partition. The consumer gets the whole trip in
    each event: whichever arrives first builds the row, the rest merge into it.
    """

    name = "current_trip"
    transitions = TRIP_EVENT_TYPES
    before_publish = True

    @classmethod
    def runs_in_request(cls, context: TransitionContext) -> bool:
        # The driver API writes its own store; changes from elsewhere reach it through Kafka when switched on.
        if context.initiated_by_driver and context.event_type != EventType.TRIP_ASSIGNED:
            return True
        return not switch_active(SwitchName.KAFKA_TRIP_ASSIGNMENT)

    @classmethod
    def in_request(cls, context: TransitionContext) -> bool:
        snapshot = context.snapshot
        driver_id = snapshot["driver"]["id"]
        if context.event_type == EventType.TRIP_ASSIGNED:
            return current_trip_assign(driver_id=driver_id, snapshot=snapshot)
        delivery = snapshot["delivery"]
        return current_trip_merge(
            driver_id=driver_id,
            delivery_id=delivery["id"],
            status=delivery["status"],
            arrived_at=_parse(delivery.get("arrived_at")),
            collecting_at=_parse(delivery.get("collecting_at")),
        )

    @classmethod
    def in_consumer(cls, event: Event) -> None:
        current_trip_assign(driver_id=event.data["driver"]["id"], snapshot=event.data, event_id=event.id)


@register
class DashboardBroadcast(MovableWork):
    """The preparation's card on its branch's dashboards, from the `preparation` object the event carries."""

    name = "dashboard_broadcast"
    flag = FlagName.KAFKA_DASHBOARD_BROADCAST
    transitions = TRIP_EVENT_TYPES
    # Every trip event, and the aggregator's courier and kitchen changes (their strategies broadcast too).
    consumer_events = (
        *sorted(TRIP_EVENT_TYPES),
        EventType.COURIER_ASSIGNED,
        EventType.COURIER_STATUS_CHANGED,
        EventType.KITCHEN_STATUS_CHANGED,
    )

    @classmethod
    def in_request(cls, context: TransitionContext) -> None:
        snapshot, event_id = context.snapshot, context.event_id
        transaction.on_commit(
            lambda: dashboard_broadcast(snapshot=snapshot, path=EffectPath.REQUEST, event_id=event_id)
        )

    @classmethod
    def in_consumer(cls, event: Event) -> None:
        dashboard_broadcast(snapshot=event.data, path=EffectPath.CONSUMER, event_id=event.id)


@register
class CustomerNotification(MovableWork):
    """A push to the customer, in their language, with the event id as its idempotency key."""

    name = "customer_notification"
    flag = FlagName.KAFKA_CUSTOMER_NOTIFICATION
    transitions = frozenset(
        {
            EventType.TRIP_ASSIGNED,
            EventType.DELIVERY_OUT_FOR_DELIVERY,
            EventType.DELIVERY_DELIVERED,
            EventType.DELIVERY_FAILED,
        }
    )
    consumer_events = (
        EventType.TRIP_ASSIGNED,
        EventType.DELIVERY_OUT_FOR_DELIVERY,
        EventType.DELIVERY_DELIVERED,
        EventType.DELIVERY_FAILED,
    )

    @classmethod
    def in_request(cls, context: TransitionContext) -> None:
        snapshot, event_id = context.snapshot, context.event_id
        transaction.on_commit(
            lambda: _logged(customer_notify, snapshot=snapshot, path=EffectPath.REQUEST, idempotency_key=event_id)
        )

    @classmethod
    def in_consumer(cls, event: Event) -> None:
        customer_notify(snapshot=event.data, path=EffectPath.CONSUMER, idempotency_key=event.id)


@register
class WaseatClose(MovableWork):
    """Close the delivered order in WASEAT.

    If WASEAT still fails after the client's retries in the request, the close is not dropped: a
    `waseat.close_requested` event hands it to the waseat consumer, which retries it (or
    dead-letters it for an operator to replay). No other consumer acts on that event, so
    nothing else the delivered event carried is done again.
    """

    name = "waseat_close"
    flag = FlagName.KAFKA_WASEAT_CLOSE
    transitions = frozenset({EventType.DELIVERY_DELIVERED})
    consumer_events = (EventType.DELIVERY_DELIVERED,)

    @classmethod
    def in_request(cls, context: TransitionContext) -> None:
        # The close is owed in the request's own transaction, and sent after it commits: if the
        # process dies in between, the sweeper (`waseat_close_pending_sweep_task`) hands it over.
        pending_id = waseat_close_pending_mark(
            snapshot=context.snapshot, key=context.event_key, delivered_event_id=context.event_id
        )
        transaction.on_commit(lambda: waseat_close_or_hand_over(context, pending_id=pending_id))

    @classmethod
    def in_consumer(cls, event: Event) -> None:
        waseat_close_delivered(snapshot=event.data, path=EffectPath.CONSUMER, event_id=event.id)


@register
class DriverStatus(MovableWork):
    """The driver's normal-data status (and its history row) that the transition implies."""

    name = "driver_status"
    flag = FlagName.KAFKA_DRIVER_STATUS
    transitions = frozenset(
        {
            EventType.DELIVERY_DRIVER_ARRIVED,
            EventType.DELIVERY_OUT_FOR_DELIVERY,
            EventType.DELIVERY_DELIVERED,
            EventType.DELIVERY_FAILED,
            EventType.DRIVER_STATUS_CHANGED,
        }
    )
    consumer_events = (
        EventType.DRIVER_STATUS_CHANGED,
        EventType.DELIVERY_DRIVER_ARRIVED,
        EventType.DELIVERY_OUT_FOR_DELIVERY,
        EventType.DELIVERY_DELIVERED,
        EventType.DELIVERY_FAILED,
    )

    @classmethod
    def apply(cls, *, driver_id: int, status: str | None, at: Any, event_id: uuid.UUID | None) -> None:
        if not status:
            return
        driver_status_record(driver_id=driver_id, status=status, at=at, event_id=event_id)

    @classmethod
    def in_request(cls, context: TransitionContext) -> None:
        cls.apply(
            driver_id=context.snapshot["driver"]["id"],
            status=context.driver_status,
            at=context.occurred_at,
            event_id=context.event_id,
        )

    @classmethod
    def in_consumer(cls, event: Event) -> None:
        cls.apply(
            driver_id=event.data["driver"]["id"],
            status=event.data.get("driver_status"),
            at=event.occurred_at,
            event_id=event.id,
        )

    @classmethod
    def in_consumer_batch(cls, events: Sequence[Event]) -> None:
        """A batch's statuses in two statements: one history insert, one update of each driver's newest fact."""
        facts = [
            DriverStatusFact(
                driver_id=event.data["driver"]["id"], status=status, at=event.occurred_at, event_id=event.id
            )
            for event in events
            if (status := event.data.get("driver_status"))
        ]
        driver_status_record_batch(facts=facts)


def waseat_close_or_hand_over(context: TransitionContext, *, pending_id: int) -> None:
    order = context.snapshot["order"]
    try:
        waseat_close_delivered(snapshot=context.snapshot, path=EffectPath.REQUEST, event_id=context.event_id)
    except Exception:
        logger.exception(
            "WASEAT close of %s failed in the request; handing it to the consumer", order["albaik_identifier"]
        )
        waseat_close_hand_over(
            snapshot=context.snapshot,
            key=context.event_key,
            delivered_event_id=context.event_id,
            pending_id=pending_id,
        )
    else:
        waseat_close_pending_clear(pending_id=pending_id)


def dashboard_broadcast(*, snapshot: dict[str, Any], path: str, event_id: uuid.UUID | None) -> None:
    """Send the snapshot's preparation to its branch's dashboard group and record it."""
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
    return parse_datetime(value) if value else None
