"""`preparation_set_status` is a use case now (`delivery.use_cases.preparations`); this path stays for the
benchmark until it imports the new one."""

from delivery.use_cases.preparations import preparation_set_status

__all__ = ["preparation_set_status"]
