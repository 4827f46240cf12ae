"""The types of the events on the backbone: one name per fact, used everywhere instead of string literals."""

from enum import StrEnum


class EventType(StrEnum):
    TRIP_ASSIGNED = "trip.assigned"
    DELIVERY_DRIVER_ARRIVED = "delivery.driver_arrived"
    DELIVERY_READY_TO_COLLECT = "delivery.ready_to_collect"
    DELIVERY_OUT_FOR_DELIVERY = "delivery.out_for_delivery"
    DELIVERY_DELIVERED = "delivery.delivered"
    DELIVERY_FAILED = "delivery.failed"
    DRIVER_STATUS_CHANGED = "driver.status_changed"
    COURIER_ASSIGNED = "courier.assigned"
    COURIER_STATUS_CHANGED = "courier.status_changed"
    KITCHEN_STATUS_CHANGED = "kitchen.status_changed"
    AGGREGATOR_ORDER_RECEIVED = "aggregator.order_received"
    WASEAT_CLOSE_REQUESTED = "waseat.close_requested"


# The events of one own-fleet trip: each carries the whole trip (the delivery snapshot).
TRIP_EVENT_TYPES = frozenset(
    {
        EventType.TRIP_ASSIGNED,
        EventType.DELIVERY_DRIVER_ARRIVED,
        EventType.DELIVERY_READY_TO_COLLECT,
        EventType.DELIVERY_OUT_FOR_DELIVERY,
        EventType.DELIVERY_DELIVERED,
        EventType.DELIVERY_FAILED,
    }
)
