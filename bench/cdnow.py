"""Issue 17's public yardstick: our churn and LTV models against BG/NBD + Gamma-Gamma on the CDNOW sample.

The CDNOW sample (2,357 customers who first bought CDs in the first quarter of 1997, their 6,919 purchase lines to the
end of June 1998) ships inside the ``lifetimes`` wheel. ``lifetimes`` 0.11.3 (unmaintained since 2020, on old pandas)
lives only in a throwaway virtual environment, ``var/cdnow-venv`` (git-ignored, made on the first run, reused after),
where ``bench/cdnow_lifetimes.py`` writes the file as ``import_actions`` JSON Lines (one ``PURCHASE_CYBER_TOKENS``
action per line, ten tokens a dollar) and fits BG/NBD and Gamma-Gamma on the calibration period (to 1997-12-31),
predicting each customer's spend and P(no purchase) over the 26 weeks after it (docs/decisions/0032).

Our side, in a database of its own (``<DATABASE_URL's name>_bench``, dropped and recreated; Redis DB
``BENCH_REDIS_DB``): ``migrate``, ``import_actions`` of the calibration period's lines (``--import-all``: every line,
the holdout included, which the as-of date must keep out of the models), ``train_models --as-of 1998-01-01
--churn-horizon-days 182 --ltv-horizon-days 182``, ``score_players --as-of 1998-01-01``, ``export_predictions``.

Both are measured by one function against the holdout's actual spend read from the file (1998-01-01 to 1998-06-30,
the data's last day, in the business timezone): per-customer spend MAE, Spearman's rho, the share of the holdout's
spend made by the top decile by predicted spend (ties at the cut shared in proportion), and the AUC of the score for
"no purchase in the holdout" (ours: ``churn_probability``, churn being no app activity, and a purchase is the only
activity here; theirs: P(no purchase)). A naive row is printed beside them for scale: the last 26 weeks' spend
repeated, and days since the last purchase.

    DATABASE_URL=postgres://... REDIS_URL=redis://... BENCH_REDIS_DB=N .venv/bin/python bench/cdnow.py
        [--keep-db] [--import-all] [--no-lock]
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import subprocess
import sys
import time
import zoneinfo
from collections.abc import Mapping, Set
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, BenchEnv, emit, load_average, log, target

VENV = ROOT / "var" / "cdnow-venv"
WORK = ROOT / "var" / "cdnow"
# lifetimes 0.11.3 with numpy, pandas and scipy of its own era (Python 3.11 wheels for each), pinned: the fit is
# reproducible (docs/decisions/0032).
LIFETIMES_PACKAGES = ("lifetimes==0.11.3", "numpy==1.23.5", "pandas==1.5.3", "scipy==1.10.1", "autograd==1.5")
CALIBRATION_END = dt.date(1997, 12, 31)
AS_OF = CALIBRATION_END + dt.timedelta(days=1)
HORIZON_DAYS = 182  # 26 weeks; the data ends on 1998-06-30, the holdout's 181st day
TOKENS_PER_DOLLAR = 10
TOP_SHARE = 0.10


# --- the measure, one for every model ---------------------------------------------------------------------------


def top_share_capture(predicted: list[float], actual: list[float], share: float = TOP_SHARE) -> float:
    """The share of the total actual spend made by the top ``share`` of customers by predicted spend (k =
    round(share x n)). Customers tied at the cut count in proportion to the places left, so the result is what a
    random order among the tied would give on average: a model that predicts many equal values is not favoured by
    the order of the file."""
    total = sum(actual)
    if total <= 0 or not predicted:
        return math.nan
    k = max(1, round(share * len(predicted)))
    cut = sorted(predicted, reverse=True)[k - 1]
    above = [a for p, a in zip(predicted, actual, strict=True) if p > cut]
    tied = [a for p, a in zip(predicted, actual, strict=True) if p == cut]
    taken = sum(above) + (k - len(above)) / len(tied) * sum(tied)
    return taken / total


def holdout_metrics(
    *,
    predicted_spend: Mapping[int, float],
    no_purchase_score: Mapping[int, float],
    actual_spend: Mapping[int, float],
    bought: Set[int],
) -> dict[str, Any]:
    """Per-customer figures over every customer of ``actual_spend``; ``bought``: those with a purchase in the holdout.
    A customer a model did not score counts as a prediction of 0 spend and the median score, and is counted in
    ``customers_not_scored``."""
    import numpy as np
    from scipy.stats import spearmanr
    from sklearn.metrics import roc_auc_score

    ids = sorted(actual_spend)
    actual = np.array([actual_spend[i] for i in ids], dtype=float)
    missing = [i for i in ids if i not in predicted_spend or i not in no_purchase_score]
    fallback = float(np.median(list(no_purchase_score.values()))) if no_purchase_score else 0.5
    predicted = np.array([predicted_spend.get(i, 0.0) for i in ids], dtype=float)
    score = np.array([no_purchase_score.get(i, fallback) for i in ids], dtype=float)
    no_purchase = np.array([i not in bought for i in ids], dtype=int)
    rho = spearmanr(predicted, actual).statistic
    return {
        "customers": len(ids),
        "customers_not_scored": len(missing),
        "spend_mae": round(float(np.mean(np.abs(predicted - actual))), 4),
        "spend_spearman": round(float(rho), 4),
        "top_decile_capture": round(top_share_capture(predicted.tolist(), actual.tolist()), 4),
        "no_purchase_auc": round(float(roc_auc_score(no_purchase, score)), 4),
        "predicted_total": round(float(predicted.sum()), 2),
        "actual_total": round(float(actual.sum()), 2),
    }


def comparison(ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict[str, Any]:
    """By how much ours beats theirs on each figure (positive: ours is better)."""
    mae_ours, mae_theirs = ours["spend_mae"], theirs["spend_mae"]
    return {
        "spend_mae_lower_by": round(mae_theirs - mae_ours, 4),
        "spend_mae_lower_by_pct": round(100 * (mae_theirs - mae_ours) / mae_theirs, 2) if mae_theirs else math.nan,
        "spend_spearman_higher_by": round(ours["spend_spearman"] - theirs["spend_spearman"], 4),
        "top_decile_capture_higher_by_points": round(
            100 * (ours["top_decile_capture"] - theirs["top_decile_capture"]), 2
        ),
        "no_purchase_auc_higher_by": round(ours["no_purchase_auc"] - theirs["no_purchase_auc"], 4),
    }


# --- the data -----------------------------------------------------------------------------------------------------


def read_actions(path: Path, tz: zoneinfo.ZoneInfo) -> list[tuple[int, dt.date, float]]:
    """(customer, business day, dollars) of every line of an ``import_actions`` JSON Lines file of purchases."""
    out = []
    with path.open() as fh:
        for line in fh:
            item = json.loads(line)
            day = dt.datetime.fromisoformat(item["action_timestamp"]).astimezone(tz).date()
            out.append((int(item["user_id"]), day, float(item["metadata"]["amount_paid"])))
    return out


def actual_holdout(actions: list[tuple[int, dt.date, float]]) -> tuple[dict[int, float], set[int]]:
    """Every customer's spend from ``AS_OF`` for ``HORIZON_DAYS`` (0 for those who bought nothing), and the customers
    with a purchase line in it (the file's $0.00 lines all fall in the calibration period)."""
    end = AS_OF + dt.timedelta(days=HORIZON_DAYS)
    spend = dict.fromkeys({c for c, _, _ in actions}, 0.0)
    bought = set()
    for customer, day, dollars in actions:
        if AS_OF <= day < end:
            spend[customer] += dollars
            bought.add(customer)
    return spend, bought


def naive(actions: list[tuple[int, dt.date, float]]) -> tuple[dict[int, float], dict[int, float]]:
    """The last ``HORIZON_DAYS`` of the calibration period's spend, repeated; days since the last purchase."""
    start = AS_OF - dt.timedelta(days=HORIZON_DAYS)
    spend: dict[int, float] = {}
    last: dict[int, dt.date] = {}
    for customer, day, dollars in actions:
        if day >= AS_OF:
            continue
        spend[customer] = spend.get(customer, 0.0) + (dollars if day >= start else 0.0)
        last[customer] = max(last.get(customer, day), day)
    return spend, {c: float((AS_OF - d).days) for c, d in last.items()}


def read_bgnbd(path: Path) -> tuple[dict[int, float], dict[int, float]]:
    spend, none = {}, {}
    with path.open() as fh:
        for row in csv.DictReader(fh):
            spend[int(row["user_id"])] = float(row["predicted_spend"])
            none[int(row["user_id"])] = float(row["p_no_purchase"])
    return spend, none


def read_ours(path: Path) -> tuple[dict[int, float], dict[int, float]]:
    spend, churn = {}, {}
    with path.open() as fh:
        for row in csv.DictReader(fh):
            spend[int(row["user_id"])] = float(row["ltv"])
            churn[int(row["user_id"])] = float(row["churn_probability"])
    return spend, churn


# --- the runs -----------------------------------------------------------------------------------------------------


def ensure_venv() -> None:
    """``var/cdnow-venv`` with lifetimes, made when it is missing or cannot import lifetimes."""
    python = VENV / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import lifetimes"], capture_output=True).returncode == 0:
        log(f"reusing {VENV.relative_to(ROOT)}")
        return
    log(f"making {VENV.relative_to(ROOT)} with {' '.join(LIFETIMES_PACKAGES)}")
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *LIFETIMES_PACKAGES], check=True
    )


def run_lifetimes(timezone: str) -> dict[str, Any]:
    proc = subprocess.run(
        [
            VENV / "bin" / "python",
            ROOT / "bench" / "cdnow_lifetimes.py",
            "--out",
            str(WORK),
            "--timezone",
            timezone,
            "--calibration-end",
            CALIBRATION_END.isoformat(),
            "--horizon-days",
            str(HORIZON_DAYS),
            "--tokens-per-dollar",
            str(TOKENS_PER_DOLLAR),
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit("bench/cdnow_lifetimes.py failed")
    info: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return info


def last_json_line(output: str) -> Any:
    """The last line of a command's output that is a JSON object, or None."""
    for line in reversed(output.strip().splitlines()):
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                continue
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep-db", action="store_true", help="Leave the bench database as the run left it.")
    parser.add_argument(
        "--import-all", action="store_true", help="Import the holdout's lines too (the as-of date must keep them out)."
    )
    parser.add_argument(
        "--no-lock",
        action="store_true",
        help="Do not wait for the machine-wide bench lock (only with a database and Redis DB of this run's own).",
    )
    args = parser.parse_args()
    load_at_start = load_average()
    timings: dict[str, float] = {}

    def timed(name: str, started: float) -> None:
        timings[name] = round(time.monotonic() - started, 2)
        log(f"{name}: {timings[name]} s")

    env = BenchEnv()
    timezone = env.env.get("BUSINESS_TIMEZONE", "Asia/Seoul")
    tz = zoneinfo.ZoneInfo(timezone)

    started = time.monotonic()
    ensure_venv()
    info = run_lifetimes(timezone)
    timed("lifetimes_seconds", started)
    everything = read_actions(WORK / "actions_all.jsonl", tz)
    actual, bought = actual_holdout(everything)
    imported = WORK / ("actions_all.jsonl" if args.import_all else "actions_calibration.jsonl")

    if not args.no_lock:
        env.lock()
    env.recreate_database()
    env.migrate()
    env.flush_redis()
    as_of = AS_OF.isoformat()
    horizon = str(HORIZON_DAYS)
    started = time.monotonic()
    log(env.manage("import_actions", str(imported), timeout=1800).strip().splitlines()[-1])
    timed("import_seconds", started)
    started = time.monotonic()
    trained = last_json_line(
        env.manage(
            "train_models",
            "--as-of",
            as_of,
            "--churn-horizon-days",
            horizon,
            "--ltv-horizon-days",
            horizon,
            timeout=3600,
        )
    )
    timed("train_seconds", started)
    started = time.monotonic()
    scored = last_json_line(env.manage("score_players", "--as-of", as_of, timeout=1800))
    timed("score_seconds", started)
    exported = WORK / "ours.csv"
    env.manage("export_predictions", "--as-of", as_of, "--out", str(exported))
    with env.connect() as conn:
        checks = {
            "players": conn.execute("SELECT count(*) FROM players").fetchone()[0],
            "purchase_rows": conn.execute("SELECT count(*) FROM token_ledger WHERE kind = 'PURCHASE'").fetchone()[0],
            "wallets_not_equal_to_their_ledger": conn.execute(
                "SELECT count(*) FROM wallets w LEFT JOIN (SELECT player_id, sum(amount) AS s, max(id) AS last "
                "FROM token_ledger GROUP BY player_id) l ON l.player_id = w.player_id "
                "WHERE w.balance <> coalesce(l.s, 0) OR w.last_entry_id <> coalesce(l.last, 0)"
            ).fetchone()[0],
        }
    if not args.keep_db:
        env.drop_database()
        env.flush_redis()

    ours_spend, ours_churn = read_ours(exported)
    theirs_spend, theirs_none = read_bgnbd(WORK / "bgnbd.csv")
    naive_spend, naive_recency = naive(everything)
    ours = holdout_metrics(predicted_spend=ours_spend, no_purchase_score=ours_churn, actual_spend=actual, bought=bought)
    theirs = holdout_metrics(
        predicted_spend=theirs_spend, no_purchase_score=theirs_none, actual_spend=actual, bought=bought
    )
    baseline = holdout_metrics(
        predicted_spend=naive_spend, no_purchase_score=naive_recency, actual_spend=actual, bought=bought
    )
    complete = ours["customers_not_scored"] == 0

    def beat(name: str, op: str) -> dict[str, Any]:
        return target(ours[name] if complete else math.nan, theirs[name], op)

    holdout_end = AS_OF + dt.timedelta(days=HORIZON_DAYS - 1)
    emit(
        "cdnow",
        {
            "data": "CDNOW sample, as shipped in lifetimes 0.11.3 (datasets/CDNOW_sample.txt)",
            "customers": info["file_customers"],
            "lines": info["lines"],
            "lines_sharing_a_customer_day": info["lines_sharing_a_customer_day"],
            "zero_dollar_lines": info["zero_dollar_lines"],
            "calibration": f"{info['first_date']}..{CALIBRATION_END.isoformat()}",
            "calibration_lines": info["calibration_lines"],
            "holdout": f"{AS_OF.isoformat()}..{holdout_end.isoformat()} (data ends {info['last_date']})",
            "horizon_days": HORIZON_DAYS,
            "imported": imported.name,
            "tokens_per_dollar": TOKENS_PER_DOLLAR,
            "business_timezone": timezone,
            "commands": [
                f"import_actions {imported.name}",
                f"train_models --as-of {as_of} --churn-horizon-days {horizon} --ltv-horizon-days {horizon}",
                f"score_players --as-of {as_of}",
                f"export_predictions --as-of {as_of} --out ours.csv",
            ],
            "lifetimes_venv": list(LIFETIMES_PACKAGES),
            "database": "postgresql",
        },
        {
            "load_average_at_start": load_at_start,
            "ours": ours,
            "bgnbd_gamma_gamma": theirs,
            "naive": baseline,
            # MAE rewards the median: most customers buy nothing in the holdout, so predicting 0 for all scores this
            "spend_mae_predicting_zero": round(sum(actual.values()) / len(actual), 4),
            "ours_vs_bgnbd_gamma_gamma": comparison(ours, theirs),
            "bgnbd_params": info["bgnbd"],
            "gamma_gamma_params": info["gamma_gamma"],
            "train_models": trained,
            "score_players": scored,
            "checks": checks,
            "timings": timings,
            "load_average_at_end": load_average(),
        },
        {
            "spend_mae_beats_bgnbd_gg": beat("spend_mae", "<="),
            "spend_spearman_beats_bgnbd_gg": beat("spend_spearman", ">="),
            "top_decile_capture_beats_bgnbd_gg": beat("top_decile_capture", ">="),
            "no_purchase_auc_beats_bgnbd_gg": beat("no_purchase_auc", ">="),
            "every_customer_scored": target(1.0 if complete else 0.0, 1.0, ">="),
            "wallets_equal_their_ledger": target(float(checks["wallets_not_equal_to_their_ledger"] == 0), 1.0, ">="),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
