from __future__ import annotations

from celery import shared_task

from recommendations.services import harm_markers_compute, play_hours_rollup
from recommendations.weights import weights_recalculate


@shared_task(name="recommendations.tasks.compute_harm_markers")
def compute_harm_markers() -> dict[str, object]:
    return harm_markers_compute().as_dict()


@shared_task(name="recommendations.tasks.rollup_play_hours")
def rollup_play_hours() -> dict[str, object]:
    return play_hours_rollup().as_dict()


@shared_task(name="recommendations.tasks.recalculate_weights")
def recalculate_weights() -> dict[str, object]:
    return weights_recalculate().as_dict()
