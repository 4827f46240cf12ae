"""The Celery app: eager in development and tests, a Redis broker in production."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("delivery")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
