"""The predictions' population figures for staff (predictions.figures): computed in the database, equal to the same
figures counted in Python over the stored rows."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test.utils import override_settings

from predictions import figures
from predictions.models import PlayerPrediction
from tests import factories

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2026, 11, 20)


def _scores(rows: list[tuple[float, float, list[list[object]], list[list[object]]]]) -> list[int]:
    """Players scored as of AS_OF: (churn, ltv, churn reasons, ltv reasons) each; their ids."""
    model = factories.prediction_model_make()
    ids = []
    for k, (churn, ltv, churn_reasons, ltv_reasons) in enumerate(rows):
        player = factories.make_player(id=7_000_000 + k)
        factories.player_prediction_make(
            user_id=player.id,
            as_of=AS_OF,
            model=model,
            churn_probability=churn,
            ltv=ltv,
            churn_reasons=churn_reasons,
            ltv_reasons=ltv_reasons,
        )
        ids.append(player.id)
    return ids


def test_the_latest_scoring_day_up_to_a_date_is_found_and_none_before_any():
    assert figures.scored_as_of(on_or_before=AS_OF) is None
    _scores([(0.5, 1.0, [], [])])
    assert figures.scored_as_of(on_or_before=AS_OF + dt.timedelta(days=3)) == AS_OF
    assert figures.scored_as_of(on_or_before=AS_OF - dt.timedelta(days=1)) is None


def test_the_churn_distribution_counts_each_player_in_its_bin_every_bin_present():
    _scores([(0.0, 0.0, [], []), (0.05, 2.0, [], []), (0.15, 4.0, [], []), (0.99, 1.0, [], []), (1.0, 3.0, [], [])])

    bins = figures.churn_distribution(as_of=AS_OF)

    assert [b["players"] for b in bins] == [2, 1, 0, 0, 0, 0, 0, 0, 0, 2]
    assert bins[0]["mean_ltv"] == pytest.approx(1.0) and bins[2]["mean_ltv"] is None
    assert bins[9]["from"] == pytest.approx(0.9) and bins[9]["to"] == pytest.approx(1.0)


def test_ltv_deciles_put_the_highest_predictions_first_in_ten_groups():
    _scores([(0.1 * (k % 10), float(k), [], []) for k in range(20)])

    deciles = figures.ltv_deciles(as_of=AS_OF)

    assert [d["decile"] for d in deciles] == list(range(1, 11))
    assert all(d["players"] == 2 for d in deciles)
    assert deciles[0]["min_ltv"] == 18.0 and deciles[0]["mean_ltv"] == pytest.approx(18.5)
    assert deciles[-1]["min_ltv"] == 0.0


@override_settings(PREDICTIONS_INVITATION_THRESHOLD=0.6)
def test_top_churn_reasons_count_the_players_at_risk_only_and_which_reason_came_first():
    recency, days = ["days_since_app", 20.0, 0.9], ["app_days_30d", 1.0, 0.3]
    _scores(
        [
            (0.9, 0.0, [recency, days], []),
            (0.7, 0.0, [days, recency], []),
            (0.65, 0.0, [recency], []),
            (0.2, 0.0, [days], []),  # not at risk: not counted
        ]
    )

    reasons = figures.top_reasons(as_of=AS_OF, kind="churn")

    assert reasons == [
        {"feature": "days_since_app", "players": 3, "first_reason": 2},
        {"feature": "app_days_30d", "players": 2, "first_reason": 1},
    ]


def test_top_ltv_reasons_come_from_the_top_decile_by_predicted_ltv():
    paid = ["paid_90d", 5000.0, 1.2]
    rows = [(0.1, 100.0, [], [paid])] + [(0.1, float(k + 1), [], [["balance", 10.0, 0.1]]) for k in range(9)]
    _scores(rows)

    assert figures.top_reasons(as_of=AS_OF, kind="ltv") == [{"feature": "paid_90d", "players": 1, "first_reason": 1}]


def test_a_reason_kind_other_than_churn_or_ltv_is_refused():
    with pytest.raises(ValueError, match="churn or ltv"):
        figures.top_reasons(as_of=AS_OF, kind="balance")


def test_the_calibration_bins_are_the_models_and_the_baselines_from_its_validation_figures():
    model = factories.prediction_model_make(
        validation={
            "churn": {
                "calibration": [{"predicted": 0.1, "observed": 0.12, "count": 40}],
                "baseline_calibration": [{"predicted": 0.3, "observed": 0.2, "count": 40}],
            }
        }
    )
    bare = factories.prediction_model_make()

    assert figures.calibration(model) == {
        "model": [{"predicted": 0.1, "observed": 0.12, "count": 40}],
        "baseline": [{"predicted": 0.3, "observed": 0.2, "count": 40}],
    }
    assert figures.calibration(bare) == {"model": [], "baseline": []}
    assert figures.model_latest().id == bare.id  # the newest
    assert PlayerPrediction.objects.count() == 0
