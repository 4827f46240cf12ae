from django.contrib import admin
from django.db.models import F
from django.http import HttpRequest

from events.models import OutboxEvent


@admin.register(OutboxEvent)
class OutboxEventAdmin(admin.ModelAdmin[OutboxEvent]):
    """The outbox, unpublished events first (oldest first); parked events filter by `parked_at`.

    Read-only: only the relay writes it; `manage.py outbox_parked` retries or drops parked events."""

    list_display = (
        "id",
        "type",
        "key",
        "albaik_identifier",
        "created_at",
        "published_at",
        "parked_at",
        "attempts",
        "last_error",
    )
    list_filter = ("type", ("published_at", admin.EmptyFieldListFilter), ("parked_at", admin.EmptyFieldListFilter))
    search_fields = ("=event_id", "=albaik_identifier", "=key")
    ordering = (F("published_at").asc(nulls_first=True), "id")
    list_per_page = 100

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: OutboxEvent | None = None) -> bool:
        return False
