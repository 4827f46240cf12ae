from django.apps import AppConfig


class SideEffectsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "side_effects"

    def ready(self) -> None:
        # Registers the movable work with the policy, once the models it uses are loaded (Django's rule).
        from side_effects import deliveries  # noqa: F401
