from django.contrib import admin
from django.urls import include, path
from django_prometheus.exports import ExportToDjangoView
from drf_spectacular.views import SpectacularAPIView

from config import health
from driver_api.views import DriverGraphQLView

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Every metric of this process; with PROMETHEUS_MULTIPROC_DIR set (several server processes), those of
    # every process that writes there, summed (README "Health and metrics").
    path("metrics", ExportToDjangoView, name="metrics"),
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
