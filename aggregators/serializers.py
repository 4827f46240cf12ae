"""Webhook bodies. The status itself comes from the URL (the view merges it in), never from the body."""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from aggregators.transitions import COURIER_STATUS, KITCHEN_STATUS, Courier, StatusChange
from delivery.errors import ValidationFailed
from delivery.models import CourierStatus

# How far ahead of the server's clock an `event_time` may be (clock skew), like the signature's window.
FUTURE_EVENT_TOLERANCE = timedelta(seconds=300)


class CourierSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=120)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class OrderEventSerializer(serializers.Serializer):
    """Every webhook says when the event happened at the aggregator; the newest state wins.

    The signed body names its order and event, which must be the URL's (context `aggregator_id`, `event`),
    so a signed body cannot be replayed against another order or status.
    """

    event_time = serializers.DateTimeField()
    order_id = serializers.CharField()  # bounded by the equality with the URL
    event = serializers.CharField(max_length=64)

    def validate_event_time(self, value: datetime) -> datetime:
        if value > timezone.now() + FUTURE_EVENT_TOLERANCE:
            raise ValidationFailed(
                "event_time is ahead of the server's clock.",
                code="event_time_in_future",
                fields={"event_time": ["More than 300 s in the future."]},
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        mismatched = {
            name: [f"Does not match the URL ({self.context[name]!r})."]
            for name, key in (("aggregator_id", "order_id"), ("event", "event"))
            if attrs[key] != self.context[name]
        }
        if mismatched:
            raise ValidationFailed(
                "The signed body is for another order or event.", code="webhook_mismatch", fields=mismatched
            )
        return attrs

    def to_change(self) -> StatusChange:
        raise NotImplementedError


class CourierStatusEventSerializer(OrderEventSerializer):
    courier_status = serializers.ChoiceField(choices=CourierStatus.choices)

    def to_change(self) -> StatusChange:
        data: dict[str, Any] = self.validated_data
        return StatusChange(attribute=COURIER_STATUS, status=data["courier_status"], event_time=data["event_time"])


class CourierAssignEventSerializer(CourierStatusEventSerializer):
    courier = CourierSerializer()

    def to_change(self) -> StatusChange:
        data: dict[str, Any] = self.validated_data
        return StatusChange(
            attribute=COURIER_STATUS,
            status=data["courier_status"],
            event_time=data["event_time"],
            courier=Courier(**data["courier"]),
        )


class KitchenStatusEventSerializer(OrderEventSerializer):
    # Kitchen statuses are the aggregator's vocabulary: any short lowercase slug is stored as given.
    kitchen_status = serializers.RegexField(r"^[a-z][a-z0-9_]{0,31}$")

    def to_change(self) -> StatusChange:
        data: dict[str, Any] = self.validated_data
        return StatusChange(attribute=KITCHEN_STATUS, status=data["kitchen_status"], event_time=data["event_time"])
