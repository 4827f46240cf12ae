from django.urls import path

from delivery.api import views

urlpatterns = [
    path("sessions/", views.SessionCreateApi.as_view(), name="session-create"),
    path("orders/", views.OrderCreateApi.as_view(), name="order-create"),
    path("orders/<str:albaik_identifier>/", views.OrderDetailApi.as_view(), name="order-detail"),
]
