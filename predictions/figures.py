"""Population-level figures of the predictions for staff (the KPI dashboard's predictions panel; issue 17 item 4):
how the churn scores and the predicted LTV are spread over the players scored as of a day, the model's calibration
on its validation period beside the baseline's, and the reasons that come first most often. Reads only; a fixed
number of statements whatever the population (grouped in the database, never a row per player in Python).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Max

from predictions.models import PlayerPrediction, PredictionModel

CHURN_BINS = 10  # the churn-probability histogram's bins: [0, 0.1), [0.1, 0.2), ... [0.9, 1]
LTV_DECILES = 10


def scored_as_of(*, on_or_before: dt.date) -> dt.date | None:
    """The latest day players were scored as of, up to ``on_or_before``; None before any scoring."""
    found: dt.date | None = PlayerPrediction.objects.filter(as_of__lte=on_or_before).aggregate(d=Max("as_of"))["d"]
    return found


def churn_distribution(*, as_of: dt.date) -> list[dict[str, Any]]:
    """Players per churn-probability bin (``CHURN_BINS`` of equal width), every bin present, with the bin's mean
    predicted LTV (None for an empty bin)."""
    sql = (
        f"SELECT CASE WHEN churn_probability >= 1 THEN {CHURN_BINS - 1} "  # noqa: S608 (constants from code, values bound)
        f"ELSE CAST(churn_probability * {CHURN_BINS} AS integer) END AS b, count(*), avg(ltv) "
        "FROM player_predictions WHERE as_of = %s GROUP BY 1"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [connection.ops.adapt_datefield_value(as_of)])
        found = {int(b): (int(n), float(ltv)) for b, n, ltv in cur.fetchall()}
    out = []
    for b in range(CHURN_BINS):
        n, ltv = found.get(b, (0, None))
        out.append({"from": b / CHURN_BINS, "to": (b + 1) / CHURN_BINS, "players": n, "mean_ltv": ltv})
    return out


def ltv_deciles(*, as_of: dt.date) -> list[dict[str, Any]]:
    """The players scored as of ``as_of`` in ten equal groups by predicted LTV, highest first: each decile's players,
    lowest and mean predicted LTV, and mean churn probability. The first decile is the whale candidates' pool."""
    sql = (
        "SELECT d, count(*), min(ltv), avg(ltv), avg(churn_probability) FROM ("  # noqa: S608 (constants from code, values bound)
        f"SELECT ltv, churn_probability, NTILE({LTV_DECILES}) OVER (ORDER BY ltv DESC, user_id) AS d "
        "FROM player_predictions WHERE as_of = %s) t GROUP BY d ORDER BY d"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [connection.ops.adapt_datefield_value(as_of)])
        return [
            {"decile": int(d), "players": int(n), "min_ltv": float(lo), "mean_ltv": float(mean), "mean_churn": float(c)}
            for d, n, lo, mean, c in cur.fetchall()
        ]


def top_reasons(*, as_of: dt.date, kind: str, limit: int = 10) -> list[dict[str, Any]]:
    """The features named most often among the top three reasons: for ``kind="churn"`` among the players at risk
    (churn probability at least ``PREDICTIONS_INVITATION_THRESHOLD``), for ``kind="ltv"`` among the top LTV decile's
    players (ranked by predicted LTV). Each: the feature, how many players it is a reason for, and how many it is the
    first reason for."""
    if kind not in ("churn", "ltv"):
        raise ValueError(f"kind must be churn or ltv, not {kind!r}")
    column = f"{kind}_reasons"
    if kind == "churn":
        who = "SELECT id, {col} AS reasons FROM player_predictions WHERE as_of = %s AND churn_probability >= %s"
        params: list[Any] = [connection.ops.adapt_datefield_value(as_of), settings.PREDICTIONS_INVITATION_THRESHOLD]
    else:
        who = (
            "SELECT id, reasons FROM (SELECT id, {col} AS reasons, "  # noqa: S608 (constants from code, values bound)
            f"NTILE({LTV_DECILES}) OVER (ORDER BY ltv DESC, user_id) AS d "
            "FROM player_predictions WHERE as_of = %s AND ltv > 0) t WHERE d = 1"
        )
        params = [connection.ops.adapt_datefield_value(as_of)]
    who = who.format(col=column)
    if connection.vendor == "postgresql":
        elements = "CROSS JOIN LATERAL jsonb_array_elements(p.reasons) WITH ORDINALITY AS r(value, n)"
        feature, first = "r.value ->> 0", "r.n = 1"
    else:
        elements = "JOIN json_each(p.reasons) AS r"
        feature, first = "json_extract(r.value, '$[0]')", "r.key = 0"
    sql = (
        f"SELECT {feature} AS feature, count(*) AS players, "  # noqa: S608 (constants from code, values bound)
        f"SUM(CASE WHEN {first} THEN 1 ELSE 0 END) AS first_reason "
        f"FROM ({who}) p {elements} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %s"
    )
    with connection.cursor() as cur:
        cur.execute(sql, [*params, limit])
        return [{"feature": f, "players": int(n), "first_reason": int(first_n)} for f, n, first_n in cur.fetchall()]


def model_latest(*, trained_on_or_before: dt.date | None = None) -> PredictionModel | None:
    """The newest model (trained as of ``trained_on_or_before`` or earlier, when given), without its model bytes."""
    models = PredictionModel.objects.defer("churn_model", "ltv_model").order_by("-trained_at", "-id")
    if trained_on_or_before is not None:
        models = models.filter(as_of__lte=trained_on_or_before)
    return models.first()


def calibration(model: PredictionModel) -> dict[str, list[dict[str, Any]]]:
    """The churn calibration bins ``train_models`` measured on the validation period (``validation["churn"]``), for
    the model and for the recency-only baseline: ``{"model": [{"predicted", "observed", "count"}, ...], "baseline":
    [...]}`` (empty lists for a model trained without them)."""
    churn = (model.validation or {}).get("churn", {})
    return {"model": list(churn.get("calibration", [])), "baseline": list(churn.get("baseline_calibration", []))}
