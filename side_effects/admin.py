from django.contrib import admin

from side_effects.models import EffectRecord


@admin.register(EffectRecord)
class EffectRecordAdmin(admin.ModelAdmin[EffectRecord]):
    list_display = ["albaik_identifier", "kind", "path", "outcome", "at"]
    list_filter = ["kind", "path", "outcome"]
    search_fields = ["albaik_identifier"]
    readonly_fields = ["albaik_identifier", "kind", "path", "outcome", "event_id", "detail", "at"]
