"""Training both models on a small population with a real signal: the model saved, its figures beside the baselines."""

from __future__ import annotations

import datetime as dt
from typing import Any

import lightgbm as lgb
import pytest

from predictions.models import PredictionModel
from predictions.services import CHURN_CANDIDATES, FOLDS, HistoryTooShort, models_train
from tests.predictions import population

pytestmark = pytest.mark.django_db


def test_training_saves_both_models_with_their_figures_beside_the_baselines() -> None:
    population.build()

    result = models_train(as_of=population.END, churn_horizon_days=7, ltv_horizon_days=14)

    saved = PredictionModel.objects.get()
    assert saved == result.model and saved.as_of == population.END
    assert (saved.churn_horizon_days, saved.ltv_horizon_days) == (7, 14)
    assert bytes(saved.churn_model).startswith(b"tree") and len(bytes(saved.ltv_model)) > 100
    assert saved.churn_calibration["method"] == "platt" and saved.churn_calibration["fitted_on"] == "2026-11-06"
    churn, ltv = saved.validation["churn"], saved.validation["ltv"]
    print(churn["model"], churn["baseline_recency"], ltv["model"], ltv["baseline_repeat"])
    assert churn["validation_as_of"] == "2026-11-13" and ltv["validation_as_of"] == "2026-11-06"
    assert "2026-11-06" not in churn["training_as_of"] and "2026-11-13" not in churn["training_as_of"]
    assert churn["model"]["auc"] > 0.75 and churn["baseline_recency"]["auc"] > 0.5
    assert churn["model"]["log_loss"] < churn["baseline_recency"]["log_loss"]
    assert sum(b["count"] for b in churn["calibration"]) == churn["rows"]["validation"]
    assert {"mae", "rmse", "spearman", "top_decile_capture"} <= ltv["model"].keys() == ltv["baseline_repeat"].keys()
    assert ltv["model"]["spearman"] > 0.3
    assert ltv["zero_below"] == 0.5 * 1100  # half the cheapest purchase (population: 1,100 x 1..4)
    assert ltv["model_unfloored"].keys() == ltv["model"].keys()


def test_the_churn_setting_is_the_one_with_the_lowest_loss_on_players_left_out_and_is_saved_with_its_trees() -> None:
    population.build()

    result = models_train(as_of=population.END, churn_horizon_days=7, ltv_horizon_days=14)

    churn, ltv = result.figures["churn"], result.figures["ltv"]
    search = churn["search"]
    losses = [c["held_out_loss"] for c in search["candidates"]]
    assert search["folds"] == FOLDS and len(losses) == len(CHURN_CANDIDATES) and len(set(losses)) > 1
    assert search["chosen"] == losses.index(min(losses))
    chosen = {k: v for k, v in search["candidates"][search["chosen"]].items() if k not in ("held_out_loss", "trees")}
    assert chosen == CHURN_CANDIDATES[search["chosen"]]
    saved = lgb.Booster(model_str=bytes(result.model.churn_model).decode())
    assert saved.num_trees() == churn["trees"] == search["candidates"][search["chosen"]]["trees"]
    assert saved.params["num_leaves"] == chosen["num_leaves"]
    # and beside the time split's figures, the chosen setting's on the validation date's players scored by the fits
    # that never saw them
    assert churn["model_players_left_out"].keys() == churn["model"].keys()
    assert "search" not in ltv


def test_training_on_a_sample_of_each_dates_players(settings: Any) -> None:
    population.build(players=200)
    settings.PREDICTIONS_TRAIN_MAX_PLAYERS_PER_DATE = 120

    result = models_train(as_of=population.END, churn_horizon_days=7, ltv_horizon_days=14)

    assert result.figures["sample_per_date"] == 0.6
    assert result.figures["churn"]["rows"]["validation"] < 200


def test_too_short_a_history_says_how_many_days_there_are_and_how_many_the_horizons_need() -> None:
    population.build(players=20)

    with pytest.raises(HistoryTooShort) as raised:
        models_train(as_of=population.START + dt.timedelta(days=30), churn_horizon_days=7, ltv_horizon_days=90)

    assert "holds 30 days of history" in raised.value.message
    assert "need at least 112" in raised.value.message
