from django.urls import URLPattern, URLResolver, path

from restaurant.consumers import BranchDashboardConsumer

websocket_urlpatterns: list[URLPattern | URLResolver] = [
    path("ws/restaurant/branches/<int:branch_id>/", BranchDashboardConsumer.as_asgi(), name="branch-dashboard-ws"),
]
