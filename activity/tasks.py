from __future__ import annotations

from celery import shared_task

from activity import services


@shared_task(name="activity.tasks.hot_metrics_repair")
def hot_metrics_repair() -> int:
    return services.hot_metrics_repair()
