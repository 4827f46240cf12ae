from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from config import health
from driver_api.views import DriverGraphQLView

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", health.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/", include("delivery.api.urls")),
    path("graphql/", DriverGraphQLView.as_view(), name="graphql"),
    path("restaurant/", include("restaurant.urls")),
    path("webhooks/rappi/", include("aggregators.urls")),
]

handler400 = "delivery.api.errors.json_400"
handler403 = "delivery.api.errors.json_403"
handler404 = "delivery.api.errors.json_404"
handler500 = "delivery.api.errors.json_500"
