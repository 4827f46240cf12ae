"""`/webhooks/rappi/<aggregator_id>/...`: every webhook is a PATCH; the status rides in the URL's kwargs."""

from typing import Any

from django.urls import URLPattern, URLResolver, path

from aggregators import views
from delivery.models import CourierStatus

ALLOWED_METHODS_UPDATE_ORDER: dict[str, Any] = {"patch": "update"}

urlpatterns: list[URLPattern | URLResolver] = [
    path(
        "<str:aggregator_id>/couriers/assign/",
        views.CourierAssignEventView.as_view(ALLOWED_METHODS_UPDATE_ORDER),
        name="courier_assign",
        kwargs={"status": CourierStatus.ASSIGNED},
    ),
    path(
        "<str:aggregator_id>/couriers/at_hub/",
        views.CourierStatusEventView.as_view(ALLOWED_METHODS_UPDATE_ORDER),
        name="courier_at_hub",
        kwargs={"status": CourierStatus.AT_HUB},
    ),
    path(
        "<str:aggregator_id>/couriers/in_transit/",
        views.CourierStatusEventView.as_view(ALLOWED_METHODS_UPDATE_ORDER),
        name="courier_in_transit",
        kwargs={"status": CourierStatus.IN_TRANSIT},
    ),
    path(
        "<str:aggregator_id>/couriers/at_destination/",
        views.CourierStatusEventView.as_view(ALLOWED_METHODS_UPDATE_ORDER),
        name="courier_at_destination",
        kwargs={"status": CourierStatus.AT_DESTINATION},
    ),
    path(
        "<str:aggregator_id>/couriers/delivered/",
        views.CourierStatusEventView.as_view(ALLOWED_METHODS_UPDATE_ORDER),
        name="courier_delivered",
        kwargs={"status": CourierStatus.DELIVERED},
    ),
    path(
        "<str:aggregator_id>/kitchen/<str:status>/",
        views.KitchenStatusEventView.as_view(ALLOWED_METHODS_UPDATE_ORDER),
        name="kitchen_status",
    ),
]
