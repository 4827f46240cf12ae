from django.contrib import admin

from driver_api.models import CurrentTrip


@admin.register(CurrentTrip)
class CurrentTripAdmin(admin.ModelAdmin[CurrentTrip]):
    list_display = ["driver", "albaik_identifier", "delivery_status", "version", "updated_at"]
    list_filter = ["delivery_status"]
    search_fields = ["albaik_identifier", "driver__name", "driver__phone"]
    readonly_fields = [f.name for f in CurrentTrip._meta.fields]
