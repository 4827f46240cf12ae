"""Normal data: the system of record for branches, menu, customers, orders and deliveries."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Branch(models.Model):
    name = models.CharField(max_length=120)
    latitude = models.FloatField()
    longitude = models.FloatField()
    can_reject_orders = models.BooleanField(default=True)
    accepting_orders = models.BooleanField(default=True)
    # Aggregator store this branch is listed as (Rappi-style `store_id`).
    store_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    staff = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="staff_branches", blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "branches"
        constraints = [
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="branch_location_in_range",
            )
        ]

    def __str__(self) -> str:
        return self.name


class MenuItem(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    is_available = models.BooleanField(default=True)

    class Meta:
        ordering = ["id"]
        constraints = [models.CheckConstraint(condition=Q(price__gte=0), name="menu_item_price_not_negative")]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class Locale(models.TextChoices):
    EN = "en", "English"
    AR = "ar", "Arabic"


class Customer(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer")
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    telephone = models.CharField(max_length=32, unique=True)
    preferred_locale = models.CharField(max_length=8, choices=Locale.choices, default=Locale.EN)
    notify = models.BooleanField(default=True, help_text="Send push notifications about orders.")

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.first_name} {self.last_name}"


class DriverStatus(models.TextChoices):
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"
    DRIVING_TO_RESTAURANT = "driving_to_restaurant"
    WAITING_AT_RESTAURANT = "waiting_at_restaurant"
    DRIVING_TO_CUSTOMER = "driving_to_customer"
    RETURNING_ORDER_TO_RESTAURANT = "returning_order_to_restaurant"
    ACCIDENT = "accident"


class Driver(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="driver")
    name = models.CharField(max_length=120)
    phone = models.CharField(max_length=32, unique=True)
    # Current status, kept with its append-only history (DriverStatusChange) in one transaction.
    status = models.CharField(max_length=40, choices=DriverStatus.choices, default=DriverStatus.UNAVAILABLE)
    status_changed_at = models.DateTimeField(default=timezone.now)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    location_updated_at = models.DateTimeField(null=True, blank=True)
    # The trip the driver app shows; kept after delivery until the next assignment.
    current_delivery = models.OneToOneField(
        "Delivery", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status"], name="driver_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(latitude__isnull=True) & Q(longitude__isnull=True))
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="driver_location_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone})"


class DriverStatusChange(models.Model):
    driver = models.ForeignKey(Driver, on_delete=models.CASCADE, related_name="status_changes")
    status = models.CharField(max_length=40, choices=DriverStatus.choices)
    created_at = models.DateTimeField(default=timezone.now)
    # Set when the change was applied from an event (normal_data consumer), for idempotency and audit.
    event_id = models.UUIDField(null=True, blank=True, unique=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["driver", "-created_at"], name="driver_status_history_idx")]

    def __str__(self) -> str:
        return f"{self.driver_id} {self.status} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class OrderSource(models.TextChoices):
    OWN_FLEET = "own_fleet", "Own fleet"
    AGGREGATOR = "aggregator", "Aggregator"


class OrderStatus(models.TextChoices):
    PLACED = "placed"
    IN_PROGRESS = "in_progress"
    DELIVERED = "delivered"
    FAILED = "failed"
    REJECTED = "rejected"


class CourierStatus(models.TextChoices):
    ASSIGNED = "assigned"
    AT_HUB = "at_hub"
    IN_TRANSIT = "in_transit"
    AT_DESTINATION = "at_destination"
    DELIVERED = "delivered"


class Bundle(models.Model):
    """Aggregator orders one courier carries together: the kitchen cooks them together."""

    aggregator = models.CharField(max_length=32)
    courier_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.aggregator} courier {self.courier_id}"


class Order(models.Model):
    albaik_identifier = models.CharField(max_length=32, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="orders")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="orders")
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    total = models.DecimalField(max_digits=10, decimal_places=2)
    latitude = models.FloatField()
    longitude = models.FloatField()
    # Who receives the order, as given when it was placed (aggregator orders have no Customer account).
    contact_first_name = models.CharField(max_length=80)
    contact_last_name = models.CharField(max_length=80)
    contact_telephone = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    source = models.CharField(max_length=16, choices=OrderSource.choices, default=OrderSource.OWN_FLEET)
    aggregator = models.CharField(max_length=32, blank=True, default="")
    # NULL, not "", for own-fleet orders: the unique constraint applies to aggregator ids only.
    aggregator_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    courier_id = models.CharField(max_length=64, blank=True, default="")
    courier_name = models.CharField(max_length=120, blank=True, default="")
    courier_phone = models.CharField(max_length=32, blank=True, default="")
    courier_status = models.CharField(max_length=20, choices=CourierStatus.choices, blank=True, default="")
    courier_status_at = models.DateTimeField(null=True, blank=True)
    kitchen_status = models.CharField(max_length=32, blank=True, default="")
    kitchen_status_at = models.DateTimeField(null=True, blank=True)
    bundle = models.ForeignKey(Bundle, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders")
    # Counts changes the dashboard shows that no preparation or delivery row records: the courier, the
    # bundle, a reassignment (see `preparation_version`).
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["branch", "status"], name="order_branch_status_idx"),
            models.Index(fields=["aggregator", "courier_id"], name="order_courier_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["aggregator", "aggregator_id"],
                condition=Q(aggregator_id__isnull=False),
                name="unique_aggregator_order",
            ),
            models.CheckConstraint(condition=Q(total__gte=Decimal("0")), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="order_location_in_range",
            ),
        ]

    def __str__(self) -> str:
        return self.albaik_identifier


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    menu_item = models.ForeignKey(MenuItem, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(max_length=120)
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=2)
    total = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="order_item_quantity_positive"),
            models.CheckConstraint(condition=Q(total=F("unit_price") * F("quantity")), name="order_item_total"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.name}"


class PreparationStatus(models.TextChoices):
    RECEIVED = "received"
    COLLECTING = "collecting"
    READY = "ready"
    HANDED_OVER = "handed_over"


class PreparationKind(models.TextChoices):
    DELIVERY = "delivery"
    PICKUP = "pickup"


class Preparation(models.Model):
    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="preparation")
    branch = models.ForeignKey(Branch, on_delete=models.PROTECT, related_name="preparations")
    status = models.CharField(max_length=20, choices=PreparationStatus.choices, default=PreparationStatus.RECEIVED)
    kind = models.CharField(max_length=16, choices=PreparationKind.choices, default=PreparationKind.DELIVERY)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    collecting_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["branch", "status"], name="preparation_branch_status_idx")]

    def __str__(self) -> str:
        return f"preparation of order {self.order_id}: {self.status}"


class DeliveryStatus(models.TextChoices):
    ASSIGNED = "assigned"
    WAITING_AT_RESTAURANT = "waiting_at_restaurant"
    READY_TO_COLLECT = "ready_to_collect"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    FAILED = "failed"


FINISHED_DELIVERY_STATUSES = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED)


class Delivery(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="deliveries")
    driver = models.ForeignKey(Driver, on_delete=models.PROTECT, related_name="deliveries")
    status = models.CharField(max_length=32, choices=DeliveryStatus.choices, default=DeliveryStatus.ASSIGNED)
    # False once the order was reassigned to another driver (e.g. after an accident).
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    arrived_at = models.DateTimeField(null=True, blank=True)
    collecting_at = models.DateTimeField(null=True, blank=True)
    out_for_delivery_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["order"], condition=Q(is_active=True), name="one_active_delivery_per_order"
            ),
            models.UniqueConstraint(
                fields=["driver"],
                condition=Q(is_active=True) & ~Q(status__in=["delivered", "failed"]),
                name="one_open_delivery_per_driver",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}/{self.driver_id} {self.status}"


class DeliveryStatusChange(models.Model):
    """Append-only history of a delivery's status."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="status_changes")
    status = models.CharField(max_length=32, choices=DeliveryStatus.choices)
    source = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.status} ({self.source})"


class DeliveryFailure(models.Model):
    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, related_name="failure")
    reason = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"delivery {self.delivery_id}: {self.reason}"
