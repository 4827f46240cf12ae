from django.apps import AppConfig


class AggregatorsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "aggregators"
    verbose_name = "Aggregators (Rappi)"
