from django.urls import path

from delivery.api import views

urlpatterns = [
    path("sessions/", views.SessionApi.as_view(), name="sessions"),
    path("orders/", views.OrderCreateApi.as_view(), name="order-create"),
    path("orders/<str:albaik_identifier>/", views.OrderDetailApi.as_view(), name="order-detail"),
]
