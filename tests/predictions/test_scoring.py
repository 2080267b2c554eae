"""Scoring: everyone with history, the day's rows replaced, old rows pruned; the CSV export."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from activity.models import UserAction
from predictions.models import PlayerPrediction, PredictionModel
from predictions.services import NoModel, players_score, predictions_export
from tests.predictions import population

pytestmark = pytest.mark.django_db


def _seen() -> int:
    """Players with any action (the population may hold one without)."""
    return UserAction.objects.values("user_id").distinct().count()


def test_scoring_stores_each_player_once_with_both_scores_and_up_to_three_reasons(trained: PredictionModel) -> None:
    result = players_score(as_of=population.END)

    rows = list(PlayerPrediction.objects.filter(as_of=population.END))
    assert result.players == len(rows) == _seen() and result.model_version == trained.version
    assert all(0 < r.churn_probability < 1 and r.ltv >= 0 and r.model_id == trained.id for r in rows)
    for r in rows:
        for reasons in (r.churn_reasons, r.ltv_reasons):
            assert len(reasons) <= 3
            contributions = [c for _, _, c in reasons]
            assert all(c > 0 for c in contributions) and contributions == sorted(contributions, reverse=True)
    assert any(r.churn_reasons for r in rows) and any(r.ltv_reasons for r in rows)


def test_an_expected_spend_below_half_the_cheapest_purchase_is_stored_as_zero(trained: PredictionModel) -> None:
    players_score(as_of=population.END)

    zero_below = trained.validation["ltv"]["zero_below"]
    ltvs = list(PlayerPrediction.objects.filter(as_of=population.END).values_list("ltv", flat=True))
    assert zero_below == 550.0  # half of 1,100, the population's cheapest purchase
    assert all(v == 0 or v >= zero_below for v in ltvs)
    assert any(v == 0 for v in ltvs) and any(v >= zero_below for v in ltvs)


def test_scoring_a_day_again_replaces_its_rows_and_drops_rows_past_the_keep_days(trained: PredictionModel) -> None:
    old_day = population.END - dt.timedelta(days=36)
    kept_day = population.END - dt.timedelta(days=35)
    players_score(as_of=old_day)
    players_score(as_of=kept_day)
    players_score(as_of=population.END)
    first_ids = set(PlayerPrediction.objects.filter(as_of=population.END).values_list("id", flat=True))

    result = players_score(as_of=population.END)

    assert PlayerPrediction.objects.filter(as_of=population.END).count() == _seen()
    assert first_ids.isdisjoint(PlayerPrediction.objects.filter(as_of=population.END).values_list("id", flat=True))
    assert not PlayerPrediction.objects.filter(as_of=old_day).exists()  # removed by the first scoring of END
    assert PlayerPrediction.objects.filter(as_of=kept_day).exists()
    assert result.removed_old == 0


def test_scoring_uses_the_newest_model(trained: PredictionModel) -> None:
    newer = PredictionModel.objects.create(
        version="newer",
        as_of=trained.as_of,
        churn_horizon_days=7,
        ltv_horizon_days=14,
        feature_names=trained.feature_names,
        churn_model=trained.churn_model,
        churn_calibration=trained.churn_calibration,
        ltv_model=trained.ltv_model,
        validation={},
        trained_at=trained.trained_at + dt.timedelta(hours=1),
    )

    assert players_score(as_of=population.END).model_version == "newer"
    assert set(PlayerPrediction.objects.values_list("model_id", flat=True)) == {newer.id}


def test_scoring_without_a_model_says_to_train_first(db: None) -> None:
    with pytest.raises(NoModel, match="train_models"):
        players_score(as_of=population.END)


def test_export_writes_the_days_scores_as_csv(trained: PredictionModel, tmp_path: Path) -> None:
    players_score(as_of=population.END)
    out = tmp_path / "scores.csv"

    written = predictions_export(as_of=population.END, out=out)

    with out.open() as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["user_id", "churn_probability", "ltv"] and written == len(rows) - 1 == _seen()
    stored = {p.user_id: p for p in PlayerPrediction.objects.filter(as_of=population.END)}
    assert [int(r[0]) for r in rows[1:]] == sorted(stored)
    first = stored[int(rows[1][0])]
    assert float(rows[1][1]) == pytest.approx(first.churn_probability, abs=1e-6)
    assert float(rows[1][2]) == pytest.approx(first.ltv, abs=0.01)
