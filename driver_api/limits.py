"""Limits on what a GraphQL request may ask, and what its errors may say (contract §3).

- Before parsing: a document over `MAX_DOCUMENT_BYTES` is refused (`QUERY_TOO_COMPLEX`), as is a
  `query` that is not a string or `variables` that are not an object (`BAD_REQUEST`).
- Validation (graphql-core rules, `extra_rules()`, run with the specification's): deeper than
  `MAX_DEPTH`, more than `MAX_ALIASES` aliases or a cost over `MAX_COST` (Saleor's
  `validate_query_cost` with a cost map is the model) is `QUERY_TOO_COMPLEX`; introspection
  is refused when DEBUG is off.
- Arguments: a `reason` over 500 characters, any other string over 200, or a NUL character
  is a `VALIDATION` user error of the mutation (errors are data).
- Errors: never internal exception text; that is logged with the request id instead, and
  "Did you mean" suggestions are dropped when DEBUG is off.
"""

import contextvars
import logging
import re
import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBadRequest
from graphene_django.views import HttpError
from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.validation.rules.custom.no_schema_introspection import NoSchemaIntrospectionCustomRule

logger = logging.getLogger(__name__)

MAX_DOCUMENT_BYTES = 10 * 1024
MAX_DEPTH = 10
MAX_ALIASES = 20
MAX_COST = 200
MAX_STRING_LENGTH = 200
MAX_STRING_LENGTHS = {"reason": 500}

# What a field costs; anything not listed costs 1. Root fields load rows or write them.
COST_MAP = {
    "Query.currentTrip": 10,
    "Mutation.updateOrder": 20,
    "Mutation.updateDriverStatus": 20,
    "Mutation.updateDriverProfile": 10,
}

QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("graphql_request_id", default="-")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SUGGESTION = re.compile(r"\s*Did you mean [^?]*\?", re.DOTALL)


class RequestRefused(HttpError):
    """A request refused before parsing; `format_error` renders it with its code."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(HttpResponseBadRequest(), message)
        self.code = code


def request_checked(request: HttpRequest, query: Any, variables: Any, operation_name: Any) -> None:
    """Check the request's parameters before anything is parsed; raises RequestRefused (HTTP 400)."""
    header = request.META.get("HTTP_X_REQUEST_ID", "")
    _request_id.set(header if _REQUEST_ID.fullmatch(header) else uuid.uuid4().hex)
    if query is not None and not isinstance(query, str):
        raise RequestRefused("`query` must be a string.", "BAD_REQUEST")
    if variables is not None and not isinstance(variables, dict):
        raise RequestRefused("`variables` must be an object.", "BAD_REQUEST")
    if operation_name is not None and not isinstance(operation_name, str):
        raise RequestRefused("`operationName` must be a string.", "BAD_REQUEST")
    if query is not None and len(query.encode("utf-8", "surrogatepass")) > MAX_DOCUMENT_BYTES:
        raise RequestRefused(f"The document is larger than {MAX_DOCUMENT_BYTES} bytes.", QUERY_TOO_COMPLEX)


class QueryComplexityRule(ASTValidationRule):
    """Refuse operations nested deeper than MAX_DEPTH, with more than MAX_ALIASES aliases or costing over MAX_COST.

    Fragments are followed where they are spread, so a fragment spread ten times counts ten times.
    """

    def enter_document(self, node: DocumentNode, *_args: Any) -> Any:
        fragments = {d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)}
        for definition in node.definitions:
            if not isinstance(definition, OperationDefinitionNode):
                continue
            root = definition.operation.value.capitalize()
            depth, aliases, cost = self._measure(definition.selection_set, root, fragments, frozenset())
            problem = None
            if depth > MAX_DEPTH:
                problem = f"The document is nested {depth} levels deep; at most {MAX_DEPTH} are allowed."
            elif aliases > MAX_ALIASES:
                problem = f"The document has {aliases} aliases; at most {MAX_ALIASES} are allowed."
            elif cost > MAX_COST:
                problem = f"The document costs {cost}; at most {MAX_COST} is allowed."
            if problem:
                self.report_error(GraphQLError(problem, definition, extensions={"code": QUERY_TOO_COMPLEX}))
        return self.SKIP

    def _measure(
        self,
        selection_set: SelectionSetNode | None,
        parent: str,
        fragments: dict[str, FragmentDefinitionNode],
        spreading: frozenset[str],
    ) -> tuple[int, int, int]:
        """(depth, aliases, cost) of a selection set; a fragment cycle counts once (another rule refuses it)."""
        if selection_set is None:
            return 0, 0, 0
        depth = aliases = cost = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                d, a, c = self._measure(selection.selection_set, "", fragments, spreading)
                depth = max(depth, d + 1)
                aliases += a + (1 if selection.alias else 0)
                cost += c + COST_MAP.get(f"{parent}.{selection.name.value}", 1)
            elif isinstance(selection, InlineFragmentNode):
                d, a, c = self._measure(selection.selection_set, parent, fragments, spreading)
                depth, aliases, cost = max(depth, d), aliases + a, cost + c
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is None or name in spreading:
                    continue
                d, a, c = self._measure(fragment.selection_set, parent, fragments, spreading | {name})
                depth, aliases, cost = max(depth, d), aliases + a, cost + c
            # Stop counting once far over every limit: the answer is already "refused".
            if aliases > MAX_ALIASES * 10 or cost > MAX_COST * 10:
                break
        return depth, aliases, cost


def extra_rules() -> tuple[type[ASTValidationRule], ...]:
    """The extra rules as of now's DEBUG: a different tuple per setting, for caches keyed by their rules."""
    if settings.DEBUG:
        return (QueryComplexityRule,)
    return (QueryComplexityRule, NoSchemaIntrospectionCustomRule)


def argument_errors(arguments: dict[str, Any]) -> list[dict[str, Any]]:
    """`VALIDATION` user errors for string arguments that are too long or hold NUL characters."""
    errors = []
    for name, value in arguments.items():
        if not isinstance(value, str):
            continue
        limit = MAX_STRING_LENGTHS.get(name, MAX_STRING_LENGTH)
        if len(value) > limit:
            message = f"At most {limit} characters."
        elif "\x00" in value:
            message = "NUL characters are not allowed."
        else:
            continue
        errors.append({"field": _camel(name), "code": "validation", "message": message})
    return errors


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def format_error(error: Exception) -> dict[str, Any]:
    """An error as the client sees it: a code in `extensions`, never internal exception text."""
    if isinstance(error, RequestRefused):
        return {"message": str(error), "extensions": {"code": error.code}}
    if not isinstance(error, GraphQLError):
        # graphene-django's own refusals (no query string, invalid variables JSON): its messages, not internals.
        message = str(error) if isinstance(error, HttpError) else "Bad request."
        return {"message": message, "extensions": {"code": "BAD_REQUEST"}}
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        request_id = _request_id.get()
        logger.error("graphql error (request %s): %s", request_id, original, exc_info=original)
        internal = error.path is not None
        formatted: dict[str, Any] = {
            "message": f"{'Internal error' if internal else 'Invalid input'} (request {request_id}).",
            "extensions": {
                "code": "INTERNAL_SERVER_ERROR" if internal else "BAD_USER_INPUT",
                "request_id": request_id,
            },
        }
        if error.path is not None:
            formatted["path"] = error.path
        return formatted
    formatted = dict(error.formatted)
    if not settings.DEBUG:
        formatted["message"] = _SUGGESTION.sub("", formatted["message"])
    extensions = dict(formatted.get("extensions") or {})
    if "code" not in extensions:
        if error.path is not None:
            extensions["code"] = "BAD_USER_INPUT"
        elif formatted["message"].startswith("Syntax Error"):
            extensions["code"] = "GRAPHQL_PARSE_FAILED"
        else:
            extensions["code"] = "GRAPHQL_VALIDATION_FAILED"
    formatted["extensions"] = extensions
    return formatted
