"""Customer and session REST API: parse, call one service, render."""

from typing import Any

from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from delivery.api.throttles import FailedLoginThrottle, LoginAccountThrottle, LoginAddressThrottle
from delivery.errors import Forbidden, NotAuthenticated
from delivery.models import Customer
from delivery.selectors.orders import order_get_for_customer, order_to_json
from delivery.services.accounts import session_create, session_end
from delivery.services.orders import ItemRequest, order_place


def customer_of(request: Request) -> Customer:
    customer = getattr(request.user, "customer", None)
    if customer is None:
        raise Forbidden("Only customers can do this.")
    return customer


class SessionApi(APIView):
    """POST logs in (a new token per login); DELETE logs out (revokes the token sent)."""

    login_throttles: list[FailedLoginThrottle]

    class InputSerializer(serializers.Serializer):
        phone = serializers.CharField(required=False, max_length=32)
        username = serializers.CharField(required=False, max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs.get("phone") and not attrs.get("username"):
                raise serializers.ValidationError({"phone": ["Give a phone (drivers, customers) or a username."]})
            return attrs

    def get_permissions(self) -> list[BasePermission]:
        return [IsAuthenticated()] if self.request.method == "DELETE" else [AllowAny()]

    def get_throttles(self) -> list[Any]:
        # Kept on the view: a failed login is counted after the fact, in `post`.
        self.login_throttles = [LoginAccountThrottle(), LoginAddressThrottle()] if self.request.method == "POST" else []
        return list(self.login_throttles)

    def perform_authentication(self, request: Request) -> None:
        # Logging in needs no token, and a stale one sent out of habit must not stop it.
        if request.method == "DELETE":
            super().perform_authentication(request)

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            session = session_create(
                phone=data.validated_data.get("phone"),
                username=data.validated_data.get("username"),
                password=data.validated_data["password"],
            )
        except NotAuthenticated:
            for throttle in self.login_throttles:
                throttle.failure()
            raise
        return Response(
            {
                "token": session.token,
                "user_id": session.user_id,
                "driver_id": session.driver_id,
                "customer_id": session.customer_id,
                "branch_ids": session.branch_ids,
            },
            status=status.HTTP_201_CREATED,
        )

    def delete(self, request: Request) -> Response:
        session_end(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


class OrderCreateApi(APIView):
    class InputSerializer(serializers.Serializer):
        class ItemSerializer(serializers.Serializer):
            menu_item_id = serializers.IntegerField(min_value=1, max_value=2**62)
            quantity = serializers.IntegerField(min_value=1, max_value=1000)

        branch_id = serializers.IntegerField(min_value=1, max_value=2**62)
        latitude = serializers.FloatField(min_value=-90, max_value=90)
        longitude = serializers.FloatField(min_value=-180, max_value=180)
        items = ItemSerializer(many=True, allow_empty=False, max_length=100)  # type: ignore[call-arg]

    def post(self, request: Request) -> Response:
        customer = customer_of(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_place(
            customer=customer,
            branch_id=data.validated_data["branch_id"],
            latitude=data.validated_data["latitude"],
            longitude=data.validated_data["longitude"],
            items=[ItemRequest(**item) for item in data.validated_data["items"]],
        )
        order.refresh_from_db(fields=["status"])
        return Response(
            {
                "id": order.pk,
                "albaik_identifier": order.albaik_identifier,
                "total": str(order.total),
                "status": order.status,
            },
            status=status.HTTP_201_CREATED,
        )


class OrderDetailApi(APIView):
    def get(self, request: Request, albaik_identifier: str) -> Response:
        order = order_get_for_customer(customer=customer_of(request), albaik_identifier=albaik_identifier)
        return Response(order_to_json(order))
