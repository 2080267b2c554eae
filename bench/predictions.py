"""Churn and lifetime-value predictions (issue 17): features, training and scoring of everyone on PostgreSQL.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/predictions.py [--quick]
        [--players N] [--actions N] [--days N] [--churn-horizon-days N] [--ltv-horizon-days N]
        [--purchase-share X] [--rfm-every-days N] [--keep-db]

1. A dedicated database ``<dbname>_bench`` (dropped, recreated, migrated) and Redis DB 15 or ``BENCH_REDIS_DB``
   (flushed).
2. Data: ``bench/rfm.py``'s generator (N players; the log in time order, the player of each action drawn with a
   heavy tail, the highest ids stopping as time goes on: by the end 40% of the ids play no more; spends scaling with
   the player), its ``--actions`` spread over the ``--days`` (150) business days before D (today, business time), so
   that training finds as-of dates whose horizons (churn 7 days, LTV 90 days) end before D with history behind them;
   ``--purchase-share`` (1%) of the actions are cash purchases (PURCHASE_CYBER_TOKENS with ``amount_paid``, larger
   packs for the players who play most). Then the token ledger as the wallet's path would leave it: one GRANT per
   player before the log (1,000 tokens plus everything the player will spend, so no balance goes below zero) and a
   row per spend, earn and purchase action (``action_id`` set), ``balance_after`` the running sum. VACUUM ANALYZE.
   Then the nightly RFM batch (``bench/rfm.py``'s ``run_batch``, a full recompute, rewards not paid) as of every
   ``--rfm-every-days`` (14) days from the log's 30th day to D-1, so that ``user_segments`` and
   ``user_segment_history`` (the group as of a date, its changes) are what those nights would have left (each
   night's history rows dated 03:00 of its day, when that night's run would have written them).
   No quiz submissions or unlocks: those features are empty here (the features without any value are reported).
3. Measured, each phase in a fresh process of its own (the bench runs itself with ``--phase``), so that each
   phase's peak resident memory (``VmHWM``; it cannot be reset within a process) is its own:
   - ``train``: ``predictions.services.models_train(as_of=D, churn_horizon_days=..., ltv_horizon_days=...)``;
   - ``features``: ``predictions.features.features_compute(as_of=D)`` for everyone (information, when scoring
     computes the features itself);
   - ``score``: ``predictions.services.players_score(as_of=D)`` for everyone, with the model just trained.
     If ``players_score`` takes a computed frame (a ``features`` argument), the phase computes it first and the two
     times add up; else ``players_score`` computes the features itself and is timed alone.
   Each phase reports its seconds, its CPU seconds, its peak RSS and RSS before the work (Django and the libraries
   loaded). Meanwhile the bench samples the bench database's PostgreSQL backends every half second (their private
   memory, ``RssAnon``; information only) and counts their CPU. The phases inherit the environment: on a machine
   busy with other work, run with ``OMP_WAIT_POLICY=PASSIVE`` (recorded in the params), or LightGBM's and XGBoost's
   OpenMP threads spin while they wait for each other (docs/performance.md, "Predictions").
4. Checks: the features' rows = the rows scored into ``player_predictions`` for D = the players with any action
   before D; every probability in [0, 1], every LTV >= 0, one model version; the model saved with the horizons asked.

Targets: features + scoring <= 120 s, training <= 300 s, the largest phase's peak RSS <= 4 GiB; met only when the
checks hold. The last stdout line is the JSON result (design brief section 7). ``--quick`` (20,000 players,
600,000 actions) ends within about a minute or two. The bench database and Redis DB are emptied at the end
(``--keep-db`` keeps them). Exits 0 when the run completed, whether or not the targets were met.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import inspect
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    PYTHON,
    ROOT,
    BenchEnv,
    CpuMeter,
    finish,
    load_average,
    log,
    process_memory_kib,
    target,
    url_shown,
)
from bench.rfm import Plan, _setup_django, checkpoint, generate, run_batch
from core.timezones import business_day_start

TARGET_FEATURES_AND_SCORING_SECONDS = 120.0
TARGET_TRAINING_SECONDS = 300.0
TARGET_PEAK_RSS_GIB = 4.0
DAYS = 150
PURCHASE_SHARE = 0.01
GRANT_BASE = 1_000
PHASES = ("train", "features", "score")
KIB_PER_GIB = 1024 * 1024
NIGHTLY_RUN_AT = dt.timedelta(hours=3)  # the RFM batch as of D runs at D 03:00 (config/schedule.py)

# The ledger of the generated log: one GRANT per player the day before the log starts (GRANT_BASE plus all the
# player will spend), then one row per token-moving action, balance_after the running sum in the log's order.
_GRANTS_SQL = """
INSERT INTO token_ledger (player_id, idempotency_key, request_hash, kind, source, amount, balance_after, created_at,
    action_id, actor, reason, details)
SELECT p.id, 'bench-fund:' || p.id, 'bench', 'GRANT', 'reward', %(base)s + coalesce(s.spent, 0),
    %(base)s + coalesce(s.spent, 0), %(at)s, NULL, 'bench', 'bench funds', '{}'::jsonb
FROM players p LEFT JOIN (
    SELECT user_id, sum((metadata->>'spent_tokens')::bigint) AS spent FROM user_actions
    WHERE action_type = 'SPEND_CYBER_TOKENS' GROUP BY user_id
) s ON s.user_id = p.id
"""
_MOVES_SQL = """
INSERT INTO token_ledger (player_id, idempotency_key, request_hash, kind, source, amount, balance_after, created_at,
    action_id, actor, reason, details)
SELECT user_id, 'bench-action:' || id, 'bench', kind, source, amount,
    %(base)s + sum(greatest(-amount, 0)) OVER (PARTITION BY user_id)
        + sum(amount) OVER (PARTITION BY user_id ORDER BY action_timestamp, id),
    action_timestamp, id, 'bench', '', '{}'::jsonb
FROM (
    SELECT id, user_id, action_timestamp,
        CASE action_type WHEN 'SPEND_CYBER_TOKENS' THEN 'SPEND' WHEN 'EARN_CYBER_TOKENS' THEN 'EARN'
            ELSE 'PURCHASE' END AS kind,
        CASE action_type WHEN 'SPEND_CYBER_TOKENS' THEN 'in_app' WHEN 'EARN_CYBER_TOKENS' THEN metadata->>'source'
            ELSE 'cash' END AS source,
        CASE action_type WHEN 'SPEND_CYBER_TOKENS' THEN -(metadata->>'spent_tokens')::bigint
            WHEN 'EARN_CYBER_TOKENS' THEN (metadata->>'earned_tokens')::bigint
            ELSE (metadata->>'tokens')::bigint END AS amount
    FROM user_actions
    WHERE action_type IN ('SPEND_CYBER_TOKENS', 'EARN_CYBER_TOKENS', 'PURCHASE_CYBER_TOKENS')
) m
"""


def layout(*, players: int, actions: int, days: int, as_of: dt.date, purchase_share: float) -> Plan:
    """bench/rfm.py's plan for ``actions`` in time order over the ``days`` business days before D, all written at
    once (no first night, no late actions)."""
    start, end = business_day_start(as_of - dt.timedelta(days=days)), business_day_start(as_of)
    return Plan(
        first_start=start,
        step=(end - start) / actions,
        players=players,
        total=actions,
        split=actions,
        late=0,
        late_start=start,
        late_span=dt.timedelta(0),
        purchase_share=purchase_share,
    )


def generate_ledger(env: BenchEnv, plan: Plan) -> dict[str, Any]:
    """The token ledger of the log (the GRANTs, then a row per spend, earn and purchase), then ANALYZE."""
    t0 = time.monotonic()
    with env.connect(autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET work_mem = '256MB'")
        params = {"base": GRANT_BASE, "at": plan.first_start - dt.timedelta(days=1)}
        grants = conn.execute(_GRANTS_SQL, params).rowcount
        moves = conn.execute(_MOVES_SQL, params).rowcount
        conn.execute("VACUUM (ANALYZE) token_ledger")
        size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('token_ledger'))").fetchone()[0]
    seconds = time.monotonic() - t0
    log(f"ledger: {grants:,} grants and {moves:,} rows of token-moving actions in {seconds:.0f}s ({size})")
    return {"ledger_rows": grants + moves, "ledger_seconds": round(seconds, 1), "ledger_size": size}


def rfm_nights(env: BenchEnv, *, as_of: dt.date, days: int, every: int) -> dict[str, Any]:
    """The RFM batch as of every ``every`` days, from the log's 30th day (a full window behind it) to D-1, in
    order; each a full recompute (the log already holds the later days), its rises' rewards not paid."""
    if every <= 0:
        return {"rfm_nights": 0}
    t0 = time.monotonic()
    nights = []
    night = as_of - dt.timedelta(days=1)
    while night >= as_of - dt.timedelta(days=days - 30):
        nights.append(night)
        night -= dt.timedelta(days=every)
    for night in reversed(nights):
        with env.connect() as conn:
            before = conn.execute("SELECT coalesce(max(id), 0) FROM user_segment_history").fetchone()[0]
        run = run_batch(as_of=night, range_size=250_000, workers=1, pay_rewards=False, full=True)
        # The night's changes dated when that night's run would have written them (03:00 of its day), not now:
        # the features read the history by the time it was written.
        with env.connect() as conn:
            conn.execute(
                "UPDATE user_segment_history SET created_at = %s WHERE id > %s",
                [business_day_start(night) + NIGHTLY_RUN_AT, before],
            )
        log(f"  RFM as of {night}: {run['players']:,} players, {run['changes']:,} group changes")
    with env.connect(autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) user_segments")
        conn.execute("VACUUM (ANALYZE) user_segment_history")
        history = conn.execute("SELECT count(*) FROM user_segment_history").fetchone()[0]
    seconds = time.monotonic() - t0
    log(f"{len(nights)} RFM nights in {seconds:.0f}s; {history:,} rows of segment history")
    return {
        "rfm_nights": len(nights),
        "segment_history_rows": int(history),
        "rfm_nights_seconds": round(seconds, 1),
    }


def data_summary(env: BenchEnv, *, as_of: dt.date) -> dict[str, Any]:
    """What the models have to learn from, and the players any scoring must cover (any action before D)."""
    with env.connect() as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT user_id), min(action_timestamp), max(action_timestamp), "
            "count(*) FILTER (WHERE action_type = 'PURCHASE_CYBER_TOKENS'), "
            "count(DISTINCT user_id) FILTER (WHERE action_type = 'PURCHASE_CYBER_TOKENS'), "
            "coalesce(sum((metadata->>'amount_paid')::numeric) FILTER "
            "(WHERE action_type = 'PURCHASE_CYBER_TOKENS'), 0) "
            "FROM user_actions WHERE action_timestamp < %s",
            [business_day_start(as_of)],
        ).fetchone()
        last_week = conn.execute(
            "SELECT count(DISTINCT user_id) FROM user_actions WHERE action_timestamp >= %s AND action_timestamp < %s",
            [business_day_start(as_of - dt.timedelta(days=7)), business_day_start(as_of)],
        ).fetchone()[0]
        size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('user_actions'))").fetchone()[0]
    actions, players, first, last, purchases, purchasers, paid = row
    return {
        "actions_before_as_of": int(actions),
        "players_with_history": int(players),
        "players_active_last_7_days": int(last_week),
        "first_action_at": first.isoformat() if first else None,
        "last_action_at": last.isoformat() if last else None,
        "purchases": int(purchases),
        "purchasers": int(purchasers),
        "amount_paid_total": float(paid),
        "user_actions_size": size,
    }


# --- a phase, in a process of its own ------------------------------------------------------------------------------


def _memory_kib() -> dict[str, int]:
    """This process's VmRSS and VmHWM (its peak resident memory so far), in KiB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                out[name] = int(value.split()[0])
    return out


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _jsonable(value: Any) -> Any:
    """A phase's result (a dataclass, usually) as JSON: numbers and strings kept, arrays and models by their size
    or name."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value] if len(value) <= 50 else f"<{len(value)} items>"
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if getattr(value, "shape", ()) != ():  # a numpy array
        return f"<array {tuple(value.shape)}>"
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def _implementation() -> tuple[Any, Any, Any]:
    """issue 17's functions, or a clear exit when they are not there yet."""
    try:
        from predictions.features import features_compute
        from predictions.services import models_train, players_score
    except ImportError as exc:
        raise SystemExit(
            "bench/predictions.py times predictions.features.features_compute and predictions.services.models_train "
            f"/ players_score (issue 17), which this tree does not have yet: {exc}"
        ) from exc
    return features_compute, models_train, players_score


def _with_progress(function: Any, **kwargs: Any) -> Any:
    """Call ``function`` with ``progress=True`` too when it takes it (its bar goes to stderr)."""
    if "progress" in inspect.signature(function).parameters:
        kwargs["progress"] = True
    return function(**kwargs)


def score_takes_features(players_score: Any) -> bool:
    return "features" in inspect.signature(players_score).parameters


def frame_summary(frame: Any) -> dict[str, Any]:
    """The features' size, and the features with no value for anyone (nothing in the bench's data feeds them)."""
    import numpy as np

    values = frame.values
    empty = [name for name, column in zip(frame.names, values.T, strict=True) if bool(np.isnan(column).all())]
    return {
        "rows": len(frame.user_ids),
        "features": len(frame.names),
        "bytes": int(values.nbytes + frame.user_ids.nbytes),
        "features_without_values": empty,
    }


def run_phase(phase: str, *, as_of: dt.date, churn_horizon_days: int, ltv_horizon_days: int) -> dict[str, Any]:
    """One phase in this (fresh) process: Django set up from the environment the bench gave it, the work timed, its
    CPU and the process's peak RSS."""
    import django

    django.setup()
    features_compute, models_train, players_score = _implementation()
    before = _memory_kib()
    cpu0 = _cpu_seconds()
    out: dict[str, Any] = {"phase": phase}
    t0 = time.monotonic()
    if phase == "train":
        result = _with_progress(
            models_train, as_of=as_of, churn_horizon_days=churn_horizon_days, ltv_horizon_days=ltv_horizon_days
        )
        out["seconds"] = time.monotonic() - t0
        out["result"] = _jsonable(result)
    elif phase == "features":
        frame = _with_progress(features_compute, as_of=as_of)
        out["seconds"] = time.monotonic() - t0
        out["frame"] = frame_summary(frame)
    elif phase == "score":
        if score_takes_features(players_score):
            frame = _with_progress(features_compute, as_of=as_of)
            out["features_seconds"] = time.monotonic() - t0
            out["frame"] = frame_summary(frame)
            result = _with_progress(players_score, as_of=as_of, features=frame)
        else:
            result = _with_progress(players_score, as_of=as_of)
        out["seconds"] = time.monotonic() - t0
        out["result"] = _jsonable(result)
    else:
        raise SystemExit(f"unknown phase {phase!r}")
    after = _memory_kib()
    out.update(
        cpu_seconds=round(_cpu_seconds() - cpu0, 2),
        rss_before_kib=before["VmRSS"],
        peak_rss_kib=after["VmHWM"],
        ru_maxrss_kib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    )
    return out


class BackendMemory:
    """The bench database's PostgreSQL processes' memory, sampled every half second while a phase runs: the
    largest sum of their private memory (``RssAnon``: sorts, hashes, tuples in flight) and the largest single
    process' resident memory (``VmRSS``, shared buffers touched included)."""

    def __init__(self, env: BenchEnv) -> None:
        self.env = env
        self.max_private_kib = 0
        self.max_process_rss_kib = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._done.wait(0.5):
            private = 0
            for pid in self.env.postgres_pids_now():
                memory = process_memory_kib(pid)
                if memory:
                    private += memory.get("RssAnon", 0)
                    self.max_process_rss_kib = max(self.max_process_rss_kib, memory["VmRSS"])
            self.max_private_kib = max(self.max_private_kib, private)

    def __enter__(self) -> BackendMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def phase_in_child(env: BenchEnv, phase: str, *, as_of: dt.date, churn: int, ltv: int) -> dict[str, Any]:
    """Run ``phase`` in a fresh process (this script with ``--phase``) on the bench database; its JSON line, with
    the PostgreSQL processes' CPU and memory meanwhile."""
    checkpoint(env)
    args = [
        PYTHON,
        str(Path(__file__).resolve()),
        "--phase",
        phase,
        "--as-of",
        as_of.isoformat(),
        "--churn-horizon-days",
        str(churn),
        "--ltv-horizon-days",
        str(ltv),
    ]
    meter = CpuMeter({"postgres": env.postgres_pids_now})
    log(f"phase {phase}: in a process of its own")
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.monotonic()
    meter.start()
    with BackendMemory(env) as backends:
        proc = subprocess.run(args, cwd=ROOT, env=env.env, stdout=subprocess.PIPE, text=True, check=False)
    cpu = meter.stop()
    wall = time.monotonic() - wall
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} failed with exit code {proc.returncode}")
    lines = proc.stdout.strip().splitlines()
    out: dict[str, Any] = json.loads(lines[-1])
    # The phase's process counts apart from "other" (its start-up included: Python, Django, the libraries).
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    process_cpu = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    cpu["phase_process_cores"] = round(process_cpu / wall, 3)
    cpu["other_cores"] = round(cpu["other_cores"] - process_cpu / wall, 3)
    out["postgres_cpu_seconds"] = round(meter.cpu_seconds.get("postgres", 0.0), 2)
    out["machine"] = cpu
    out["postgres_private_kib_max"] = backends.max_private_kib
    out["postgres_process_rss_kib_max"] = backends.max_process_rss_kib
    log(
        f"  {phase}: {out['seconds']:.2f}s, {out['cpu_seconds']:.1f} CPU s in the process and "
        f"{out['postgres_cpu_seconds']:.1f} in PostgreSQL; peak RSS {out['peak_rss_kib'] / 1024:,.0f} MiB "
        f"({out['rss_before_kib'] / 1024:,.0f} MiB before the work); PostgreSQL private memory at most "
        f"{backends.max_private_kib / 1024:,.0f} MiB; {cpu}"
    )
    return out


# --- checks ------------------------------------------------------------------------------------------------------


def check_scores(env: BenchEnv, *, as_of: dt.date) -> dict[str, Any]:
    with env.connect() as conn:
        rows, models, low, high, negative, out_of_range = conn.execute(
            "SELECT count(*), count(DISTINCT model_id), min(churn_probability), max(churn_probability), "
            "count(*) FILTER (WHERE ltv < 0), "
            "count(*) FILTER (WHERE churn_probability < 0 OR churn_probability > 1 OR churn_probability = 'NaN' "
            "OR ltv = 'NaN') FROM player_predictions WHERE as_of = %s",
            [as_of],
        ).fetchone()
        ltv_sum, ltv_max, with_churn_reasons, with_ltv_reasons = conn.execute(
            "SELECT sum(ltv), max(ltv), count(*) FILTER (WHERE jsonb_array_length(churn_reasons) > 0), "
            "count(*) FILTER (WHERE jsonb_array_length(ltv_reasons) > 0) FROM player_predictions WHERE as_of = %s",
            [as_of],
        ).fetchone()
    return {
        "rows": int(rows),
        "model_versions": int(models),
        "churn_probability_min": low,
        "churn_probability_max": high,
        "out_of_range": int(out_of_range) + int(negative),
        "ltv_sum": float(ltv_sum or 0),
        "ltv_max": float(ltv_max or 0),
        "rows_with_churn_reasons": int(with_churn_reasons),
        "rows_with_ltv_reasons": int(with_ltv_reasons),
    }


def saved_model(env: BenchEnv) -> dict[str, Any] | None:
    """The newest saved model: its version, horizons and validation figures (without the calibration bins)."""
    with env.connect() as conn:
        row = conn.execute(
            "SELECT version, churn_horizon_days, ltv_horizon_days, validation, "
            "jsonb_array_length(feature_names) FROM prediction_models ORDER BY trained_at DESC LIMIT 1"
        ).fetchone()
    if row is None:
        return None
    version, churn, ltv, validation, features = row

    def trimmed(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: trimmed(v) for k, v in value.items() if k != "calibration"}
        return value

    return {
        "version": version,
        "churn_horizon_days": churn,
        "ltv_horizon_days": ltv,
        "features": features,
        "validation": trimmed(validation),
    }


# --- main --------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run (20,000 players, 600,000 actions)")
    parser.add_argument("--players", type=int, help="players (default 1,000,000; quick 20,000)")
    parser.add_argument("--actions", type=int, help="actions in the log (default 30,000,000; quick 600,000)")
    parser.add_argument("--days", type=int, default=DAYS, help=f"business days the log covers before D ({DAYS})")
    parser.add_argument("--churn-horizon-days", type=int, default=7, help="churn: no app activity in N days (7)")
    parser.add_argument("--ltv-horizon-days", type=int, default=90, help="LTV: cash spend in the next N days (90)")
    parser.add_argument(
        "--purchase-share",
        type=float,
        default=PURCHASE_SHARE,
        help=f"cash purchases among the actions ({PURCHASE_SHARE})",
    )
    parser.add_argument(
        "--rfm-every-days", type=int, default=14, help="the RFM batch as of every N days of the log (14; 0: none)"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database and Redis DB afterwards")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)  # internal: one phase in this process
    parser.add_argument("--as-of", type=dt.date.fromisoformat, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.phase:
        out = run_phase(
            args.phase,
            as_of=args.as_of,
            churn_horizon_days=args.churn_horizon_days,
            ltv_horizon_days=args.ltv_horizon_days,
        )
        sys.stderr.flush()
        print(json.dumps(out), flush=True)
        return 0

    players = args.players or (20_000 if args.quick else 1_000_000)
    actions = args.actions or (600_000 if args.quick else 30_000_000)
    churn, ltv = args.churn_horizon_days, args.ltv_horizon_days

    env = BenchEnv()
    log(f"bench database {env.dbname}, redis {url_shown(env.redis_url)}")
    env.prepare()
    _setup_django(env)
    _, _, players_score = _implementation()  # before generating: fail at once without them
    from segments.services import business_today

    as_of = business_today()
    params = {
        "quick": args.quick,
        "players": players,
        "actions": actions,
        "days": args.days,
        "as_of": as_of.isoformat(),
        "churn_horizon_days": churn,
        "ltv_horizon_days": ltv,
        "purchase_share": args.purchase_share,
        "rfm_every_days": args.rfm_every_days,
        "cores": os.cpu_count(),
        # LightGBM's and XGBoost's OpenMP threads spin while they wait unless told otherwise: on a machine that
        # is busy with other work that costs several times the CPU (the phases inherit this environment)
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
    }
    load_at_start = load_average()
    plan = layout(players=players, actions=actions, days=args.days, as_of=as_of, purchase_share=args.purchase_share)
    data = generate(env, plan)
    data.update(generate_ledger(env, plan))
    data.update(rfm_nights(env, as_of=as_of, days=args.days, every=args.rfm_every_days))
    data.update(data_summary(env, as_of=as_of))
    expected = data["players_with_history"]
    log(
        f"data: {data['actions_before_as_of']:,} actions from {data['first_action_at']} to {data['last_action_at']} "
        f"({data['user_actions_size']}), {expected:,} players with history, {data['players_active_last_7_days']:,} "
        f"active in the last 7 days, {data['purchases']:,} purchases by {data['purchasers']:,} players"
    )
    from django.db import connections

    connections.close_all()

    train = phase_in_child(env, "train", as_of=as_of, churn=churn, ltv=ltv)
    model = saved_model(env)
    log(f"  model: {json.dumps(model)[:1500]}")
    features = phase_in_child(env, "features", as_of=as_of, churn=churn, ltv=ltv)
    score = phase_in_child(env, "score", as_of=as_of, churn=churn, ltv=ltv)
    scores = check_scores(env, as_of=as_of)
    log(f"  scores: {scores}")

    takes_features = score_takes_features(players_score)
    # Features + scoring: players_score alone when it computes the features itself (then features_compute's own
    # phase is information), else the score phase's features_compute plus its players_score.
    features_and_scoring = score["seconds"]
    checks = {
        "features_rows_equal_players_with_history": features["frame"]["rows"] == expected,
        "scored_rows_equal_players_with_history": scores["rows"] == expected,
        "one_model_version": scores["model_versions"] == 1,
        "scores_in_range": scores["out_of_range"] == 0,
        "model_saved_with_the_horizons": model is not None
        and (model["churn_horizon_days"], model["ltv_horizon_days"]) == (churn, ltv),
    }
    complete = all(checks.values()) and expected > 0
    peak_kib = max(phase["peak_rss_kib"] for phase in (train, features, score))
    peak_gib = peak_kib / KIB_PER_GIB
    results = {
        "features_and_scoring_seconds": round(features_and_scoring, 2),
        "scoring_computes_features": not takes_features,
        "score_phase_features_seconds": round(score.get("features_seconds", 0.0), 2) if takes_features else None,
        "features_seconds": round(features["seconds"], 2),
        "training_seconds": round(train["seconds"], 2),
        "peak_rss_gib": round(peak_gib, 3),
        "phases": {
            name: {
                "seconds": round(phase["seconds"], 2),
                "cpu_seconds": phase["cpu_seconds"],
                "postgres_cpu_seconds": phase["postgres_cpu_seconds"],
                "peak_rss_mib": round(phase["peak_rss_kib"] / 1024, 1),
                "rss_before_work_mib": round(phase["rss_before_kib"] / 1024, 1),
                "ru_maxrss_mib": round(phase["ru_maxrss_kib"] / 1024, 1),
                "postgres_private_mib_max": round(phase["postgres_private_kib_max"] / 1024, 1),
                "postgres_process_rss_mib_max": round(phase["postgres_process_rss_kib_max"] / 1024, 1),
                "machine": phase["machine"],
            }
            for name, phase in (("train", train), ("features", features), ("score", score))
        },
        "players_scored": scores["rows"],
        "players_with_history": expected,
        "features_frame": features["frame"],
        "scores": scores,
        "training_result": train.get("result"),
        "scoring_result": score.get("result"),
        "model": model,
        "checks": checks,
        "complete": complete,
        "load_average_at_start": load_at_start,
        "load_average_at_end": load_average(),
        **data,
    }
    if not complete:
        log(f"the run is incomplete or inconsistent ({checks}): targets are reported as not met")
    targets = {
        "features_and_scoring_seconds": target(
            round(features_and_scoring, 2), TARGET_FEATURES_AND_SCORING_SECONDS, "<="
        ),
        "training_seconds": target(round(train["seconds"], 2), TARGET_TRAINING_SECONDS, "<="),
        "peak_rss_gib": target(round(peak_gib, 3), TARGET_PEAK_RSS_GIB, "<="),
    }
    finish(
        env,
        bench="predictions",
        params=params,
        results=results,
        targets=targets,
        complete=complete,
        keep_db=args.keep_db,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
