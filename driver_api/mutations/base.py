"""The base of every driver mutation: application errors become `errors` data, never a 500."""

from typing import Any

import graphene

from delivery.errors import ApplicationError
from delivery.models import Driver
from driver_api import limits

GRAPHQL_CODES = {"not_found": "not_found", "invalid_transition": "invalid_transition", "validation": "validation"}


def user_errors(error: ApplicationError) -> list[dict[str, Any]]:
    code = GRAPHQL_CODES.get(error.code, "validation")
    if not error.fields:
        return [{"field": None, "code": code, "message": error.message}]
    return [{"field": field, "code": code, "message": "; ".join(messages)} for field, messages in error.fields.items()]


class DriverMutation(graphene.Mutation):
    """Subclasses implement `perform(driver, **arguments)` and return the payload's other fields."""

    class Meta:
        abstract = True

    @classmethod
    def perform(cls, driver: Driver, **arguments: Any) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def mutate(cls, root: Any, info: Any, **arguments: Any) -> Any:
        driver: Driver = info.context.driver
        if refused := limits.argument_errors(arguments):
            return cls(errors=refused)
        try:
            fields = cls.perform(driver, **arguments)
        except ApplicationError as error:
            return cls(errors=user_errors(error))
        return cls(errors=[], **fields)
