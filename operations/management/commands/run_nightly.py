from __future__ import annotations

import importlib
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from core.metrics import nightly_job_record


class Command(BaseCommand):
    help = "Run every nightly job of config/schedule.py once, in order, in this process."

    # task.run() calls the function itself, without Celery's signals: the nightly figures (duration, last success,
    # failed) are recorded here, as config/celery.py's handlers record them for the beat's runs.

    def handle(self, *args: Any, **options: Any) -> None:
        # The schedule reaches this app through the settings (config sits above every app).
        for name in settings.NIGHTLY_TASKS:
            module_name, func_name = name.rsplit(".", 1)
            task = getattr(importlib.import_module(module_name), func_name)
            started = time.monotonic()
            self.stdout.write(f"{name} ...", ending="")
            self.stdout.flush()
            try:
                result = task.run()
            except Exception:
                nightly_job_record(task=name, seconds=time.monotonic() - started, ok=False)
                raise
            nightly_job_record(task=name, seconds=time.monotonic() - started, ok=True)
            self.stdout.write(f" done in {time.monotonic() - started:.1f}s ({result})")
