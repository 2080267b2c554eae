"""The regularisation chosen on players left out of the fits (group k-fold by player), and the fits that score them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from predictions import services
from predictions.features import NAMES
from predictions.services import CHURN_PARAMS, FOLDS, _churn_fit, model_search, player_folds

# Grows until it knows each row: 63 leaves of a single row, no penalty.
MEMORISER = {"num_leaves": 63, "min_data_in_leaf": 1, "min_sum_hessian_in_leaf": 0.0, "lambda_l2": 0.0}
STUMPS = {"num_leaves": 2, "min_data_in_leaf": 200, "lambda_l2": 10.0}


def _one_cohort(players: int = 400, dates: int = 6, seed: int = 3) -> tuple[Any, Any, Any]:
    """The same players at every date. The outcome follows one column a little (``signal``) and each player's own
    constant a lot; four columns fixed per player name the player (as tenure-like columns do in one cohort), so a
    model can learn the players it was fitted on, which helps on those players only."""
    rng = np.random.default_rng(seed)
    ids = np.arange(1_000, 1_000 + players, dtype=np.int64)
    x = np.zeros((players * dates, len(NAMES)), dtype=np.float32)
    x[:, :4] = np.tile(rng.random((players, 4)), (dates, 1))
    signal = rng.random(players * dates)
    x[:, 4] = signal
    y = (signal - 0.5 + np.tile(rng.normal(0.0, 1.0, players), dates)) > 0
    return x, y, np.tile(ids, dates)


def test_a_player_is_in_the_same_fold_at_every_date_and_the_folds_split_the_players() -> None:
    ids = np.arange(10_000, 12_000, dtype=np.int64)

    folds = player_folds(np.concatenate([ids, ids[::-1]]))

    assert (folds[: len(ids)] == folds[len(ids) :][::-1]).all()
    assert sorted(np.unique(folds).tolist()) == list(range(FOLDS))
    assert np.bincount(folds[: len(ids)]).min() > len(ids) / FOLDS * 0.8


def test_the_search_prefers_the_setting_that_holds_on_players_it_never_saw() -> None:
    """A later date of the same players would pick the memoriser (it knows each player's outcome at every date, next
    test); on players left out it has learnt little that carries over, and the stumps win."""
    x, y, ids = _one_cohort()

    search = model_search(candidates=(MEMORISER, STUMPS), base=CHURN_PARAMS, fit=_churn_fit, x=x, y=y, user_ids=ids)

    memoriser, stumps = search.figures["candidates"]
    assert search.figures["chosen"] == 1 and search.params["num_leaves"] == 2
    assert memoriser["held_out_loss"] > stumps["held_out_loss"]
    assert search.figures["folds"] == FOLDS and search.figures["players"] == 400
    # Each player scored by the fit that left them out: the signal's worth, not the players' (> 0.9 below).
    raw = search.predict(ids, x, lambda booster, rows: booster.predict(rows, raw_score=True))
    assert 0.55 < roc_auc_score(y, raw) < 0.75


def test_a_later_date_of_the_same_players_flatters_the_memoriser() -> None:
    """The premise of the search: validated on another date of the players it was fitted on, the memoriser looks
    nearly perfect, far above what the signal is worth on players it has not seen."""
    x, y, ids = _one_cohort()
    later = np.arange(len(ids)) < 400  # the first date's rows; the other five dates train

    booster, _, _ = _churn_fit({**CHURN_PARAMS, **MEMORISER}, x[~later], y[~later], x[later], y[later])

    assert roc_auc_score(y[later], booster.predict(x[later], raw_score=True)) > 0.9


def test_the_search_reads_a_bounded_sample_of_whole_players(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y, ids = _one_cohort(players=400, dates=6)
    monkeypatch.setattr(services, "SEARCH_MAX_ROWS", 600)
    seen: list[Any] = []

    def fit(params: dict[str, Any], xt: Any, yt: Any, xo: Any, yo: Any) -> tuple[Any, int, float]:
        seen.append((xt, xo))
        return None, 1, 0.0

    search = model_search(candidates=({},), base={}, fit=fit, x=x, y=y, user_ids=ids)

    assert search.figures["rows"] <= 600 and search.figures["rows"] % 6 == 0  # whole players: 6 rows each
    assert search.figures["players"] == search.figures["rows"] // 6
    for x_train, x_out in seen:  # no player on both sides of a fit (column 0 names the player)
        assert not set(x_train[:, 0].tolist()) & set(x_out[:, 0].tolist())
