"""The adaptive loop (issue 18) on PostgreSQL: the nightly "recalculate recommendation weights" job at full size, and
the loop simulated through its real code.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/adaptive.py [--phase nightly|simulate]
        [--quick] [--players N] [--impressions N] [--days N] [--seeds N] [--visit-share X] [--keep-db]

Phases (``--phase``): ``nightly`` (the default, below) and ``simulate``: the bandit, the attribution and the nightly
job over simulated days and seeds against players with hidden conversion probabilities
(``bench/adaptive_simulation.py``, whose docstring says how; ``--players`` default 10,000, ``--days`` 30, ``--seeds``
10, ``--quick`` 500 players, 10 days, 2 seeds).

``nightly``:
1. A dedicated database ``<dbname>_bench`` (dropped, recreated, migrated) and Redis DB 15 or ``BENCH_REDIS_DB``
   (flushed).
2. Data, written in SQL: N players (``bench/rfm.py``'s), M impressions (``recommendation_impressions``, as the serve
   path's buffer writes them) over the ``--days`` (21) days ending three days before now (so every conversion window
   has closed, and every impression is inside the 28-day learning window), eight proposal types in turn, each player
   about M / N of them, three variants of each message, the RFM group and locale of the player, 5% of the players in
   the holdout, 2% not learning, a tenth clicked a minute after the serve. Then the actions, in time order: for every
   fifth impression the action that converts it (a round of its game, a Company A visit, the unlock of its stage, a
   profile-quiz answer) up to ten hours after it; as many rounds of a game no proposal names (RPSGame: read, never a
   conversion); as many SESSION_START (never read). Two active variants per proposal message. Indexes built after
   the load, then VACUUM ANALYZE.
3. Measured, each run with its wall time and the CPU of this process and of PostgreSQL:
   - the backfill night: ``recommendations.weights.weights_recalculate`` once over all of it (every action of the
     three weeks new, every day restated: what the first night after switching the loop on, or after an outage,
     does);
   - a quiet night the next night, nothing new (attribution reads nothing, the last longest-window of days restated);
   - a daily night: the loop's tables emptied, a night a day before the last serve (untimed: it attributes every
     action stamped up to then), then the next night, as of the last serve (timed): one day of actions new on top of
     the M impressions, the days they can change restated, the posteriors from the whole learning window. This is what
     the job does every night at this size.
4. Checks: the conversions = the converting actions written (each converts exactly one impression); the daily
   figures' impressions = M; the posteriors' impressions = the shown, learning impressions; the quiet night adds no
   conversion; after the daily night, the conversions = the converting actions stamped up to its cutoff.

Targets, met only when the checks hold: the daily night <= 60 s on 2 cores (the issue's "nightly job for 1,000,000
players and 10,000,000 impressions"), and the backfill night <= 60 s as well (the harshest reading of it: a night
that finds three weeks of actions at once). The last stdout line is the JSON result
(design brief section 7). ``--quick`` (20,000 players, 200,000 impressions) ends within a minute. The bench database
and Redis DB are emptied at the end (``--keep-db`` keeps them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BenchEnv, CpuMeter, finish, load_average, log, target, url_shown
from core.migration_operations import brin_index_sql

TARGET_NIGHTLY_SECONDS = 60.0
DAYS = 21
PHASES = ("nightly", "simulate")
CONVERTING_EVERY = 5  # every fifth impression is converted

Execute = Callable[[str, dict[str, Any]], Any]
T = TypeVar("T")


@dataclass(frozen=True)
class Plan:
    players: int
    impressions: int
    start: dt.datetime  # the first serve
    step: dt.timedelta  # between two serves

    @property
    def converting(self) -> int:
        return self.impressions // CONVERTING_EVERY


def layout(*, players: int, impressions: int, days: int, now: dt.datetime) -> Plan:
    """The serves spread evenly over ``days`` days ending three days before ``now``."""
    end = now - dt.timedelta(days=3)
    start = end - dt.timedelta(days=days)
    return Plan(players, impressions, start, (end - start) / max(impressions, 1))


_PLAYERS_SQL = """
INSERT INTO players (id, signup_at, locale, timezone, age_verified)
SELECT g, %(signup)s::timestamptz, CASE WHEN g %% 10 = 0 THEN 'en' ELSE 'ko' END, 'Asia/Seoul', true
FROM generate_series(1, %(players)s::bigint) AS g
"""
# Serve g (1..M): its player, time and proposal type (k: one of eight, in turn).
_SERVES = """
SELECT g, 1 + (g * 7919) %% %(players)s AS u, %(start)s::timestamptz + (g - 1) * %(step)s::interval AS ts, t.*
FROM generate_series(1, %(impressions)s::bigint) AS g
JOIN (VALUES (0, 'MID_STAKE', 'SlotMachine'), (1, 'HIGH_STAKE', 'Roulette'), (2, 'SAFE_PLAY', 'SlotMachine'),
             (3, 'RISKY_PLAY', 'Roulette'), (4, 'CORPORATE_ENGAGE', ''), (5, 'EARN_MORE', ''), (6, 'CONTENT_STAGE', ''),
             (7, 'QUIZ_MISSION', '')) AS t(k, proposal_type, game) ON t.k = g %% 8
"""
_IMPRESSIONS_SQL = f"""
INSERT INTO recommendation_impressions (proposal_id, user_id, proposal_type, rule, position, game, action, reason,
    served_at, clicked_at, message_key, variant, rfm_group, locale, holdout, learning)
SELECT md5('imp' || g)::uuid, u, proposal_type, 'bench', 0, game, '',
    CASE WHEN proposal_type = 'CONTENT_STAGE' THEN jsonb_build_object('rule', 'bench', 'content_id', 1 + g %% 5)
         ELSE '{{"rule": "bench"}}'::jsonb END,
    ts, CASE WHEN g %% 10 = 3 THEN ts + interval '1 minute' END, proposal_type,
    (ARRAY['', 'short-a', 'short-b'])[1 + (g / 8) %% 3], (ARRAY['Whale', 'High Engaged', 'Medium', 'Low'])[1 + u %% 4],
    CASE WHEN u %% 10 = 0 THEN 'en' ELSE 'ko' END, u %% 20 = 0, u %% 50 <> 1
FROM ({_SERVES}) s
"""
_ACTIONS_SQL = f"""
INSERT INTO user_actions (event_id, user_id, action_type, metadata, action_timestamp)
SELECT event_id, u, action_type, metadata, at FROM (
    SELECT 'conv-' || g AS event_id, u,
        CASE WHEN k < 4 THEN 'GAME_PLAY' WHEN k < 6 THEN 'CORPORATE_VISIT' WHEN k = 6 THEN 'UNLOCK_CONTENT'
             ELSE 'QUIZ_ANSWER' END AS action_type,
        CASE WHEN k < 4 THEN jsonb_build_object('game', game, 'bet', 10, 'payout', 0, 'result', 'loss')
             WHEN k < 6 THEN '{{"dwell_seconds": 60, "actions": 1}}'::jsonb
             WHEN k = 6 THEN jsonb_build_object('content_id', 1 + g %% 5, 'stage', 1 + g %% 5, 'spent_tokens', 100)
             ELSE jsonb_build_object('question', 'q1', 'answer', 3, 'version', 1, 'submission_id', g) END AS metadata,
        ts + (g %% 600) * interval '1 minute' AS at
    FROM ({_SERVES}) s WHERE g %% {CONVERTING_EVERY} = 0
    UNION ALL
    SELECT 'rps-' || g, u, 'GAME_PLAY', '{{"game": "RPSGame", "bet": 10, "payout": 0, "result": "win"}}'::jsonb,
        ts + (g %% 300) * interval '1 minute'
    FROM ({_SERVES}) s WHERE g %% {CONVERTING_EVERY} = 1
    UNION ALL
    SELECT 'session-' || g, u, 'SESSION_START', '{{}}'::jsonb, ts - interval '1 minute'
    FROM ({_SERVES}) s WHERE g %% {CONVERTING_EVERY} = 2
) a ORDER BY at
"""
_VARIANTS_SQL = """
INSERT INTO message_variants (key, locale, name, text, state, created_at, updated_at)
SELECT m, l, v, 'bench text', 'active', now(), now()
FROM unnest(ARRAY['MID_STAKE', 'HIGH_STAKE', 'SAFE_PLAY', 'RISKY_PLAY', 'CORPORATE_ENGAGE', 'EARN_MORE',
                  'CONTENT_STAGE', 'QUIZ_MISSION']) AS m
CROSS JOIN unnest(ARRAY['ko', 'en']) AS l CROSS JOIN unnest(ARRAY['short-a', 'short-b']) AS v
"""


def params_of(plan: Plan) -> dict[str, Any]:
    return {
        "players": plan.players,
        "impressions": plan.impressions,
        "start": plan.start,
        "step": plan.step,
        "signup": plan.start - dt.timedelta(days=90),
    }


def generate(execute: Execute, plan: Plan) -> None:
    """Players, impressions, actions and variants (see the module docstring), through ``execute(sql, params)``."""
    p = params_of(plan)
    execute(_PLAYERS_SQL, p)
    execute(_IMPRESSIONS_SQL, p)
    execute(_ACTIONS_SQL, p)
    execute(_VARIANTS_SQL, p)


def generate_indexed(env: BenchEnv, plan: Plan) -> dict[str, Any]:
    """``generate`` without the two big tables' secondary indexes, built after the load as a restore builds them."""
    t0 = time.monotonic()
    with env.connect(autocommit=True) as conn:
        conn.execute("DROP INDEX IF EXISTS user_actions_user_ts")
        conn.execute("DROP INDEX IF EXISTS user_actions_ts_brin")
        conn.execute("DROP INDEX IF EXISTS rec_impressions_user_ts")
        conn.execute("DROP INDEX IF EXISTS rec_impressions_served_brin")
        generate(lambda sql, p: conn.execute(sql, p), plan)
        log(f"data written in {time.monotonic() - t0:.0f}s; building indexes")
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("CREATE INDEX user_actions_user_ts ON user_actions (user_id, action_timestamp)")
        conn.execute(brin_index_sql(table="user_actions", column="action_timestamp", name="user_actions_ts_brin"))
        conn.execute("CREATE INDEX rec_impressions_user_ts ON recommendation_impressions (user_id, served_at)")
        conn.execute(
            brin_index_sql(table="recommendation_impressions", column="served_at", name="rec_impressions_served_brin")
        )
        for table in ("user_actions", "recommendation_impressions", "players", "message_variants"):
            conn.execute(f"VACUUM (ANALYZE) {table}")
        sizes = conn.execute(
            "SELECT pg_size_pretty(pg_total_relation_size('user_actions')), "
            "pg_size_pretty(pg_total_relation_size('recommendation_impressions')), (SELECT count(*) FROM user_actions)"
        ).fetchone()
    return {
        "generate_seconds": round(time.monotonic() - t0, 1),
        "user_actions_size": sizes[0],
        "impressions_size": sizes[1],
        "actions": sizes[2],
    }


def expected_counts(query: Callable[[str], Any]) -> dict[str, int]:
    """What the night must find: the converting actions, the impressions, the shown learning ones."""
    return {
        "converting_actions": int(query("SELECT count(*) FROM user_actions WHERE event_id LIKE 'conv-%%'")),
        "impressions": int(query("SELECT count(*) FROM recommendation_impressions")),
        "shown_learning_impressions": int(
            query("SELECT count(*) FROM recommendation_impressions WHERE NOT holdout AND learning")
        ),
    }


def found_counts(query: Callable[[str], Any]) -> dict[str, int]:
    return {
        "conversions": int(query("SELECT count(*) FROM recommendation_conversions")),
        "stats_impressions": int(query("SELECT coalesce(sum(impressions), 0) FROM recommendation_daily_stats")),
        "posterior_impressions": int(
            query("SELECT coalesce(sum(impressions), 0) FROM recommendation_variant_posteriors")
        ),
        "posteriors": int(query("SELECT count(*) FROM recommendation_variant_posteriors")),
        "uplift_player_days": int(query("SELECT coalesce(sum(player_days), 0) FROM recommendation_uplift_days")),
    }


def checks_of(
    expected: dict[str, int], found: dict[str, int], second_night_conversions: int, daily: dict[str, int]
) -> dict[str, bool]:
    return {
        "conversions_equal_converting_actions": found["conversions"] == expected["converting_actions"],
        "daily_figures_hold_every_impression": found["stats_impressions"] == expected["impressions"],
        "posteriors_hold_the_shown_learning_impressions": found["posterior_impressions"]
        == expected["shown_learning_impressions"],
        "second_night_adds_no_conversion": second_night_conversions == 0,
        "daily_night_conversions_equal_converting_actions_to_its_cutoff": daily["conversions"]
        == daily["converting_actions"],
    }


_LOOP_TABLES = (
    "recommendation_conversions, recommendation_attribution_state, recommendation_daily_stats, "
    "recommendation_uplift_days, recommendation_variant_posteriors"
)


def daily_night(
    run_night: Callable[[dt.datetime], T], plan: Plan, query: Callable[[str], Any]
) -> tuple[T, dict[str, int]]:
    """The loop's tables emptied, an untimed night a day before the last serve (every action stamped up to then
    attributed), then the next night, as of the last serve, timed: one day of actions new. Its result, and the
    conversions against the converting actions stamped up to its cutoff."""
    from django.conf import settings
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(f"TRUNCATE {_LOOP_TABLES}")
    end = plan.start + plan.step * plan.impressions  # the last serve
    run_night(end - dt.timedelta(days=1))
    measured = run_night(end)
    cutoff = end - dt.timedelta(seconds=settings.RECOMMENDATION_ATTRIBUTION_LAG_SECONDS)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM user_actions WHERE event_id LIKE 'conv-%%' AND action_timestamp <= %s", [cutoff]
        )
        converting = int(cur.fetchone()[0])
    return measured, {
        "conversions": int(query("SELECT count(*) FROM recommendation_conversions")),
        "converting_actions": converting,
    }


def night(env: BenchEnv, now: dt.datetime) -> dict[str, Any]:
    """One run of the nightly job in this process, timed, with this process's and PostgreSQL's CPU."""
    from recommendations.weights import weights_recalculate

    meter = CpuMeter({"bench": [os.getpid()], "postgres": env.postgres_pids_now})
    meter.start()
    t0 = time.monotonic()
    report = weights_recalculate(now=now)
    seconds = time.monotonic() - t0
    machine = meter.stop()
    return {
        "seconds": round(seconds, 2),
        "cpu_seconds": {k: round(v, 2) for k, v in meter.cpu_seconds.items()},
        "machine": machine,
        "report": report.as_dict(),
    }


def run_nightly(args: argparse.Namespace) -> int:
    players = args.players or (20_000 if args.quick else 1_000_000)
    impressions = args.impressions or (200_000 if args.quick else 10_000_000)
    env = BenchEnv()
    log(f"bench database {env.dbname}, redis {url_shown(env.redis_url)}")
    env.prepare()
    os.environ.update(env.env)
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    now = timezone.now()
    plan = layout(players=players, impressions=impressions, days=args.days, now=now)
    params = {
        "phase": "nightly",
        "quick": args.quick,
        "players": players,
        "impressions": impressions,
        "days": args.days,
        "cores": os.cpu_count(),
    }
    load_at_start = load_average()
    data = generate_indexed(env, plan)
    log(f"data: {data}")

    def query(sql: str) -> Any:
        with connection.cursor() as cur:
            cur.execute(sql)
            return cur.fetchone()[0]

    expected = expected_counts(query)
    first = night(env, now)
    log(f"first night: {first['seconds']} s, {first['report']}")
    found = found_counts(query)
    second = night(env, now + dt.timedelta(days=1))
    log(f"second night: {second['seconds']} s")
    daily, daily_counts = daily_night(lambda at: night(env, at), plan, query)
    log(f"daily night: {daily['seconds']} s, {daily['report']}")
    checks = checks_of(expected, found, second["report"]["attribution"]["conversions"], daily_counts)
    complete = all(checks.values())
    if not complete:
        log(f"the run is incomplete or inconsistent ({checks}): targets are reported as not met")
    results = {
        "daily_night_seconds": daily["seconds"],
        "first_night_seconds": first["seconds"],
        "second_night_seconds": second["seconds"],
        "daily_night": daily,
        "daily_night_counts": daily_counts,
        "first_night": first,
        "second_night": second,
        "expected": expected,
        "found": found,
        "checks": checks,
        "complete": complete,
        "load_average_at_start": load_at_start,
        "load_average_at_end": load_average(),
        **data,
    }
    targets = {
        "daily_night_seconds": target(daily["seconds"], TARGET_NIGHTLY_SECONDS, "<="),
        "first_night_seconds": target(first["seconds"], TARGET_NIGHTLY_SECONDS, "<="),
    }
    connection.close()
    finish(
        env, bench="adaptive", params=params, results=results, targets=targets, complete=complete, keep_db=args.keep_db
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", choices=PHASES, default="nightly", help="what to measure (default nightly)")
    parser.add_argument(
        "--quick", action="store_true", help="a small run (nightly: 20,000 players, 200,000 impressions; simulate: 500)"
    )
    parser.add_argument("--players", type=int, help="players (nightly: 1,000,000, quick 20,000; simulate: 10,000)")
    parser.add_argument("--impressions", type=int, help="nightly: impressions (10,000,000; quick 200,000)")
    parser.add_argument("--days", type=int, help=f"nightly: days the impressions cover ({DAYS}); simulate: days (30)")
    parser.add_argument("--seeds", type=int, help="simulate: seeds (10; quick 2)")
    parser.add_argument("--visit-share", type=float, help="simulate: a player's chance to visit each day (0.2)")
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database and Redis DB afterwards")
    args = parser.parse_args()
    if args.phase == "simulate":
        from bench import adaptive_simulation as sim

        return sim.run(
            players=args.players or (500 if args.quick else 10_000),
            days=args.days or (10 if args.quick else 30),
            seeds=args.seeds or (2 if args.quick else 10),
            visit_share=args.visit_share or sim.VISIT_SHARE,
            quick=args.quick,
            keep_db=args.keep_db,
        )
    args.days = args.days or DAYS
    return run_nightly(args)


if __name__ == "__main__":
    sys.exit(main())
