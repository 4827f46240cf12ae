"""Aggregator webhooks (contract §2): one base view, extended per event family.

The status comes from the URL's kwargs into the serializer; each family only names its
serializer and the order property it moves, so a new family is a new subclass.
"""

import logging
from abc import ABC
from typing import Any, ClassVar, cast

from rest_framework import viewsets
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from aggregators import serializers
from aggregators.authentication import IsRappiAuthenticated, RappiSignatureAuthentication
from aggregators.selectors import webhook_state
from aggregators.services import aggregator_order_update
from aggregators.transitions import COURIER_STATUS, KITCHEN_STATUS, RAPPI, StatusProperty
from delivery.api.throttles import WebhookThrottle

logger = logging.getLogger(__name__)


class WebhookJSONParser(JSONParser):
    """JSON, where a body nested too deeply to parse is a 400 like any other malformed body."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("Malformed JSON body.") from exc


class BaseOrderEventView(ABC, viewsets.GenericViewSet):
    """PATCH `<aggregator_id>/...`: verify the signature, validate the body with the URL's status, apply it."""

    authentication_classes = (RappiSignatureAuthentication,)
    permission_classes = (IsRappiAuthenticated,)
    parser_classes = (WebhookJSONParser,)
    throttle_classes = (WebhookThrottle,)
    lookup_field = "aggregator_id"
    aggregator: ClassVar[str] = RAPPI
    serializer_class: type[serializers.OrderEventSerializer]
    status_property: ClassVar[StatusProperty]

    def get_kwargs_context(self) -> dict[str, Any]:
        return {self.status_property: self.kwargs.get("status")}

    def get_serializer_context(self) -> dict[str, Any]:
        # What the signed body must repeat: the order and the event (the URL's last segment).
        event = self.request.path_info.rstrip("/").rsplit("/", 1)[-1]
        return {**super().get_serializer_context(), "aggregator_id": self.kwargs.get(self.lookup_field), "event": event}

    def get_serializer(self, *args: Any, **kwargs: Any) -> serializers.OrderEventSerializer:
        data = kwargs.pop("data")
        # The URL decides the status; a body that is not an object is left for the serializer to refuse.
        updated_data = {**data, **self.get_kwargs_context()} if isinstance(data, dict) else data
        return cast(serializers.OrderEventSerializer, super().get_serializer(*args, data=updated_data, **kwargs))

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        logger.debug(
            "webhook %s for %s: %s", self.kwargs.get("status"), self.kwargs.get(self.lookup_field), request.data
        )
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = aggregator_order_update(
            aggregator=self.aggregator,
            aggregator_id=self.kwargs[self.lookup_field],
            change=serializer.to_change(),
        )
        return Response(webhook_state(order))


class KitchenStatusEventView(BaseOrderEventView):
    """Events about the order in the kitchen, as the aggregator sees it."""

    serializer_class = serializers.KitchenStatusEventSerializer
    status_property = KITCHEN_STATUS


class CourierStatusEventView(BaseOrderEventView):
    """Events about the courier."""

    serializer_class = serializers.CourierStatusEventSerializer
    status_property = COURIER_STATUS


class CourierAssignEventView(CourierStatusEventView):
    """The courier assignment, which carries who the courier is."""

    serializer_class = serializers.CourierAssignEventSerializer
