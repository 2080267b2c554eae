"""Thin Celery tasks for the predictions: they call services (docs/predictions.md)."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task

from predictions import outreach, services
from predictions.figures import model_latest
from segments.services import business_today

log = logging.getLogger(__name__)


def _trained(result: services.TrainingResult) -> dict[str, object]:
    return {"model_version": result.model.version, "seconds": result.seconds}


def _day(as_of: str | None) -> dt.date:
    return dt.date.fromisoformat(as_of) if as_of else business_today()


@shared_task(name="predictions.tasks.train_weekly")
def train_weekly(as_of: str | None = None) -> dict[str, object]:
    """Weekly: both models trained again on the history before today (business calendar; or ``as_of``, YYYY-MM-DD)."""
    return _trained(services.models_train(as_of=_day(as_of)))


@shared_task(name="predictions.tasks.score_nightly")
def score_nightly(as_of: str | None = None) -> dict[str, object]:
    """Nightly, after the RFM run and the harm markers: every player scored as of today (a model is trained first when
    there is none yet), then the special invitations and the VIP awards, which read those scores and the night's
    segments and markers. ``as_of`` (YYYY-MM-DD) stands for today in a re-run."""
    today = _day(as_of)
    out: dict[str, object] = {"as_of": today.isoformat()}
    if model_latest() is None:
        try:
            out["trained"] = _trained(services.models_train(as_of=today))
        except services.HistoryTooShort as exc:
            log.warning("predictions: no model and none can be trained yet: %s", exc)
            out["skipped"] = str(exc)
            return out
    scored = services.players_score(as_of=today)
    out["scored"] = {"model_version": scored.model_version, "players": scored.players, "seconds": scored.seconds}
    out["invitations"] = outreach.invitations_send(as_of=today).as_dict()
    out["vip_awards"] = outreach.vip_awards_grant(as_of=today).as_dict()
    return out
