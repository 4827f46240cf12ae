from django.contrib import admin
from django.http import HttpRequest

from consumers.models import ProcessedEvent


@admin.register(ProcessedEvent)
class ProcessedEventAdmin(admin.ModelAdmin[ProcessedEvent]):
    """What each consumer processed; read-only: only the consumer runtime writes it."""

    list_display = ("processed_at", "consumer", "event_type", "event_id", "topic", "partition", "offset")
    list_filter = ("consumer", "event_type")
    search_fields = ("=event_id",)
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: ProcessedEvent | None = None) -> bool:
        return False
