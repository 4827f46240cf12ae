"""Trip assignment (filled in by the driver API work)."""

from delivery.models import Delivery


def trip_assign_order(*, order_id: int) -> Delivery | None:
    return None


def trip_assign_waiting_orders() -> int:
    return 0
