from typing import Any

import graphene

from delivery.models import Driver
from delivery.services.deliveries import delivery_update_by_driver
from driver_api.mutations.base import DriverMutation
from driver_api.selectors import trip_view_of
from driver_api.types import DeliveryUpdate, Order


class UpdateOrder(DriverMutation):
    """Scan the order (OUT_FOR_DELIVERY), complete it (DELIVERED) or fail it (FAILED, with a reason)."""

    class Meta:
        name = "UpdateOrderPayload"

    class Arguments:
        albaik_identifier = graphene.String(required=True)
        status = DeliveryUpdate(required=True)
        reason = graphene.String()

    order = graphene.Field(Order)

    @classmethod
    def perform(cls, driver: Driver, **arguments: Any) -> dict[str, Any]:
        status = arguments["status"]
        delivery = delivery_update_by_driver(
            driver=driver,
            albaik_identifier=arguments["albaik_identifier"],
            status=getattr(status, "value", status),
            reason=arguments.get("reason"),
        )
        # The delivery is loaded with its order, branch and items: the answer needs no further query.
        return {"order": trip_view_of(delivery)}
