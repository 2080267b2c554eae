"""The Celery app. Without CELERY_BROKER_URL tasks run in-process (always eager)."""

import os
import time
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


# --- Task outcomes and the nightly jobs' figures (core.metrics; docs/decisions/0020-monitoring.md). The handlers
# run in the worker (and in-process when tasks run eagerly); with PROMETHEUS_MULTIPROC_DIR shared with the web
# processes, their figures show on the web's /metrics.
_started: dict[str, float] = {}


def _nightly(task_name: str) -> bool:
    from django.conf import settings

    return task_name in settings.NIGHTLY_TASKS


@signals.task_prerun.connect
def _task_started(task_id: str | None = None, **kwargs: Any) -> None:
    if task_id is not None:
        _started[task_id] = time.monotonic()


def _task_finished(task: Any, task_id: str | None, *, ok: bool) -> None:
    from core.metrics import CELERY_TASKS, nightly_job_record

    name = getattr(task, "name", None) or "unknown"
    CELERY_TASKS.labels(name, "success" if ok else "failure").inc()
    started = _started.get(task_id) if task_id is not None else None
    if _nightly(name):
        nightly_job_record(task=name, seconds=time.monotonic() - started if started is not None else 0.0, ok=ok)


@signals.task_success.connect
def _task_success(sender: Any = None, **kwargs: Any) -> None:
    request = getattr(sender, "request", None)
    _task_finished(sender, getattr(request, "id", None), ok=True)


@signals.task_failure.connect
def _task_failure(sender: Any = None, task_id: str | None = None, **kwargs: Any) -> None:
    _task_finished(sender, task_id, ok=False)


@signals.task_retry.connect
def _task_retry(sender: Any = None, **kwargs: Any) -> None:
    from core.metrics import CELERY_TASKS

    CELERY_TASKS.labels(getattr(sender, "name", None) or "unknown", "retry").inc()


@signals.task_postrun.connect
def _task_ended(task_id: str | None = None, **kwargs: Any) -> None:
    """After the outcome's handler, whatever the outcome (a retry, a revoked task too)."""
    if task_id is not None:
        _started.pop(task_id, None)
