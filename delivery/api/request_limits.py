"""Size, encoding and nesting limits on every request body, in one place before any view runs.

A path with a NUL character names nothing (404): no view or database query sees one.

A body over `REQUEST_BODY_MAX_BYTES` is 413. A JSON (or `application/graphql`) body that is not
valid UTF-8, not valid JSON, or nested deeper than `REQUEST_JSON_MAX_DEPTH` is 400. REST paths
answer in the contract's error shape, `/graphql/` in GraphQL's (`errors[].extensions.code`).
"""

import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse

from delivery.api.errors import error_body

GRAPHQL_PATH_PREFIX = "/graphql/"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest in a parsed JSON value (a scalar is 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        stack.extend((child, depth) for child in children)
    return deepest


def body_check(*, body: bytes, content_type: str) -> None:
    """Raise BodyRefused unless `body` is acceptable for `content_type` (size is checked by the caller)."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    is_json = media_type == "application/json" or media_type.endswith("+json")
    if not body or not (is_json or media_type == "application/graphql"):
        return
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyRefused(400, "malformed_body", "The body is not valid UTF-8.") from None
    if not is_json:
        return
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise BodyRefused(400, "too_deep", "The body nests too deeply.") from None
    except ValueError:
        raise BodyRefused(400, "malformed_json", "The body is not valid JSON.") from None
    if json_depth(value) > settings.REQUEST_JSON_MAX_DEPTH:
        raise BodyRefused(400, "too_deep", "The body nests too deeply.")


def refusal_response(request: HttpRequest, refusal: BodyRefused) -> JsonResponse:
    if request.path_info.startswith(GRAPHQL_PATH_PREFIX):
        code = {413: "PAYLOAD_TOO_LARGE", 404: "NOT_FOUND"}.get(refusal.status, "BAD_REQUEST")
        return JsonResponse(
            {"errors": [{"message": refusal.message, "extensions": {"code": code}}]}, status=refusal.status
        )
    return JsonResponse(error_body(refusal.code, refusal.message), status=refusal.status)


class RequestLimitMiddleware:
    """Refuse oversized, non-UTF-8, malformed or too deeply nested bodies before parsers and views see them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info:
            return refusal_response(request, BodyRefused(404, "not_found", "Not found."))
        if request.method in _BODY_METHODS:
            try:
                self._check(request)
            except BodyRefused as refusal:
                return refusal_response(request, refusal)
        return self.get_response(request)

    def _check(self, request: HttpRequest) -> None:
        limit = settings.REQUEST_BODY_MAX_BYTES
        too_large = BodyRefused(413, "body_too_large", f"The body is larger than {limit} bytes.")
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            raise BodyRefused(400, "malformed_body", "Content-Length is not a number.") from None
        if declared > limit:
            raise too_large
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.startswith("multipart/"):
            return  # Django's own upload limits apply; no endpoint here takes uploads
        try:
            body = request.body
        except RequestDataTooBig:
            raise too_large from None
        if len(body) > limit:
            raise too_large
        body_check(body=body, content_type=content_type)
