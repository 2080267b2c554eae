from __future__ import annotations

import importlib
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run every nightly job of config/schedule.py once, in order, in this process."

    def handle(self, *args: Any, **options: Any) -> None:
        # The schedule reaches this app through the settings (config sits above every app).
        for name in settings.NIGHTLY_TASKS:
            module_name, func_name = name.rsplit(".", 1)
            task = getattr(importlib.import_module(module_name), func_name)
            started = time.monotonic()
            self.stdout.write(f"{name} ...", ending="")
            self.stdout.flush()
            result = task.run()
            self.stdout.write(f" done in {time.monotonic() - started:.1f}s ({result})")
