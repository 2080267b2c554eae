"""Reasons: the features that pushed a score up, from the model's contributions, in words in ko and en."""

from __future__ import annotations

import numpy as np
import pytest

from predictions.models import PlayerPrediction, PredictionModel
from predictions.reasons import reason_text, reasons_top
from predictions.services import players_score
from tests import factories
from tests.predictions import population
from tests.predictions.helpers import at, sessions

pytestmark = pytest.mark.django_db


def test_reasons_are_the_three_largest_positive_contributions_largest_first() -> None:
    names = ("a", "b", "c", "d", "e")
    contributions = np.array([[0.1, -2.0, 0.5, 0.3, 0.05, 9.0], [-1.0, -1.0, 0.2, -1.0, -1.0, 0.0]])
    values = np.array([[1, 2, 3, np.nan, 5], [1, 2, 3, 4, 5]], dtype=np.float32)

    reasons = reasons_top(contributions, values, names)

    assert reasons[0] == [["c", 3.0, 0.5], ["d", None, 0.3], ["a", 1.0, 0.1]]  # the bias (last column) is no reason
    assert reasons[1] == [["c", 3.0, 0.2]]  # only positive contributions


def test_a_player_back_from_a_long_gap_gets_recency_as_a_churn_reason_in_ko_and_en(trained: PredictionModel) -> None:
    gone = factories.make_player().id
    sessions(gone, [at(d) for d in range(45, 70)])  # daily, then nothing for 45 days

    players_score(as_of=population.END)

    row = PlayerPrediction.objects.get(user_id=gone, as_of=population.END)
    assert row.churn_probability > 0.5
    features = [feature for feature, _, _ in row.churn_reasons]
    recency = next(f for f in features if f in ("days_since_app", "days_since_any"))
    value = next(v for f, v, _ in row.churn_reasons if f == recency)
    assert value == pytest.approx(44.5)
    assert reason_text(recency, value, "en").startswith("44 days since the last")
    assert reason_text(recency, value, "ko").startswith("마지막") and "44일" in reason_text(recency, value, "ko")


def test_every_feature_has_its_words_and_a_missing_value_reads_as_a_dash(db: None) -> None:
    from predictions.features import FEATURES

    for feature in FEATURES:
        assert reason_text(feature, 3.0, "en") != reason_text(feature, 3.0, "ko")
    assert reason_text("rfm_group", 3.0, "en") == "RFM group: Whale"
    assert reason_text("days_since_app", None, "en") == "- days since the last game"


def test_lightgbm_path_contributions_give_its_raw_score_and_sum_to_it(trained: PredictionModel) -> None:
    from predictions.features import features_compute
    from predictions.services import LoadedModel

    loaded = LoadedModel(trained)
    values = features_compute(as_of=population.END).values

    raw, contributions = loaded.churn_paths(np.asarray(loaded.churn.predict(values, pred_leaf=True)))

    np.testing.assert_allclose(raw, loaded.churn.predict(values, raw_score=True), atol=1e-9)
    np.testing.assert_allclose(contributions.sum(axis=1) + loaded.churn_paths.bias, raw, atol=1e-4)  # float32


def test_xgboost_path_contributions_are_its_own_approximate_contributions_and_give_its_margin(
    trained: PredictionModel,
) -> None:
    import xgboost as xgb

    from predictions.features import features_compute
    from predictions.services import LoadedModel

    loaded = LoadedModel(trained)
    values = features_compute(as_of=population.END).values
    matrix = xgb.DMatrix(values, missing=np.nan, feature_names=list(loaded.names))

    margin, contributions = loaded.ltv_paths(np.asarray(loaded.ltv.predict(matrix, pred_leaf=True)))

    theirs = loaded.ltv.predict(matrix, pred_contribs=True, approx_contribs=True)
    np.testing.assert_allclose(margin, loaded.ltv.predict(matrix, output_margin=True), atol=1e-5)
    np.testing.assert_allclose(contributions, theirs[:, :-1], atol=1e-4)
    np.testing.assert_allclose(loaded.ltv_paths.bias, theirs[:, -1], atol=1e-4)
