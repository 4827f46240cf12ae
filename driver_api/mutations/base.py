"""The base of every driver mutation (Saleor's `BaseMutation` shape).

It owns the payload's `errors` field and the mapping of application errors to the contract's
`ErrorCode` (§3): subclasses declare their arguments and other fields and implement `perform`;
they never declare `errors` nor catch an application error.
"""

from typing import Any

import graphene

from delivery.errors import (
    ApplicationError,
    Conflict,
    Forbidden,
    InvalidTransition,
    NotAuthenticated,
    NotFound,
    ValidationFailed,
)
from delivery.models import Driver
from driver_api import limits
from driver_api.types import UserError

# Every application error, by class, to its `ErrorCode` value. An error of a class not listed here is
# not mapped to a guess: it propagates to the GraphQL error handler (a coded error, never a 500), and
# `tests/driver_api/test_errors.py` checks that every class in `delivery.errors` is listed.
ERROR_CODES: dict[type[ApplicationError], str] = {
    NotFound: "not_found",
    # What a driver may not touch does not exist for them (existence is not leaked, contract §3).
    Forbidden: "not_found",
    InvalidTransition: "invalid_transition",
    # A change that conflicts with the current state is a move not allowed now.
    Conflict: "invalid_transition",
    ValidationFailed: "validation",
    # Credentials are input the driver sent; the token itself is checked before any mutation runs.
    NotAuthenticated: "validation",
}


def error_code(error: ApplicationError) -> str:
    """The `ErrorCode` value of an application error; LookupError for a class without one."""
    for klass in type(error).__mro__:
        if klass in ERROR_CODES:
            return ERROR_CODES[klass]
    raise LookupError(f"{type(error).__name__} has no GraphQL error code")


def user_errors(error: ApplicationError) -> list[dict[str, Any]]:
    code = error_code(error)
    if not error.fields:
        return [{"field": None, "code": code, "message": error.message}]
    return [{"field": field, "code": code, "message": "; ".join(messages)} for field, messages in error.fields.items()]


class DriverMutation(graphene.Mutation):
    """Subclasses implement `perform(driver, **arguments)` and return the payload's other fields."""

    class Meta:
        abstract = True

    @classmethod
    def __init_subclass_with_meta__(cls, **options: Any) -> None:
        super().__init_subclass_with_meta__(**options)
        # Added after the subclass's own fields, so every payload lists `errors` last.
        cls._meta.fields["errors"] = graphene.Field(graphene.NonNull(graphene.List(graphene.NonNull(UserError))))

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
