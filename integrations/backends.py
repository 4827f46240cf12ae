"""Integration backends chosen by a dotted-path setting, like Django's `EMAIL_BACKEND`."""

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string


def load_backend(setting: str, *, default: str) -> Any:
    """An instance of the class the `setting` names (a dotted path), or of `default` when it is unset."""
    return import_string(getattr(settings, setting, None) or default)()
