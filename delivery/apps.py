from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "delivery"

    def ready(self) -> None:
        # Registers the OpenAPI descriptions of the REST views with drf-spectacular.
        from delivery.api import schema  # noqa: F401
