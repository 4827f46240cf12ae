from typing import Any

import graphene

from delivery.models import Driver
from delivery.services.drivers import driver_update_location
from driver_api.mutations.base import DriverMutation


class UpdateDriverProfile(DriverMutation):
    """The app's location ping (every 45 s)."""

    class Meta:
        name = "UpdateDriverProfilePayload"

    class Arguments:
        latitude = graphene.Float(required=True)
        longitude = graphene.Float(required=True)

    ok = graphene.Boolean(required=True)

    @classmethod
    def perform(cls, driver: Driver, **arguments: Any) -> dict[str, Any]:
        driver_update_location(driver=driver, latitude=arguments["latitude"], longitude=arguments["longitude"])
        return {"ok": True}

    @classmethod
    def mutate(cls, root: Any, info: Any, **arguments: Any) -> Any:
        payload = super().mutate(root, info, **arguments)
        if payload.errors:
            payload.ok = False
        return payload
