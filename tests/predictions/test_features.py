"""The features as of a day: their values on a small history, and no feature looking at or past the as-of instant."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from predictions.features import FEATURES, features_compute, labels_compute
from tests import factories
from tests.predictions.helpers import (
    AS_OF,
    T,
    at,
    corporate_earn,
    ledger,
    purchase,
    quiz_submission,
    segment_change,
    sessions,
    unlock,
    visits,
)

pytestmark = pytest.mark.django_db


def _history() -> dict[str, int]:
    regular = factories.make_player().id
    sessions(regular, [at(d) for d in (1, 2, 3, 10, 20, 40)] + [at(1, hour=2)])
    visits(regular, [at(2), at(15)])
    corporate_earn(regular, at(2), 300)
    purchase(regular, at(5), 5500.0)
    purchase(regular, at(60), 1100.0)
    ledger(regular, at(40), 500)
    ledger(regular, at(3), -120, kind="SPEND")
    segment_change(regular, at(50), "Low")
    segment_change(regular, at(10), "Medium", "Low")
    quiz_submission(regular, at(30), "Low-Risk")
    quiz_submission(regular, at(4), "High-Risk")
    unlock(regular, at(6), 1)
    lapsed = factories.make_player().id
    sessions(lapsed, [at(45), at(44)])
    factories.make_player()  # never seen: not scored
    return {"regular": regular, "lapsed": lapsed}


def test_features_hold_each_players_history_before_the_as_of_instant() -> None:
    ids = _history()
    frame = features_compute(as_of=AS_OF)

    assert list(frame.user_ids) == sorted(ids.values())
    assert frame.names == tuple(FEATURES) and frame.values.dtype == np.float32
    row = dict(zip(frame.names, frame.values[list(frame.user_ids).index(ids["regular"])].tolist(), strict=True))
    assert row["corporate_visits_7d"] == 1 and row["corporate_visits_30d"] == 2
    assert row["corporate_tokens_7d"] == 300
    assert row["app_days_7d"] == 5  # sessions on days 1, 2, 3 (two on day 1), the purchase (5), the unlock (6)
    assert row["app_actions_7d"] == 4 + 2  # four sessions, the purchase and the unlock (app activity)
    assert row["app_actions_30d"] == 6 + 2
    assert row["days_since_app"] == pytest.approx(0.5)  # day 1 at 12:00 KST
    assert row["tenure_days"] == pytest.approx(59.5)  # the purchase of day 60
    assert row["purchases_7d"] == 1 and row["paid_7d"] == 5500 and row["paid_90d"] == 6600
    assert row["balance"] == 500 - 120 - 10 and row["spent_7d"] == 120 + 10
    assert row["rfm_group"] == 1 and row["rfm_changes_90d"] == 2
    assert row["risk_profile"] == 2
    assert row["unlocks"] == 1
    assert row["night_share_30d"] == pytest.approx(1 / 8)  # the 02:00 session
    lapsed = dict(zip(frame.names, frame.values[list(frame.user_ids).index(ids["lapsed"])].tolist(), strict=True))
    assert lapsed["app_actions_30d"] == 0 and np.isnan(lapsed["app_trend"]) and np.isnan(lapsed["rfm_group"])
    assert lapsed["days_since_app"] == pytest.approx(43.5)


def test_lifetime_purchase_features_cover_the_whole_history_before_the_instant() -> None:
    loyal, never = factories.make_player().id, factories.make_player().id
    purchase(loyal, at(300), 2000.0)  # long before any window
    purchase(loyal, at(120), 1000.0)
    purchase(loyal, at(10), 3000.0)
    purchase(loyal, T, 9000.0)  # at the instant: not known yet
    sessions(never, [at(200), at(3)])

    frame = features_compute(as_of=AS_OF)

    rows = {
        u: dict(zip(frame.names, v.tolist(), strict=True)) for u, v in zip(frame.user_ids, frame.values, strict=True)
    }
    assert rows[loyal]["purchases_90d"] == 1 and rows[loyal]["paid_90d"] == 3000
    assert rows[loyal]["purchases_ever"] == 3 and rows[loyal]["paid_ever"] == 6000
    assert rows[loyal]["paid_mean"] == 2000
    assert rows[loyal]["days_since_purchase"] == pytest.approx(9.5)  # day 10 at 12:00 KST
    assert rows[loyal]["days_since_first_purchase"] == pytest.approx(299.5)
    assert rows[loyal]["purchases_per_30d"] == pytest.approx(30 * 3 / 299.5)  # the first action is the purchase
    assert rows[loyal]["purchase_recency_share"] == pytest.approx(9.5 / 299.5)
    assert rows[never]["purchases_ever"] == 0 and rows[never]["paid_ever"] == 0
    assert np.isnan(rows[never]["paid_mean"]) and np.isnan(rows[never]["days_since_purchase"])
    assert np.isnan(rows[never]["days_since_first_purchase"]) and np.isnan(rows[never]["purchase_recency_share"])
    assert rows[never]["purchases_per_30d"] == 0


def test_rows_dated_at_or_after_the_as_of_instant_change_no_feature() -> None:
    ids = _history()
    before = features_compute(as_of=AS_OF)

    # given everything again, at the instant itself and after it
    newcomer = factories.make_player().id
    for user_id in [*ids.values(), newcomer]:
        sessions(user_id, [T, T + dt.timedelta(hours=5)])
        visits(user_id, [T])
        corporate_earn(user_id, T + dt.timedelta(minutes=1), 500)
        purchase(user_id, T + dt.timedelta(days=2), 9900.0)
        ledger(user_id, T, 1000)
        ledger(user_id, T + dt.timedelta(days=1), -300, kind="SPEND")
        segment_change(user_id, T, "Whale", "Medium")
        quiz_submission(user_id, T + dt.timedelta(seconds=1), "Moderate-Risk")
        unlock(user_id, T + dt.timedelta(days=3), 2)
    after = features_compute(as_of=AS_OF)

    assert after.names == before.names
    np.testing.assert_array_equal(after.user_ids, before.user_ids)
    np.testing.assert_array_equal(after.values, before.values)  # NaN in the same places, every value the same
    lifetime = [before.names.index(n) for n in ("purchases_ever", "paid_ever", "paid_mean", "days_since_purchase")]
    assert before.values[:, lifetime].size and not np.isnan(before.values[:, lifetime[:2]]).any()  # compared above


def test_a_frame_for_some_players_matches_their_rows_of_the_whole_frame() -> None:
    ids = _history()
    whole = features_compute(as_of=AS_OF)
    some = features_compute(as_of=AS_OF, user_ids=[ids["lapsed"]])

    assert list(some.user_ids) == [ids["lapsed"]]
    np.testing.assert_array_equal(some.values[0], whole.values[list(whole.user_ids).index(ids["lapsed"])])


def test_labels_count_app_activity_in_the_churn_horizon_and_cash_paid_in_the_ltv_horizon() -> None:
    stays, leaves, payer = (factories.make_player().id for _ in range(3))
    for user_id in (stays, leaves, payer):
        sessions(user_id, [at(3)])
    sessions(stays, [T + dt.timedelta(days=6, hours=23)])  # inside 7 days
    sessions(leaves, [T + dt.timedelta(days=7)])  # the first instant after
    visits(leaves, [T + dt.timedelta(days=1)])  # Company A is not app activity
    purchase(payer, T + dt.timedelta(days=1), 3300.0)
    purchase(payer, T + dt.timedelta(days=29), 1100.0)
    purchase(payer, T + dt.timedelta(days=30), 7700.0)  # past 30 days
    ids = np.array(sorted([stays, leaves, payer]), dtype=np.int64)

    labels = labels_compute(as_of=AS_OF, user_ids=ids, churn_days=7, ltv_days=30)

    by_id = dict(zip(ids.tolist(), zip(labels.churned.tolist(), labels.spend.tolist(), strict=True), strict=True))
    assert by_id[stays] == (False, 0.0)
    assert by_id[leaves] == (True, 0.0)
    assert by_id[payer] == (False, 4400.0)  # a purchase is app activity


def test_a_training_sample_keeps_the_players_of_its_stable_hash() -> None:
    from predictions.features import sample_keep

    ids = []
    for _ in range(40):
        ids.append(factories.make_player().id)
        sessions(ids[-1], [at(3)])
    whole = features_compute(as_of=AS_OF)

    half = features_compute(as_of=AS_OF, sample=0.5)

    expected = whole.user_ids[sample_keep(whole.user_ids, 0.5)]
    assert 0 < len(half) < len(whole)
    np.testing.assert_array_equal(half.user_ids, expected)
    np.testing.assert_array_equal(half.values, whole.values[sample_keep(whole.user_ids, 0.5)])
