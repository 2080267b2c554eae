"""The predictions' nightly and weekly tasks: the nightly one scores everyone as of today (training first when there
is no model), then sends the invitations and grants the VIP awards; with too little history it says so and scores
nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from predictions import tasks
from predictions.models import PlayerPrediction, PredictionModel
from tests.predictions import population

pytestmark = pytest.mark.django_db

NIGHT = population.END.isoformat()  # the night's business day


@pytest.fixture
def horizons(settings):
    settings.PREDICTIONS_CHURN_HORIZON_DAYS = 7
    settings.PREDICTIONS_LTV_HORIZON_DAYS = 14


def test_the_first_night_trains_a_model_then_scores_everyone_and_runs_the_outreach(horizons):
    population.build(players=200)

    out = tasks.score_nightly(NIGHT)

    model = PredictionModel.objects.get()
    assert out["trained"]["model_version"] == model.version and model.as_of == population.END
    assert out["scored"]["players"] == PlayerPrediction.objects.filter(as_of=population.END, model=model).count() > 0
    assert {"candidates", "sent"} <= set(out["invitations"]) and "awarded" in out["vip_awards"]


def test_a_night_with_a_model_scores_with_it_and_trains_nothing(horizons):
    population.build(players=200)
    tasks.train_weekly(NIGHT)
    first = PredictionModel.objects.get()

    out = tasks.score_nightly(NIGHT)

    assert "trained" not in out and PredictionModel.objects.get() == first
    assert out["scored"]["model_version"] == first.version


def test_with_too_little_history_the_night_says_so_and_scores_nothing(horizons):
    population.build(players=30)

    out = tasks.score_nightly((population.START + dt.timedelta(days=10)).isoformat())

    assert "history" in out["skipped"].lower()
    assert not PredictionModel.objects.exists() and not PlayerPrediction.objects.exists()
