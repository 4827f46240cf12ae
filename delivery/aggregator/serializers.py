"""Webhook bodies. The status itself comes from the URL (the view merges it in), never from the body."""

from typing import Any

from rest_framework import serializers

from delivery.aggregator.transitions import COURIER_STATUS, KITCHEN_STATUS, Courier, StatusChange
from delivery.models import CourierStatus


class CourierSerializer(serializers.Serializer):
    id = serializers.CharField(max_length=64)
    name = serializers.CharField(max_length=120)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class OrderEventSerializer(serializers.Serializer):
    """Every webhook says when the event happened at the aggregator; the newest state wins."""

    event_time = serializers.DateTimeField()

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
