from django.apps import AppConfig


class SideEffectsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "side_effects"
