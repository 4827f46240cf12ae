"""Feature flags (contract §6), evaluated for a driver, inside or outside an HTTP request.

Flags are django-waffle flags and switches, managed in the admin or with
`manage.py waffle_flag` / `waffle_switch`. A flag is on for a driver when it is on for
everyone, for their user or one of their groups, or when the driver falls in its
percentage. Drivers carry tokens, not cookies, so waffle's cookie-based percentage
would flip a driver between paths on every request; here a driver's bucket is fixed
by the flag name and user id.
"""

import zlib
from enum import StrEnum

from django.contrib.auth.models import AbstractBaseUser
from waffle import get_waffle_flag_model, switch_is_active


class FlagName(StrEnum):
    DRIVER_CURRENT_TRIP_SNAPSHOT = "driver_current_trip_snapshot"
    KAFKA_DASHBOARD_BROADCAST = "kafka_dashboard_broadcast"
    KAFKA_CUSTOMER_NOTIFICATION = "kafka_customer_notification"
    KAFKA_WASEAT_CLOSE = "kafka_waseat_close"
    KAFKA_DRIVER_STATUS = "kafka_driver_status"


class SwitchName(StrEnum):
    KAFKA_TRIP_ASSIGNMENT = "kafka_trip_assignment"


def percent_bucket(flag_name: str, user_id: int) -> int:
    """The user's fixed place (0..9999) in a flag's percentage rollout."""
    return zlib.crc32(f"{flag_name}:{user_id}".encode()) % 10000


def flag_active_for(flag: FlagName, user: AbstractBaseUser) -> bool:
    """Is `flag` on for this user? Reads waffle's cached flag (no query once warm)."""
    waffle_flag = get_waffle_flag_model().get(flag.value)
    if not waffle_flag.pk:
        return False
    if waffle_flag.everyone is not None:
        return bool(waffle_flag.everyone)
    if waffle_flag.is_active_for_user(user):
        return True
    if waffle_flag.percent and user.pk is not None:
        return percent_bucket(flag.value, user.pk) < int(waffle_flag.percent * 100)
    return False


def switch_active(switch: SwitchName) -> bool:
    return bool(switch_is_active(switch.value))
