from django.apps import AppConfig


class EventsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "events"

    def ready(self) -> None:
        # Imported once the apps are loaded (Django's rule for ready()): the readiness checks read models.
        from config.health import readiness_reporters
        from events.readiness import broker_readiness, relay_readiness

        readiness_reporters["broker"] = broker_readiness
        readiness_reporters["relay"] = relay_readiness
