"""The predictions' reads."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from predictions.models import PlayerPrediction, PredictionModel
from predictions.reasons import reasons_words


def player_prediction_latest(*, player_id: int) -> PlayerPrediction | None:
    """The player's latest scored row (newest as-of day), with its model."""
    return PlayerPrediction.objects.select_related("model").filter(user_id=player_id).order_by("-as_of", "-id").first()


def player_prediction_data(*, player_id: int) -> dict[str, Any] | None:
    """The latest row as the API gives it (reasons in words, ko and en), or None when the player was never scored."""
    row = player_prediction_latest(player_id=player_id)
    if row is None:
        return None
    return {
        "user_id": row.user_id,
        "as_of": row.as_of,
        "model_version": row.model.version,
        "churn_probability": row.churn_probability,
        "churn_horizon_days": row.model.churn_horizon_days,
        "ltv": row.ltv,
        "ltv_horizon_days": row.model.ltv_horizon_days,
        "churn_reasons": reasons_words(row.churn_reasons),
        "ltv_reasons": reasons_words(row.ltv_reasons),
    }


def predictions_for_day(*, as_of: dt.date) -> Iterator[tuple[int, float, float]]:
    """(user_id, churn_probability, ltv) of a day's rows in user id order, streamed."""
    rows = PlayerPrediction.objects.filter(as_of=as_of).order_by("user_id")
    return rows.values_list("user_id", "churn_probability", "ltv").iterator(chunk_size=20_000)


def model_latest() -> PredictionModel | None:
    return PredictionModel.objects.order_by("-trained_at", "-id").first()
