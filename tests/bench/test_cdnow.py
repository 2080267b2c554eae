"""bench/cdnow.py's measure, the one function both models are scored by, and its holdout."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from pathlib import Path

import pytest

from bench.cdnow import actual_holdout, comparison, holdout_metrics, naive, read_actions, top_share_capture

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")


def test_top_decile_capture_is_the_actual_spend_of_the_ten_percent_predicted_highest():
    # given 20 customers whose predicted order is their actual order, customer 19 spending 50 and 18 spending 30
    actual = [1.0] * 18 + [30.0, 50.0]
    predicted = [float(i) for i in range(20)]
    # when the top decile (2 customers) is taken by prediction
    share = top_share_capture(predicted, actual)
    # then it holds their 80 of the total 98
    assert share == pytest.approx(80 / 98)


def test_customers_tied_at_the_decile_cut_count_in_proportion():
    # given 10 customers (top decile: one) where three are tied for the highest prediction, spending 9, 0 and 0
    predicted = [5.0, 5.0, 5.0] + [1.0] * 7
    actual = [9.0, 0.0, 0.0] + [1.0] * 7
    # when the top decile is taken
    share = top_share_capture(predicted, actual)
    # then each tied customer fills a third of the one place, whatever their order in the input
    assert share == pytest.approx((9.0 / 3) / 16)
    assert top_share_capture(predicted[::-1], actual[::-1]) == pytest.approx(share)


def test_a_perfect_model_scores_zero_error_full_rank_and_full_auc():
    # given four customers, two of whom bought in the holdout, predicted exactly
    actual = {1: 0.0, 2: 10.0, 3: 0.0, 4: 40.0}
    no_purchase = {1: 0.9, 2: 0.2, 3: 0.8, 4: 0.1}
    # when measured
    m = holdout_metrics(predicted_spend=actual, no_purchase_score=no_purchase, actual_spend=actual, bought={2, 4})
    # then the error is nil, the rank correlation and AUC are 1, and everyone was scored
    assert (m["spend_mae"], m["spend_spearman"], m["no_purchase_auc"]) == (0.0, 1.0, 1.0)
    assert m["customers_not_scored"] == 0 and m["actual_total"] == 50.0


def test_a_score_that_ranks_buyers_as_likely_churners_has_auc_zero_and_a_missing_customer_is_counted():
    # given a no-purchase score that is high for exactly the buyers, and buyer 4 not scored at all
    actual = {1: 0.0, 2: 10.0, 3: 0.0, 4: 40.0, 5: 20.0}
    score = {1: 0.1, 2: 0.9, 3: 0.2, 5: 0.8}
    # when measured
    m = holdout_metrics(
        predicted_spend={1: 0.0, 2: 5.0, 3: 0.0, 5: 20.0},
        no_purchase_score=score,
        actual_spend=actual,
        bought={2, 4, 5},
    )
    # then the AUC is 0 (buyer 4 takes the median score, 0.5, still above both non-buyers), the missing one is
    # counted, and its spend predicted as 0
    assert m["no_purchase_auc"] == 0.0
    assert m["customers_not_scored"] == 1
    assert m["spend_mae"] == pytest.approx((5.0 + 40.0) / 5)


def test_comparison_is_positive_where_ours_is_better():
    # given our figures better on MAE and AUC, worse on Spearman and capture
    ours = {"spend_mae": 15.0, "spend_spearman": 0.40, "top_decile_capture": 0.50, "no_purchase_auc": 0.80}
    theirs = {"spend_mae": 20.0, "spend_spearman": 0.45, "top_decile_capture": 0.55, "no_purchase_auc": 0.78}
    # when compared
    c = comparison(ours, theirs)
    # then the signs say which is better, the MAE also as a percentage of theirs
    assert c["spend_mae_lower_by"] == 5.0 and c["spend_mae_lower_by_pct"] == 25.0
    assert c["spend_spearman_higher_by"] == -0.05
    assert c["top_decile_capture_higher_by_points"] == -5.0
    assert c["no_purchase_auc_higher_by"] == 0.02


def test_the_holdout_is_182_business_days_from_the_as_of_date(tmp_path: Path):
    # given purchases around the holdout's ends, one written in New York time that is already 1998 in Seoul
    lines = [
        (1, "1997-12-31T12:00:00+09:00", 5.0),  # calibration
        (1, "1997-12-31T20:00:00-05:00", 7.0),  # 1998-01-01 10:00 in Seoul: holdout
        (2, "1998-07-01T12:00:00+09:00", 3.0),  # day 182: holdout
        (2, "1998-07-02T12:00:00+09:00", 11.0),  # day 183: after it
        (3, "1997-03-01T12:00:00+09:00", 2.0),  # calibration only
    ]
    path = tmp_path / "a.jsonl"
    path.write_text(
        "".join(
            json.dumps({"user_id": u, "action_timestamp": at, "metadata": {"amount_paid": d}}) + "\n"
            for u, at, d in lines
        )
    )
    actions = read_actions(path, SEOUL)
    # when the holdout and the naive predictions are read from them
    spend, bought = actual_holdout(actions)
    repeated, days_since = naive(actions)
    # then only the lines in [1998-01-01, 1998-07-02) count, every customer is there, and the naive row sees the
    # calibration period only (the last 182 days' spend; days since the last purchase before the as-of date)
    assert spend == {1: 7.0, 2: 3.0, 3: 0.0} and bought == {1, 2}
    assert actions[1][1] == dt.date(1998, 1, 1)
    assert repeated == {1: 5.0, 3: 0.0} and days_since == {1: 1.0, 3: 306.0}
