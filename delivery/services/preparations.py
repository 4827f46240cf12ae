"""`preparation_set_status` is a use case now (`restaurant.use_cases`); this path stays for the
benchmark until it imports the new one."""

from restaurant.use_cases import preparation_set_status

__all__ = ["preparation_set_status"]
