from __future__ import annotations

import importlib
import time
from typing import Any

from django.core.management.base import BaseCommand

from config.schedule import nightly_task_names


class Command(BaseCommand):
    help = "Run every nightly job of config/schedule.py once, in order, in this process."

    def handle(self, *args: Any, **options: Any) -> None:
        for name in nightly_task_names():
            module_name, func_name = name.rsplit(".", 1)
            task = getattr(importlib.import_module(module_name), func_name)
            started = time.monotonic()
            self.stdout.write(f"{name} ...", ending="")
            self.stdout.flush()
            result = task.run()
            self.stdout.write(f" done in {time.monotonic() - started:.1f}s ({result})")
