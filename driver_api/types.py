"""GraphQL types of the driver API (contract §3)."""

from typing import Any

import graphene

from delivery.models import DeliveryStatus as DeliveryStatusChoices
from delivery.models import DriverStatus as DriverStatusChoices


def _enum(name: str, choices: Any, description: str) -> type[graphene.Enum]:
    return graphene.Enum(name, [(c.name, c.value) for c in choices], description=description)


DeliveryStatus = _enum("DeliveryStatus", DeliveryStatusChoices, "Status of a trip's delivery.")
DriverStatus = _enum("DriverStatus", DriverStatusChoices, "What the driver is doing.")
DeliveryUpdate = graphene.Enum(
    "DeliveryUpdate",
    [("OUT_FOR_DELIVERY", "out_for_delivery"), ("DELIVERED", "delivered"), ("FAILED", "failed")],
    description="Scan (out for delivery), completed (delivered) or failed.",
)
ErrorCode = graphene.Enum(
    "ErrorCode",
    [("NOT_FOUND", "not_found"), ("INVALID_TRANSITION", "invalid_transition"), ("VALIDATION", "validation")],
)


class UserError(graphene.ObjectType):
    field = graphene.String()
    code = graphene.Field(ErrorCode, required=True)
    message = graphene.String(required=True)


class Delivery(graphene.ObjectType):
    created_at = graphene.DateTime(required=True)
    status = graphene.Field(DeliveryStatus, required=True)
    arrived_at = graphene.DateTime(description="The driver reported arrival at the restaurant.")
    collecting_at = graphene.DateTime(description="The restaurant started collecting the order.")


class Branch(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    latitude = graphene.Float(required=True)
    longitude = graphene.Float(required=True)

    @staticmethod
    def resolve_id(parent: dict[str, Any], info: Any) -> str:
        return str(parent["id"])


class Customer(graphene.ObjectType):
    first_name = graphene.String(required=True)
    last_name = graphene.String(required=True)
    telephone = graphene.String(required=True)


class OrderItem(graphene.ObjectType):
    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    quantity = graphene.Int(required=True)
    total = graphene.Decimal(required=True)


class Order(graphene.ObjectType):
    """The driver's trip: an order as the driver app sees it."""

    id = graphene.ID(required=True)
    albaik_identifier = graphene.String(required=True)
    total = graphene.Decimal(required=True)
    latitude = graphene.Float(required=True)
    longitude = graphene.Float(required=True)
    delivery = graphene.Field(Delivery, required=True)
    branch = graphene.Field(Branch, required=True)
    customer = graphene.Field(Customer, required=True)
    items = graphene.List(graphene.NonNull(OrderItem), required=True)
