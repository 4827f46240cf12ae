from django.apps import AppConfig


class DriverApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "driver_api"
