"""Application errors raised by services; each interface renders them in its own shape.

REST renders `{"error": {"code", "message", "fields"}}` with the error's HTTP status;
GraphQL renders `errors: [{field, code, message}]` as data.
"""

from typing import ClassVar


class ApplicationError(Exception):
    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code is not None:
            self.code = code  # type: ignore[misc]


class ValidationFailed(ApplicationError):
    code = "validation"
    http_status = 400


class NotAuthenticated(ApplicationError):
    code = "unauthenticated"
    http_status = 401


class Forbidden(ApplicationError):
    code = "forbidden"
    http_status = 403


class NotFound(ApplicationError):
    code = "not_found"
    http_status = 404


class Conflict(ApplicationError):
    code = "conflict"
    http_status = 409


class InvalidTransition(Conflict):
    code = "invalid_transition"
