from __future__ import annotations

from celery import shared_task

from recommendations.services import harm_markers_compute


@shared_task(name="recommendations.tasks.compute_harm_markers")
def compute_harm_markers() -> dict[str, object]:
    return harm_markers_compute().as_dict()
