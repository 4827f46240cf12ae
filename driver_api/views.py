"""The GraphQL endpoint: token authentication in front of graphene-django's view."""

import json
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from graphene_django_graphiql_static.views import GraphiQLOfflineView

from delivery.selectors.accounts import token_from_header, user_for_token
from driver_api import limits


def unauthenticated(message: str) -> JsonResponse:
    return JsonResponse({"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}, status=401)


@method_decorator(csrf_exempt, name="dispatch")
class DriverGraphQLView(GraphiQLOfflineView):
    """`POST /graphql/` for drivers. GET serves GraphiQL (from local static files) when DEBUG is on."""

    validation_rules = limits.VALIDATION_RULES
    format_error = staticmethod(limits.format_error)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("graphiql", settings.DEBUG)
        super().__init__(**kwargs)

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
        return super().dispatch(request, *args, **kwargs)

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
