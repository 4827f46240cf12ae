"""The driver app's GraphQL schema (contract §3)."""

from typing import Any

import graphene

from driver_api.mutations.update_driver_profile import UpdateDriverProfile
from driver_api.mutations.update_driver_status import UpdateDriverStatus
from driver_api.mutations.update_order import UpdateOrder
from driver_api.selectors import TripView, current_trip_for_driver
from driver_api.types import Order


class Query(graphene.ObjectType):
    current_trip = graphene.Field(Order, description="The driver's trip; null when the driver has none.")

    @staticmethod
    def resolve_current_trip(root: Any, info: Any) -> TripView | None:
        return current_trip_for_driver(driver=info.context.driver)


class Mutation(graphene.ObjectType):
    update_order = UpdateOrder.Field(required=True)
    update_driver_status = UpdateDriverStatus.Field(required=True)
    update_driver_profile = UpdateDriverProfile.Field(required=True)


schema = graphene.Schema(query=Query, mutation=Mutation)
