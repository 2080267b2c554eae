"""Every periodic job, declared in one place (loaded into CELERY_BEAT_SCHEDULE).

`tests/test_schedule.py` loads it, so a broken entry fails CI. Times are in the
business timezone (BUSINESS_TIMEZONE); `python manage.py run_nightly` runs the
entries tagged nightly once, in order, for the embedded default and `make run`.
"""

from __future__ import annotations

from typing import Any

from celery.schedules import crontab

BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "notifications-dispatch-due": {
        "task": "notifications.tasks.dispatch_due",
        "schedule": crontab(minute="*"),
        "options": {"expires": 55},
    },
    # First of the night (entries run in this order under run_nightly): the recommender's jobs read its segments.
    "segments-rfm-nightly": {
        "task": "segments.tasks.rfm_nightly",
        "schedule": crontab(hour=3, minute=0),
        "options": {"expires": 3600},
        "nightly": True,
    },
    # After the RFM run (its segment changes, the coverage of its rules): the day's rollups (docs/metrics.md).
    "analytics-rollup-nightly": {
        "task": "analytics.tasks.rollup_nightly",
        "schedule": crontab(hour=3, minute=15),
        "options": {"expires": 3600},
        "nightly": True,
    },
    # After the RFM run and the day's rollups: attribution, the loop's daily figures and the bandit's posteriors
    # (recommendations.weights; docs/metrics.md "Conversions").
    "recommendations-weights-nightly": {
        "task": "recommendations.tasks.recalculate_weights",
        "schedule": crontab(hour=3, minute=20),
        "options": {"expires": 3600},
        "nightly": True,
    },
    "analytics-rollup-refresh": {
        "task": "analytics.tasks.rollup_refresh",
        "schedule": crontab(minute="*/5"),
        "options": {"expires": 290},
    },
    "recommendations-harm-markers": {
        "task": "recommendations.tasks.compute_harm_markers",
        "schedule": crontab(hour=3, minute=30),
        "options": {"expires": 3600},
        "nightly": True,
    },
    "recommendations-play-hours": {
        "task": "recommendations.tasks.rollup_play_hours",
        "schedule": crontab(hour=3, minute=45),
        "options": {"expires": 3600},
        "nightly": True,
    },
    # After the RFM run, the harm markers and the play hours: every player scored, then what the service does with the
    # scores (special invitations, VIP awards: they read the night's segments and markers). docs/predictions.md.
    "predictions-score-nightly": {
        "task": "predictions.tasks.score_nightly",
        "schedule": crontab(hour=3, minute=50),
        "options": {"expires": 3600},
        "nightly": True,
    },
    # Both models trained again every Monday before the night's jobs, on the history before that day.
    "predictions-train-weekly": {
        "task": "predictions.tasks.train_weekly",
        "schedule": crontab(hour=2, minute=0, day_of_week=1),
        "options": {"expires": 6 * 3600},
    },
    "wallet-reconcile": {
        "task": "wallet.tasks.reconcile_balances",
        "schedule": crontab(hour=4, minute=0),
        "options": {"expires": 3600},
        "nightly": True,
    },
    "hot-metrics-repair": {
        "task": "activity.tasks.hot_metrics_repair",
        "schedule": crontab(hour=4, minute=30),
        "options": {"expires": 3600},
        "nightly": True,
    },
}


def celery_beat_schedule() -> dict[str, dict[str, Any]]:
    """The schedule without our own tags, as Celery wants it."""
    return {name: {k: v for k, v in entry.items() if k != "nightly"} for name, entry in BEAT_SCHEDULE.items()}


def nightly_task_names() -> list[str]:
    return [entry["task"] for entry in BEAT_SCHEDULE.values() if entry.get("nightly")]
