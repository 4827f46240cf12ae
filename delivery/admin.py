"""Operator views of normal data: search by albaik_identifier, filter by status."""

from django.contrib import admin

from delivery.models import (
    Branch,
    Bundle,
    Customer,
    Delivery,
    DeliveryFailure,
    DeliveryStatusChange,
    Driver,
    DriverStatusChange,
    MenuItem,
    Order,
    OrderItem,
    Preparation,
)


@admin.register(Branch)
class BranchAdmin(admin.ModelAdmin[Branch]):
    list_display = ["id", "name", "store_id", "accepting_orders", "can_reject_orders"]
    list_filter = ["accepting_orders", "can_reject_orders"]
    search_fields = ["name", "store_id"]
    filter_horizontal = ["staff"]


@admin.register(MenuItem)
class MenuItemAdmin(admin.ModelAdmin[MenuItem]):
    list_display = ["sku", "name", "price", "is_available"]
    list_filter = ["is_available"]
    search_fields = ["sku", "name"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin[Customer]):
    list_display = ["id", "first_name", "last_name", "telephone", "preferred_locale", "notify"]
    list_filter = ["preferred_locale", "notify"]
    search_fields = ["first_name", "last_name", "telephone"]
    raw_id_fields = ["user"]


class DriverStatusChangeInline(admin.TabularInline[DriverStatusChange, Driver]):
    model = DriverStatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["status", "created_at", "event_id"]
    ordering = ["-created_at"]
    max_num = 0


@admin.register(Driver)
class DriverAdmin(admin.ModelAdmin[Driver]):
    list_display = ["id", "name", "phone", "status", "status_changed_at", "location_updated_at"]
    list_filter = ["status"]
    search_fields = ["name", "phone"]
    raw_id_fields = ["user", "current_delivery"]
    inlines = [DriverStatusChangeInline]


class OrderItemInline(admin.TabularInline[OrderItem, Order]):
    model = OrderItem
    extra = 0
    raw_id_fields = ["menu_item"]


class DeliveryInline(admin.TabularInline[Delivery, Order]):
    model = Delivery
    extra = 0
    fields = ("driver", "status", "is_active", "created_at", "arrived_at", "collecting_at", "finished_at", "version")
    readonly_fields = fields
    can_delete = False
    max_num = 0


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin[Order]):
    list_display = ["albaik_identifier", "branch", "status", "source", "total", "courier_status", "created_at"]
    list_filter = ["status", "source", "branch", "courier_status"]
    search_fields = ["albaik_identifier", "aggregator_id", "contact_telephone"]
    raw_id_fields = ["customer", "bundle"]
    date_hierarchy = "created_at"
    inlines = [OrderItemInline, DeliveryInline]


@admin.register(Preparation)
class PreparationAdmin(admin.ModelAdmin[Preparation]):
    list_display = ["id", "order", "branch", "status", "kind", "created_at"]
    list_filter = ["status", "kind", "branch"]
    search_fields = ["order__albaik_identifier"]
    raw_id_fields = ["order"]


class DeliveryStatusChangeInline(admin.TabularInline[DeliveryStatusChange, Delivery]):
    model = DeliveryStatusChange
    extra = 0
    readonly_fields = ["status", "source", "created_at"]
    can_delete = False
    max_num = 0


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin[Delivery]):
    list_display = ["id", "order", "driver", "status", "is_active", "created_at", "version"]
    list_filter = ["status", "is_active"]
    search_fields = ["order__albaik_identifier", "driver__name", "driver__phone"]
    raw_id_fields = ["order", "driver"]
    inlines = [DeliveryStatusChangeInline]


@admin.register(DeliveryFailure)
class DeliveryFailureAdmin(admin.ModelAdmin[DeliveryFailure]):
    list_display = ["delivery", "reason", "created_at"]
    search_fields = ["delivery__order__albaik_identifier", "reason"]
    raw_id_fields = ["delivery"]


@admin.register(Bundle)
class BundleAdmin(admin.ModelAdmin[Bundle]):
    list_display = ["id", "aggregator", "courier_id", "created_at"]
    search_fields = ["courier_id", "orders__albaik_identifier"]


@admin.register(DriverStatusChange)
class DriverStatusChangeAdmin(admin.ModelAdmin[DriverStatusChange]):
    list_display = ["driver", "status", "created_at", "event_id"]
    list_filter = ["status"]
    search_fields = ["driver__name", "driver__phone"]
    raw_id_fields = ["driver"]


@admin.register(DeliveryStatusChange)
class DeliveryStatusChangeAdmin(admin.ModelAdmin[DeliveryStatusChange]):
    list_display = ["delivery", "status", "source", "created_at"]
    list_filter = ["status", "source"]
    search_fields = ["delivery__order__albaik_identifier"]
    raw_id_fields = ["delivery"]


@admin.register(OrderItem)
class OrderItemAdmin(admin.ModelAdmin[OrderItem]):
    list_display = ["order", "name", "quantity", "total"]
    search_fields = ["order__albaik_identifier", "name"]
    raw_id_fields = ["order", "menu_item"]
