"""The dashboard's REST endpoints (contract §2): parse, call one selector or service, render."""

from typing import Any

from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from delivery.api.authentication import ApiTokenAuthentication
from restaurant.payloads import preparation_payload
from restaurant.selectors import preparation_list_active
from restaurant.use_cases import preparation_set_status


class DashboardApi(APIView):
    # Token first: its `WWW-Authenticate` makes anonymous requests 401, not 403. Sessions enforce CSRF.
    authentication_classes: list[Any] = [ApiTokenAuthentication, SessionAuthentication]


class BranchPreparationListApi(DashboardApi):
    def get(self, request: Request, branch_id: int) -> Response:
        preparations = preparation_list_active(user=request.user, branch_id=branch_id)
        return Response([preparation_payload(preparation) for preparation in preparations])


class PreparationUpdateApi(DashboardApi):
    class InputSerializer(serializers.Serializer):
        status = serializers.CharField(max_length=32)

    def patch(self, request: Request, preparation_id: int) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        preparation = preparation_set_status(
            preparation_id=preparation_id, status=data.validated_data["status"], user=request.user
        )
        return Response(preparation_payload(preparation))
