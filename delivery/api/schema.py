"""The OpenAPI description of the REST side (drf-spectacular, served at `/api/schema/`).

Views stay thin and unannotated: each is described here by an extension that drf-spectacular
finds by the view's dotted path, with its request, answers and path parameters (contract §2).
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiViewExtension
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers

from aggregators import serializers as webhook_serializers

ERROR = inline_serializer(
    name="Error",
    fields={
        "error": inline_serializer(
            name="ErrorBody",
            fields={
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(),
            },
        )
    },
)
SESSION = inline_serializer(
    name="Session",
    fields={
        "token": serializers.CharField(),
        "user_id": serializers.IntegerField(),
        "driver_id": serializers.IntegerField(allow_null=True),
        "customer_id": serializers.IntegerField(allow_null=True),
        "branch_ids": serializers.ListField(child=serializers.IntegerField()),
    },
)
ORDER_CREATED = inline_serializer(
    name="OrderCreated",
    fields={
        "id": serializers.IntegerField(),
        "albaik_identifier": serializers.CharField(),
        "total": serializers.DecimalField(max_digits=10, decimal_places=2),
        "status": serializers.CharField(),
    },
)
ORDER = inline_serializer(
    name="Order",
    fields={
        "id": serializers.IntegerField(),
        "albaik_identifier": serializers.CharField(),
        "status": serializers.CharField(),
        "total": serializers.DecimalField(max_digits=10, decimal_places=2),
        "delivery": serializers.JSONField(allow_null=True),
    },
)
PREPARATION = inline_serializer(
    name="Preparation",
    fields={
        "id": serializers.IntegerField(),
        "version": serializers.IntegerField(),
        "status": serializers.CharField(),
        "order": serializers.JSONField(),
        "driver": serializers.JSONField(allow_null=True),
        "courier": serializers.JSONField(allow_null=True),
        "bundle": serializers.ListField(child=serializers.CharField(), allow_null=True),
    },
)
WEBHOOK_STATE = inline_serializer(
    name="WebhookState",
    fields={
        "aggregator_id": serializers.CharField(),
        "courier_status": serializers.CharField(allow_null=True),
        "kitchen_status": serializers.CharField(allow_null=True),
        "courier": webhook_serializers.CourierSerializer(allow_null=True),
        "bundle": serializers.ListField(child=serializers.CharField(), allow_null=True),
    },
)
ERRORS = {400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 413: ERROR, 429: ERROR}
AGGREGATOR_ID = OpenApiParameter("aggregator_id", str, OpenApiParameter.PATH, description="The aggregator's order id")
SIGNATURE = OpenApiParameter(
    "Rappi-Signature",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description='t=<unix seconds>,sign=<hex HMAC-SHA256 of "<t>.<raw body>">',
)


def renamed(serializer: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """The view's `InputSerializer` under a name of its own (every view calls its input the same)."""
    return type(f"{name}Serializer", (serializer,), {"__module__": serializer.__module__})


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "delivery.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Token <token>"}


class RappiSignatureScheme(OpenApiAuthenticationExtension):
    target_class = "aggregators.authentication.RappiSignatureAuthentication"
    name = "rappiSignature"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "header", "name": "Rappi-Signature"}


class SessionApiSchema(OpenApiViewExtension):
    target_class = "delivery.api.views.SessionApi"

    def view_replacement(self) -> Any:
        view: Any = self.target_class

        class Described(view):
            @extend_schema(
                request=renamed(view.InputSerializer, "SessionCreate"), responses={201: SESSION, **ERRORS}, auth=[]
            )
            def post(self, request: Any) -> Any:
                return super().post(request)

            @extend_schema(request=None, responses={204: None, **ERRORS})
            def delete(self, request: Any) -> Any:
                return super().delete(request)

        return Described


class OrderCreateApiSchema(OpenApiViewExtension):
    target_class = "delivery.api.views.OrderCreateApi"

    def view_replacement(self) -> Any:
        view: Any = self.target_class

        class Described(view):
            @extend_schema(
                request=renamed(view.InputSerializer, "OrderCreate"), responses={201: ORDER_CREATED, **ERRORS}
            )
            def post(self, request: Any) -> Any:
                return super().post(request)

        return Described


class OrderDetailApiSchema(OpenApiViewExtension):
    target_class = "delivery.api.views.OrderDetailApi"

    def view_replacement(self) -> Any:
        view: Any = self.target_class

        class Described(view):
            @extend_schema(
                parameters=[OpenApiParameter("albaik_identifier", str, OpenApiParameter.PATH)],
                responses={200: ORDER, **ERRORS},
            )
            def get(self, request: Any, albaik_identifier: str) -> Any:
                return super().get(request, albaik_identifier)

        return Described


class BranchPreparationListApiSchema(OpenApiViewExtension):
    target_class = "restaurant.api.BranchPreparationListApi"

    def view_replacement(self) -> Any:
        view: Any = self.target_class

        class Described(view):
            @extend_schema(
                parameters=[OpenApiParameter("branch_id", int, OpenApiParameter.PATH)],
                responses={200: PREPARATION.__class__(many=True), **ERRORS},
            )
            def get(self, request: Any, branch_id: int) -> Any:
                return super().get(request, branch_id)

        return Described


class PreparationUpdateApiSchema(OpenApiViewExtension):
    target_class = "restaurant.api.PreparationUpdateApi"

    def view_replacement(self) -> Any:
        view: Any = self.target_class

        class Described(view):
            @extend_schema(
                parameters=[OpenApiParameter("preparation_id", int, OpenApiParameter.PATH)],
                request=renamed(view.InputSerializer, "PreparationUpdate"),
                responses={200: PREPARATION, **ERRORS},
            )
            def patch(self, request: Any, preparation_id: int) -> Any:
                return super().patch(request, preparation_id)

        return Described


def _webhook_schema(target: str, body: type[serializers.Serializer], *, kitchen: bool) -> type[OpenApiViewExtension]:
    parameters = [AGGREGATOR_ID, SIGNATURE]
    if kitchen:
        parameters.append(OpenApiParameter("status", str, OpenApiParameter.PATH, pattern=r"^[a-z][a-z0-9_]{0,31}$"))

    class WebhookSchema(OpenApiViewExtension):
        target_class = target

        def view_replacement(self) -> Any:
            view: Any = self.target_class

            class Described(view):
                @extend_schema(parameters=parameters, request=body, responses={200: WEBHOOK_STATE, **ERRORS})
                def update(self, request: Any, *args: Any, **kwargs: Any) -> Any:
                    return super().update(request, *args, **kwargs)

            return Described

    return WebhookSchema


class CourierEventBody(serializers.Serializer):
    """A courier event: the URL's order and event repeated, and when it happened."""

    order_id = serializers.CharField()
    event = serializers.CharField()
    event_time = serializers.DateTimeField()


class CourierAssignEventBody(CourierEventBody):
    courier = webhook_serializers.CourierSerializer()


KitchenStatusEventSchema = _webhook_schema("aggregators.views.KitchenStatusEventView", CourierEventBody, kitchen=True)
CourierStatusEventSchema = _webhook_schema("aggregators.views.CourierStatusEventView", CourierEventBody, kitchen=False)
CourierAssignEventSchema = _webhook_schema(
    "aggregators.views.CourierAssignEventView", CourierAssignEventBody, kitchen=False
)
