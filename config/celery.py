"""The Celery app. Without CELERY_BROKER_URL tasks run in-process (always eager)."""

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")  # as config/wsgi.py

app = Celery("tokenloop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def _refuse_to_start(**kwargs: Any) -> None:
    """A worker refuses misconfigured settings as a web process does (core.checks)."""
    from core.checks import refuse_to_start

    refuse_to_start()
