from typing import Any

import graphene

from delivery.models import Driver
from delivery.use_cases.drivers import driver_report_status
from driver_api.mutations.base import DriverMutation
from driver_api.types import DriverStatus


class UpdateDriverStatus(DriverMutation):
    """Report what the driver is doing; WAITING_AT_RESTAURANT is the arrival at the restaurant."""

    class Meta:
        name = "UpdateDriverStatusPayload"

    class Arguments:
        status = DriverStatus(required=True)

    status = graphene.Field(DriverStatus)

    @classmethod
    def perform(cls, driver: Driver, **arguments: Any) -> dict[str, Any]:
        status = arguments["status"]
        return {"status": driver_report_status(driver=driver, status=getattr(status, "value", status))}
