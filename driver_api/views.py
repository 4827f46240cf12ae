"""The GraphQL endpoint: token authentication in front of graphene-django's view.

A driver app sends the same few documents all day, so each document is parsed and
validated once per process and kept in an LRU by its text (as strawberry's
`ParserCache` and `ValidationCache` do); a request then only executes it.
"""

import functools
import json
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotAllowed, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from graphene_django.settings import graphene_settings
from graphene_django.views import GraphQLView, HttpError
from graphene_django_graphiql_static.views import GraphiQLOfflineView
from graphql import (
    ASTValidationRule,
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)

from delivery.selectors.accounts import token_from_header, user_for_token
from driver_api import limits

# Documents kept per process; a driver app sends a handful, the rest is room for other clients.
DOCUMENT_CACHE_SIZE = 256

# graphene-django's dispatch without its `ensure_csrf_cookie`: drivers send a token, the view is CSRF-exempt,
# and a new CSRF secret and cookie on every API answer was CPU spent on nothing (GraphiQL keeps the cookie).
graphql_dispatch = GraphQLView.dispatch.__wrapped__


def unauthenticated(message: str) -> JsonResponse:
    return JsonResponse({"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}, status=401)


@functools.lru_cache(maxsize=DOCUMENT_CACHE_SIZE)
def document_checked(
    schema: GraphQLSchema, query: str, rules: tuple[type[ASTValidationRule], ...]
) -> tuple[DocumentNode | None, Sequence[GraphQLError]]:
    """The parsed document and its validation errors, computed once per (schema, text, rules)."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return None, [error]
    return document, validate(schema, document, rules, graphene_settings.MAX_VALIDATION_ERRORS)


@method_decorator(csrf_exempt, name="dispatch")
class DriverGraphQLView(GraphiQLOfflineView):
    """`POST /graphql/` for drivers. GET serves GraphiQL (from local static files) when DEBUG is on."""

    format_error = staticmethod(limits.format_error)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("graphiql", settings.DEBUG)
        super().__init__(**kwargs)

    def document_rules(self) -> tuple[type[ASTValidationRule], ...]:
        """Every rule a document must pass before it runs; part of the cache key."""
        return (*specified_rules, *limits.extra_rules())

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "GET" and self.graphiql and self.can_display_graphiql(request, {}):
            return super().dispatch(request, *args, **kwargs)
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return unauthenticated("Authentication required: send 'Authorization: Token <token>'.")
        user = user_for_token(raw_token=token_from_header(header))
        driver = getattr(user, "driver", None) if user is not None else None
        if user is None or driver is None:
            return unauthenticated("Invalid token, or the token is not a driver's.")
        request.user = user  # type: ignore[assignment]
        request.driver = driver  # type: ignore[attr-defined]
        response: HttpResponse = graphql_dispatch(self, request, *args, **kwargs)
        return response

    def get_graphql_params(self, request: HttpRequest, data: dict[str, Any]) -> tuple[Any, Any, Any, Any]:
        params = super().get_graphql_params(request, data)
        limits.request_checked(request, *params[:3])  # before anything is parsed
        return params

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        # A body that is not a JSON object is a 400 ("Must provide query string"), never a 500.
        content_type = self.get_content_type(request)
        if content_type == "application/json":
            try:
                body = json.loads(request.body.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                return {}
            return body if isinstance(body, dict) else {}
        return super().parse_body(request)

    def execute_graphql_request(
        self,
        request: HttpRequest,
        data: dict[str, Any],
        query: str | None,
        variables: dict[str, Any] | None,
        operation_name: str | None,
        show_graphiql: bool = False,
    ) -> ExecutionResult | None:
        """graphene-django's, with the parsed and validated document taken from the cache."""
        if not query:
            if show_graphiql:
                return None
            raise HttpError(HttpResponseBadRequest("Must provide query string."))
        schema = self.schema.graphql_schema
        document, errors = document_checked(schema, query, self.document_rules())
        if document is None or errors:
            return ExecutionResult(data=None, errors=list(errors))
        operation = get_operation_ast(document, operation_name)
        if request.method == "GET" and operation is not None and operation.operation != OperationType.QUERY:
            if show_graphiql:
                return None
            raise HttpError(HttpResponseNotAllowed(["POST"], "Only queries are allowed over GET."))
        try:
            result = execute(
                schema,
                document,
                root_value=self.get_root_value(request),
                context_value=self.get_context(request),
                variable_values=variables,
                operation_name=operation_name,
                middleware=self.get_middleware(request),
            )
        except Exception as error:
            return ExecutionResult(errors=[GraphQLError(str(error), original_error=error)])
        assert isinstance(result, ExecutionResult)  # resolvers are synchronous
        return result
