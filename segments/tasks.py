"""Thin Celery tasks for the RFM batch: they take dates and ids and call services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from django.db import DatabaseError

from segments import services


@shared_task(name="segments.tasks.rfm_nightly")
def rfm_nightly(as_of: str | None = None) -> dict[str, Any]:
    """The nightly batch (beat, 03:00 business time): stage, then one ``rfm_apply_range`` task per user-id
    range on the workers (or in turn here without a broker)."""
    run = services.segment_batch_run(as_of=dt.date.fromisoformat(as_of) if as_of else None, trigger="beat")
    return {
        "run": run.id,
        "as_of": run.as_of.isoformat(),
        "status": run.status,
        "players": run.players,
        "ranges": run.ranges_total,
        "changes": run.changes,
        "rewards_paid": run.rewards_paid,
    }


@shared_task(name="segments.tasks.rfm_apply_range", autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def rfm_apply_range(range_id: int) -> dict[str, int]:
    """One user-id range: apply, pay its rises, end the run if it was the last (each step safe to repeat)."""
    rng = services.segment_range_process(range_id=range_id)
    return {"range": rng.id, "players": rng.players, "changes": rng.changes, "rewards_paid": rng.rewards_paid}
