"""The predictions' writes: training both models, scoring every player, the CSV export (docs/predictions.md).

Training (``models_train``) reads features and labels at several past as-of dates a week apart, each date's labels
ending on or before the training's as-of date D (time-based split): churn trains on the older dates, is calibrated
(Platt) on the next one and validated on the latest; LTV trains on the older dates and is validated on the latest
date whose 90 days end by D. The churn model's regularisation is the one with the lowest loss on players left out
of its fits (``model_search``, folds of players; docs/decisions/0035), and its figures on those players are kept
beside the time split's. The baselines are scored on the same validation rows.
Scoring (``players_score``) applies the newest model to everyone with history before the day, in chunks, and replaces
that day's rows set-based.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import orjson
import xgboost as xgb
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from scipy.stats import spearmanr
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from tqdm import tqdm

from core.bulk import bulk_insert
from core.exceptions import DomainError
from players.selectors import player_count
from predictions.features import (
    NAMES,
    SAMPLE_MODULUS,
    FeatureFrame,
    cheapest_purchase,
    features_compute,
    history_span,
    labels_compute,
)
from predictions.models import PlayerPrediction, PredictionModel
from predictions.reasons import PathContributions, reasons_top
from predictions.selectors import model_latest, predictions_for_day

STEP_DAYS = 7  # the training dates are a week apart
MIN_HISTORY_DAYS = 14  # a training date needs this much history before it
MAX_DATES = 8  # training dates per model, the newest ones
CALIBRATION_BINS = 10
SCORE_CHUNK = 200_000
THREADS = 2

CHURN_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "max_bin": 63,
    "force_col_wise": True,
    "num_threads": THREADS,
    "seed": 1,
    "deterministic": True,
    "verbose": -1,
}
# The churn model's regularisation, one of these, chosen by the log loss on players left out of the fit (group k-fold
# by player over the training dates' rows, ``model_search``): from the setting used before (31 leaves) to trees of four
# leaves. Fixed, not tuned on any data set (docs/decisions/0035).
# Validating on a later date of the same players flatters the larger trees wherever the players are the same at every
# training date (one cohort, as CDNOW); the players left out are the ones scoring will meet (docs/predictions.md).
CHURN_CANDIDATES: tuple[dict[str, Any], ...] = (
    {"num_leaves": 31, "min_data_in_leaf": 40, "lambda_l2": 1.0},
    {"num_leaves": 15, "min_data_in_leaf": 100, "lambda_l2": 10.0},
    {"num_leaves": 7, "min_data_in_leaf": 200, "lambda_l2": 10.0},
    {"num_leaves": 4, "min_data_in_leaf": 400, "lambda_l2": 10.0},
)
EARLY_STOPPING_ROUNDS = 30
FOLDS = 5  # players split by a stable hash of the id; each fold's players are left out of one fit
# The search's fits read at most this many training rows (a stable sample of whole players); the chosen setting is
# then fitted once on every row. Bounds the search's cost on a large log (docs/predictions.md, "fit times").
SEARCH_MAX_ROWS = 30_000
CHURN_ROUNDS = 400
LTV_PARAMS: dict[str, Any] = {
    "objective": "reg:tweedie",
    "tweedie_variance_power": 1.3,
    "eta": 0.05,
    "max_depth": 5,
    "min_child_weight": 5,
    "subsample": 0.8,
    "colsample_bytree": 0.9,
    "tree_method": "hist",
    "nthread": THREADS,
    "seed": 1,
}
LTV_ROUNDS = 300
# An expected spend below this share of the cheapest purchase seen is shown as 0. Spend is a sum of purchases, so
# E[spend] >= P(any purchase) x the cheapest purchase: below half of it, P(any purchase) < 1/2 and buying nothing is
# the likelier outcome (docs/predictions.md).
LTV_ZERO_BELOW_SHARE = 0.5


def ltv_zero_below(*, before: dt.date) -> float:
    """The expected spend under which the LTV is shown as 0: LTV_ZERO_BELOW_SHARE of the cheapest purchase before
    ``before`` (0 when there was none)."""
    cheapest = cheapest_purchase(before=before)
    return LTV_ZERO_BELOW_SHARE * cheapest if cheapest else 0.0


def ltv_floor(pred: npt.NDArray[np.float64], zero_below: float) -> npt.NDArray[np.float64]:
    return np.where(pred < zero_below, 0.0, pred)


class HistoryTooShort(DomainError):
    code = "history_too_short"


class NoModel(DomainError):
    code = "no_model"


@dataclass(frozen=True)
class TrainingResult:
    model: PredictionModel
    figures: dict[str, Any]
    seconds: float


@dataclass(frozen=True)
class ScoringResult:
    as_of: dt.date
    model_version: str
    players: int
    removed_old: int
    seconds: float
    churn_mean: float
    ltv_sum: float
    extra: dict[str, Any] = field(default_factory=dict)


# --- training --------------------------------------------------------------------------------------------------------


def _grid(*, as_of: dt.date, churn_days: int, ltv_days: int) -> tuple[list[dt.date], list[dt.date]]:
    """The churn and LTV training dates, newest first (a weekly grid whose churn labels end on ``as_of``); raises
    HistoryTooShort when there are too few."""
    span = history_span()
    first = span[0] if span else as_of
    have = max(0, (as_of - first).days)
    ltv_offset = churn_days + STEP_DAYS * math.ceil(max(0, ltv_days - churn_days) / STEP_DAYS)
    need = max(churn_days + 2 * STEP_DAYS, ltv_offset + STEP_DAYS) + MIN_HISTORY_DAYS
    if have < need:
        raise HistoryTooShort(
            f"The log holds {have} days of history before {as_of}"
            + (f" (first action on {first})" if span else " (no action)")
            + f"; the horizons (churn {churn_days} days, LTV {ltv_days} days) need at least {need}: three weekly "
            f"as-of dates for churn and two for LTV, each with {MIN_HISTORY_DAYS} days of history before it."
        )
    grid = []
    d = as_of - dt.timedelta(days=churn_days)
    while (d - first).days >= MIN_HISTORY_DAYS:
        grid.append(d)
        d -= dt.timedelta(days=STEP_DAYS)
    churn_dates = grid[:MAX_DATES]
    ltv_dates = [d for d in grid if d + dt.timedelta(days=ltv_days) <= as_of][:MAX_DATES]
    return churn_dates, ltv_dates


@dataclass
class _Period:
    frame: FeatureFrame
    churned: npt.NDArray[np.bool_]
    spend: npt.NDArray[np.float64]


def _recency(frame: FeatureFrame) -> npt.NDArray[np.float64]:
    """The recency-only baseline's input: log(1 + days since the last app action), or since the first action when
    there was none."""
    days = frame.column("days_since_app").astype(np.float64)
    days = np.where(np.isnan(days), frame.column("tenure_days").astype(np.float64), days)
    return np.log1p(np.maximum(days, 0.0)).reshape(-1, 1)


def _calibration_bins(p: npt.NDArray[np.float64], y: npt.NDArray[np.bool_]) -> tuple[list[dict[str, Any]], float]:
    """Predicted vs observed in equal-width bins of the predicted probability, and the expected calibration error."""
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, CALIBRATION_BINS - 1)
    bins, ece = [], 0.0
    for b in range(CALIBRATION_BINS):
        mask = which == b
        n = int(mask.sum())
        if not n:
            continue
        predicted, observed = float(p[mask].mean()), float(y[mask].mean())
        bins.append({"predicted": round(predicted, 4), "observed": round(observed, 4), "count": n})
        ece += n / len(p) * abs(predicted - observed)
    return bins, round(ece, 4)


def _churn_figures(p: npt.NDArray[np.float64], y: npt.NDArray[np.bool_]) -> dict[str, Any]:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    bins, ece = _calibration_bins(p, y)
    both = 0 < y.sum() < len(y)
    return {
        "auc": round(float(roc_auc_score(y, p)), 4) if both else None,
        "log_loss": round(float(log_loss(y, p, labels=[False, True])), 4),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "ece": ece,
        "calibration": bins,
    }


def _ltv_figures(pred: npt.NDArray[np.float64], actual: npt.NDArray[np.float64]) -> dict[str, Any]:
    err = pred - actual
    total = float(actual.sum())
    top = max(1, math.ceil(len(pred) / 10))
    order = np.argsort(-pred, kind="stable")  # ties in player id order
    rho = spearmanr(pred, actual).statistic if len(pred) > 1 and np.ptp(pred) > 0 and np.ptp(actual) > 0 else None
    payers = actual > 0  # the ranking among those who paid (the whole population's is mostly ties at zero)
    rho_payers = (
        spearmanr(pred[payers], actual[payers]).statistic
        if payers.sum() > 2 and np.ptp(pred[payers]) > 0 and np.ptp(actual[payers]) > 0
        else None
    )
    return {
        "mae": round(float(np.abs(err).mean()), 4),
        "rmse": round(float(np.sqrt((err**2).mean())), 4),
        "spearman": None if rho is None or np.isnan(rho) else round(float(rho), 4),
        "top_decile_capture": round(float(actual[order[:top]].sum()) / total, 4) if total > 0 else None,
        "spearman_payers": None if rho_payers is None or np.isnan(rho_payers) else round(float(rho_payers), 4),
    }


# --- held-out players: the folds, the search, the fold models' scores -----------------------------------------------


def _player_hash(user_ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return (user_ids % SAMPLE_MODULUS) * 7919 % SAMPLE_MODULUS  # the training sample's hash (features.sample_clause)


def player_folds(user_ids: npt.NDArray[np.int64], folds: int = FOLDS) -> npt.NDArray[np.int64]:
    """Each row's fold, 0 .. folds - 1, from a stable hash of its player's id: a player is in the same fold at every
    date, so a fit without fold k has seen none of fold k's players at any date."""
    return _player_hash(user_ids) % folds


def _search_rows(user_ids: npt.NDArray[np.int64], max_rows: int) -> npt.NDArray[np.bool_]:
    """The rows of whole players, lowest hash first, until ``max_rows`` (every row when there are no more)."""
    if len(user_ids) <= max_rows:
        return np.ones(len(user_ids), dtype=bool)
    players, counts = np.unique(user_ids, return_counts=True)
    order = np.argsort(_player_hash(players), kind="stable")
    keep = int(np.searchsorted(np.cumsum(counts[order]), max_rows, side="right"))
    return np.isin(user_ids, players[order[: max(keep, FOLDS)]])


# fit(params, x_train, y_train, x_held_out, y_held_out) -> (booster, trees, mean held-out loss)
Fit = Callable[
    [dict[str, Any], npt.NDArray[np.float32], npt.NDArray[Any], npt.NDArray[np.float32], npt.NDArray[Any]],
    tuple[Any, int, float],
]


@dataclass(frozen=True)
class Search:
    """The setting chosen by the loss on held-out players, and the fits behind it: ``boosters[k]`` never saw a row of
    a player of fold k."""

    params: dict[str, Any]
    trees: int
    boosters: dict[int, Any]
    figures: dict[str, Any]

    def predict(
        self, user_ids: npt.NDArray[np.int64], x: npt.NDArray[np.float32], predict: Callable[..., Any]
    ) -> npt.NDArray[np.float64]:
        """Each row scored by the fit that left its player out (``predict(booster, rows)``)."""
        fold = player_folds(user_ids)
        out = np.empty(len(user_ids), dtype=np.float64)
        for k in np.unique(fold).tolist():
            rows = fold == k
            # a fold without rows in the search: its players are in no fit, any one leaves them out
            booster = self.boosters[k] if k in self.boosters else next(iter(self.boosters.values()))
            out[rows] = predict(booster, x[rows])
        return out


def model_search(
    *,
    candidates: tuple[dict[str, Any], ...],
    base: dict[str, Any],
    fit: Fit,
    x: npt.NDArray[np.float32],
    y: npt.NDArray[Any],
    user_ids: npt.NDArray[np.int64],
) -> Search:
    """Group k-fold by player over the training rows (at most ``SEARCH_MAX_ROWS``, whole players): each candidate is
    fitted ``FOLDS`` times, each time without one fold's players, and scored by the loss on those players; the one with
    the lowest loss over all held-out rows wins, with the mean of its fits' tree counts."""
    started = time.monotonic()
    rows = _search_rows(user_ids, SEARCH_MAX_ROWS)
    x, y, fold = x[rows], y[rows], player_folds(user_ids[rows])
    folds = [k for k in range(FOLDS) if (fold == k).any() and (fold != k).any()]
    if not folds:
        raise HistoryTooShort("The training dates hold fewer than two players: none can be left out to validate on.")
    held_out_rows = sum(int((fold == k).sum()) for k in folds)
    tried: list[dict[str, Any]] = []
    fits: list[tuple[dict[str, Any], int, dict[int, Any]]] = []
    for candidate in candidates:
        params = {**base, **candidate}
        boosters, trees, loss = {}, [], 0.0
        for k in folds:
            out = fold == k
            boosters[k], n, held_out = fit(params, x[~out], y[~out], x[out], y[out])
            trees.append(n)
            loss += held_out * int(out.sum()) / held_out_rows
        fits.append((params, max(1, round(float(np.mean(trees)))), boosters))
        tried.append({**candidate, "held_out_loss": round(loss, 6), "trees": fits[-1][1]})
    chosen = min(range(len(tried)), key=lambda i: tried[i]["held_out_loss"])
    figures = {
        "folds": len(folds),
        "rows": int(rows.sum()),
        "players": len(np.unique(user_ids[rows])),
        "candidates": tried,
        "chosen": chosen,
        "seconds": round(time.monotonic() - started, 2),
    }
    return Search(*fits[chosen], figures=figures)


def _churn_fit(
    params: dict[str, Any],
    x: npt.NDArray[np.float32],
    y: npt.NDArray[Any],
    x_out: npt.NDArray[np.float32],
    y_out: npt.NDArray[Any],
) -> tuple[lgb.Booster, int, float]:
    """LightGBM on (x, y), stopped early on the held-out rows; their log loss at the best iteration."""
    train = lgb.Dataset(x, label=y.astype(np.float32), feature_name=list(NAMES))
    booster = lgb.train(
        params,
        train,
        num_boost_round=CHURN_ROUNDS,
        valid_sets=[lgb.Dataset(x_out, label=y_out.astype(np.float32), reference=train)],
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )
    best = booster.best_iteration or CHURN_ROUNDS
    return booster, best, float(booster.best_score["valid_0"]["binary_logloss"])


def platt_apply(raw: npt.NDArray[np.float64], calibration: dict[str, Any]) -> npt.NDArray[np.float64]:
    """The calibrated probability from LightGBM's raw score (log-odds): 1 / (1 + exp(-(a * raw + b)))."""
    z = float(calibration.get("a", 1.0)) * raw + float(calibration.get("b", 0.0))
    return 1.0 / (1.0 + np.exp(-z))


def models_train(
    *,
    as_of: dt.date,
    churn_horizon_days: int | None = None,
    ltv_horizon_days: int | None = None,
    progress: bool = False,
) -> TrainingResult:
    """Train the churn (LightGBM, Platt-calibrated) and LTV (XGBoost, Tweedie) models on history before ``as_of``,
    validate both beside their baselines on the latest period, and save them as a new ``PredictionModel``."""
    started = time.monotonic()
    churn_days = churn_horizon_days or settings.PREDICTIONS_CHURN_HORIZON_DAYS
    ltv_days = ltv_horizon_days or settings.PREDICTIONS_LTV_HORIZON_DAYS
    if churn_days < 1 or ltv_days < 1:
        raise DomainError("The horizons must be at least one day.")
    churn_dates, ltv_dates = _grid(as_of=as_of, churn_days=churn_days, ltv_days=ltv_days)
    players = player_count()
    sample = min(1.0, settings.PREDICTIONS_TRAIN_MAX_PLAYERS_PER_DATE / max(players, 1))
    dates = sorted(set(churn_dates) | set(ltv_dates))
    periods: dict[dt.date, _Period] = {}
    with tqdm(total=len(dates), unit="dates", file=sys.stderr, desc="features", disable=not progress) as bar:
        for d in dates:
            frame = features_compute(as_of=d, sample=sample)
            labels = labels_compute(as_of=d, user_ids=frame.user_ids, churn_days=churn_days, ltv_days=ltv_days)
            periods[d] = _Period(frame=frame, churned=labels.churned, spend=labels.spend)
            bar.update(1)

    def stack(ds: list[dt.date]) -> tuple[npt.NDArray[np.float32], _Period]:
        x = np.concatenate([periods[d].frame.values for d in ds])
        return x, _Period(
            frame=periods[ds[0]].frame,
            churned=np.concatenate([periods[d].churned for d in ds]),
            spend=np.concatenate([periods[d].spend for d in ds]),
        )

    def users(ds: list[dt.date]) -> npt.NDArray[np.int64]:
        return np.concatenate([periods[d].frame.user_ids for d in ds])

    # Churn: the regularisation chosen on players left out of the older dates' fits, the model saved that setting
    # fitted on every training row; Platt-calibrated on the next date and validated on the latest (the time split).
    # The validation date's figures scored by the fits that left each player out are kept too: what the model is
    # worth on players it never saw.
    c_val, c_cal, c_train = churn_dates[0], churn_dates[1], churn_dates[2:]
    x_train, train = stack(c_train)
    if len(x_train) == 0 or train.churned.all() or not train.churned.any():
        raise HistoryTooShort(f"The training dates {c_train[-1]}..{c_train[0]} hold no players of both outcomes.")
    cal, val = periods[c_cal], periods[c_val]
    search = model_search(
        candidates=CHURN_CANDIDATES,
        base=CHURN_PARAMS,
        fit=_churn_fit,
        x=x_train,
        y=train.churned,
        user_ids=users(c_train),
    )

    def churn_raw(booster: lgb.Booster, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
        return np.asarray(booster.predict(x, num_iteration=booster.best_iteration or None, raw_score=True))

    booster = lgb.train(
        search.params,
        lgb.Dataset(x_train, label=train.churned.astype(np.float32), feature_name=list(NAMES)),
        num_boost_round=search.trees,
    )
    best = search.trees
    raw_cal = churn_raw(booster, cal.frame.values)
    platt = LogisticRegression(C=1e6).fit(raw_cal.reshape(-1, 1), cal.churned)
    calibration = {
        "method": "platt",
        "a": float(platt.coef_[0][0]),
        "b": float(platt.intercept_[0]),
        "fitted_on": c_cal.isoformat(),
    }
    p_val = platt_apply(churn_raw(booster, val.frame.values), calibration)
    p_left_out = platt_apply(search.predict(val.frame.user_ids, val.frame.values, churn_raw), calibration)
    recency = LogisticRegression().fit(np.concatenate([_recency(periods[d].frame) for d in c_train]), train.churned)
    p_base = recency.predict_proba(_recency(val.frame))[:, 1]
    churn_model = _churn_figures(p_val, val.churned)
    churn_base = _churn_figures(p_base, val.churned)
    churn = {
        "horizon_days": churn_days,
        "validation_as_of": c_val.isoformat(),
        "calibration_as_of": c_cal.isoformat(),
        "training_as_of": [d.isoformat() for d in sorted(c_train)],
        "rows": {"train": len(x_train), "calibration": len(cal.frame), "validation": len(val.frame)},
        "churned_share": round(float(val.churned.mean()), 4) if len(val.frame) else None,
        "trees": best,
        "search": search.figures,
        "model": {k: v for k, v in churn_model.items() if k != "calibration"},
        "model_players_left_out": {
            k: v for k, v in _churn_figures(p_left_out, val.churned).items() if k != "calibration"
        },
        "baseline_recency": {k: v for k, v in churn_base.items() if k != "calibration"},
        "calibration": churn_model["calibration"],
        "baseline_calibration": churn_base["calibration"],
    }

    # LTV: train on the older dates, validate on the latest whose horizon ends by as_of.
    l_val, l_train = ltv_dates[0], ltv_dates[1:]
    lx_train, ltrain = stack(l_train)
    lval = periods[l_val]
    ltv_booster = xgb.train(
        LTV_PARAMS,
        xgb.DMatrix(lx_train, label=ltrain.spend, missing=np.nan, feature_names=list(NAMES)),
        num_boost_round=LTV_ROUNDS,
    )
    raw_pred = ltv_booster.predict(xgb.DMatrix(lval.frame.values, missing=np.nan, feature_names=list(NAMES)))
    raw_pred = np.asarray(raw_pred, dtype=np.float64)
    pred = ltv_floor(raw_pred, ltv_zero_below(before=l_val))  # the prices known on the validation date
    repeat = labels_compute(
        as_of=l_val - dt.timedelta(days=ltv_days), user_ids=lval.frame.user_ids, churn_days=1, ltv_days=ltv_days
    ).spend
    ltv = {
        "horizon_days": ltv_days,
        "validation_as_of": l_val.isoformat(),
        "training_as_of": [d.isoformat() for d in sorted(l_train)],
        "rows": {"train": len(lx_train), "validation": len(lval.frame)},
        "payers_share": round(float((lval.spend > 0).mean()), 4) if len(lval.frame) else None,
        "zero_below": ltv_zero_below(before=as_of),  # the saved model's, applied when scoring
        "model": _ltv_figures(pred, lval.spend),
        "model_unfloored": _ltv_figures(raw_pred, lval.spend),
        "baseline_repeat": _ltv_figures(repeat, lval.spend),
    }
    seconds = round(time.monotonic() - started, 2)
    now = timezone.now()
    figures = {
        "as_of": as_of.isoformat(),
        "sample_per_date": round(sample, 4),
        "churn": churn,
        "ltv": ltv,
        "seconds": seconds,
    }
    model = PredictionModel.objects.create(
        version=f"{as_of.isoformat()}.{now:%Y%m%dT%H%M%S%f}",
        as_of=as_of,
        churn_horizon_days=churn_days,
        ltv_horizon_days=ltv_days,
        feature_names=list(NAMES),
        churn_model=booster.model_to_string(num_iteration=best).encode(),
        churn_calibration=calibration,
        ltv_model=bytes(ltv_booster.save_raw("ubj")),
        validation=figures,
        trained_at=now,
    )
    return TrainingResult(model=model, figures=figures, seconds=seconds)


# --- scoring ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    """One model's scores of a frame, with the reasons."""

    churn: npt.NDArray[np.float64]
    ltv: npt.NDArray[np.float64]
    churn_reasons: list[list[list[Any]]]
    ltv_reasons: list[list[list[Any]]]


class LoadedModel:
    """A PredictionModel's boosters, loaded once."""

    def __init__(self, model: PredictionModel) -> None:
        self.model = model
        self.names = tuple(model.feature_names)
        self.churn = lgb.Booster(model_str=bytes(model.churn_model).decode())
        self.ltv = xgb.Booster()
        self.ltv.load_model(bytearray(bytes(model.ltv_model)))
        self.ltv.set_param({"nthread": THREADS})
        self.churn_paths = PathContributions.lightgbm(self.churn, len(self.names))
        self.ltv_paths = PathContributions.xgboost(self.ltv, self.names)
        self.ltv_zero_below = float((model.validation or {}).get("ltv", {}).get("zero_below", 0.0))

    def score(self, values: npt.NDArray[np.float32]) -> Scored:
        """Both scores and their reasons, from each model's leaves: one tree walk per model (``pred_leaf``), the raw
        scores and the path contributions read off those leaves (``PathContributions``)."""
        churn_raw, churn_contrib = self.churn_paths(
            np.asarray(self.churn.predict(values, pred_leaf=True, num_threads=THREADS))
        )
        matrix = xgb.DMatrix(values, missing=np.nan, feature_names=list(self.names), nthread=THREADS)
        ltv_margin, ltv_contrib = self.ltv_paths(np.asarray(self.ltv.predict(matrix, pred_leaf=True)))
        return Scored(
            churn=platt_apply(churn_raw, self.model.churn_calibration),
            ltv=ltv_floor(np.exp(ltv_margin), self.ltv_zero_below),  # the Tweedie's log link
            churn_reasons=reasons_top(churn_contrib, values, self.names),
            ltv_reasons=reasons_top(ltv_contrib, values, self.names),
        )


_COLUMNS = ("user_id", "as_of", "model_id", "churn_probability", "ltv", "churn_reasons", "ltv_reasons", "scored_at")


def players_score(*, as_of: dt.date, model: PredictionModel | None = None, progress: bool = False) -> ScoringResult:
    """Score everyone with history before ``as_of`` with ``model`` (the newest by default): both scores and their
    reasons replace the day's rows of ``player_predictions``; rows older than ``PREDICTIONS_KEEP_DAYS`` go."""
    started = time.monotonic()
    model = model or model_latest()
    if model is None:
        raise NoModel("No prediction model yet: run train_models first.")
    if tuple(model.feature_names) != NAMES:
        raise NoModel(f"Model {model.version} reads other features than this code computes: train a new one.")
    loaded = LoadedModel(model)
    frame = features_compute(as_of=as_of)
    ops = connection.ops
    day = ops.adapt_datefield_value(as_of)
    scored_at = ops.adapt_datetimefield_value(timezone.now())
    churn_sum, ltv_sum = 0.0, 0.0
    bar = tqdm(total=len(frame), unit="players", file=sys.stderr, desc="scoring", disable=not progress)

    def rows() -> Iterator[tuple[Any, ...]]:
        nonlocal churn_sum, ltv_sum
        for start in range(0, len(frame), SCORE_CHUNK):
            ids = frame.user_ids[start : start + SCORE_CHUNK]
            s = loaded.score(frame.values[start : start + SCORE_CHUNK])
            churn_sum += float(s.churn.sum())
            ltv_sum += float(s.ltv.sum())
            for user_id, churn, ltv, churn_reasons, ltv_reasons in zip(
                ids.tolist(), s.churn.tolist(), s.ltv.tolist(), s.churn_reasons, s.ltv_reasons, strict=True
            ):
                yield (
                    user_id,
                    day,
                    model.id,
                    churn,
                    ltv,
                    orjson.dumps(churn_reasons).decode(),
                    orjson.dumps(ltv_reasons).decode(),
                    scored_at,
                )
            bar.update(len(ids))

    keep_from = as_of - dt.timedelta(days=settings.PREDICTIONS_KEEP_DAYS)
    with bar, transaction.atomic():
        PlayerPrediction.objects.filter(as_of=as_of).delete()
        stored = bulk_insert(PlayerPrediction, _COLUMNS, rows())
        removed, _ = PlayerPrediction.objects.filter(as_of__lt=keep_from).delete()
    n = len(frame)
    return ScoringResult(
        as_of=as_of,
        model_version=model.version,
        players=stored,
        removed_old=removed,
        seconds=round(time.monotonic() - started, 2),
        churn_mean=round(churn_sum / n, 4) if n else 0.0,
        ltv_sum=round(ltv_sum, 2),
    )


def predictions_export(*, as_of: dt.date, out: Path) -> int:
    """The day's scores as CSV ``user_id,churn_probability,ltv`` (user id order); returns the rows written."""
    count = 0
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "churn_probability", "ltv"])
        for user_id, churn, ltv in predictions_for_day(as_of=as_of):
            writer.writerow([user_id, f"{churn:.6f}", f"{ltv:.2f}"])
            count += 1
    return count
