"""Thin Celery tasks for the rollups: they call services."""

from __future__ import annotations

from celery import shared_task

from analytics.services import analytics_refresh


@shared_task(name="analytics.tasks.rollup_refresh")
def rollup_refresh() -> dict[str, object]:
    """Every few minutes: fold in what was logged since the last refresh (today's figures move)."""
    return analytics_refresh().as_dict()


@shared_task(name="analytics.tasks.rollup_nightly")
def rollup_nightly() -> dict[str, object]:
    """Nightly, after the RFM run: the same refresh, with the new run's coverage and the last week's proposals."""
    return analytics_refresh(nightly=True).as_dict()
