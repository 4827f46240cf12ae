from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "delivery"

    def ready(self) -> None:
        # Imported once the models are loaded (Django's rule for ready()): the OpenAPI descriptions of the
        # REST views, and the receivers that turn the services' signals into Celery tasks.
        from delivery import tasks  # noqa: F401
        from delivery.api import schema  # noqa: F401
