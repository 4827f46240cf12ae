"""The driver app's own store: one denormalised CurrentTrip row per driver."""

from django.db import models
from django.utils import timezone

from delivery.models import DeliveryStatus, Driver


class CurrentTrip(models.Model):
    """Exactly what `currentTrip` returns, readable by primary key.

    Trip fields are empty when the driver has no trip. Each writer updates only the
    fields its change owns (status and times), guarded by `delivery_id` so a late
    change of an old trip never lands on the next one; `version` counts changes.
    """

    driver = models.OneToOneField(Driver, on_delete=models.CASCADE, primary_key=True, related_name="current_trip")
    delivery_id = models.BigIntegerField(null=True, blank=True)
    order_id = models.BigIntegerField(null=True, blank=True)
    albaik_identifier = models.CharField(max_length=32, blank=True, default="")
    total = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    delivery_created_at = models.DateTimeField(null=True, blank=True)
    delivery_status = models.CharField(max_length=32, choices=DeliveryStatus.choices, blank=True, default="")
    arrived_at = models.DateTimeField(null=True, blank=True)
    collecting_at = models.DateTimeField(null=True, blank=True)
    # {"id", "name", "latitude", "longitude"}
    branch = models.JSONField(default=dict, blank=True)
    # {"first_name", "last_name", "telephone"}
    customer = models.JSONField(default=dict, blank=True)
    # [{"id", "name", "quantity", "total"}]
    items = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)
    last_event_id = models.UUIDField(null=True, blank=True)

    class Meta:
        verbose_name = "current trip"

    def __str__(self) -> str:
        return f"driver {self.driver_id}: {self.albaik_identifier or '-'} {self.delivery_status}"

    @property
    def has_trip(self) -> bool:
        return self.order_id is not None
