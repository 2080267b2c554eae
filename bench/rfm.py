"""The nightly RFM batch (issue 4) against the bare aggregate and the spec's one-query-per-player approach.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/rfm.py [--quick]
        [--players N] [--actions N] [--sample N] [--range-size N] [--workers W] [--keep-db]

1. A dedicated database ``<dbname>_bench`` (dropped, recreated, migrated) and Redis DB 15 (flushed).
2. Data, written by SQL (``INSERT ... SELECT ... generate_series`` in chunks, two connections, progress on
   stderr): N players, their wallets, and the log of the 31 days before D (today, business time) in time order
   (as the log is), ``--actions`` of them in D's window, valid metadata of every type the batch reads; the
   player of each action is drawn with a heavy tail (a few players do most) and high ids stop playing as the
   month goes on (recency spreads); spends scale with the player. Written up to D-1 03:00 first; the log's
   indexes are built after that load, then VACUUM ANALYZE. ``user:{id}:streak_count`` keys in Redis for 30% of
   the players.
3. The first night: the batch as of D-1 at 03:00 (a full run: every row new, every group a first group). Not
   measured. Then VACUUM of user_segments (what autovacuum does during the day), and the day: the rest of D-1's
   actions in time order, and 0.2% more at random times in D's window before D-1 (logged late, for days the
   first night counted), written with the indexes in place (as ingest does); then ANALYZE.
4. Measured, in this order: the bare aggregate over D's window; the nightly batch as of D (incremental from the
   first night's rows: it adds the day that entered the window and the late actions, removes the day that left
   it); the bare aggregate again; a re-run of D (it must write nothing: no row, no history, no reward); a full
   recompute of D (``run_rfm --full``), the check: it must find every row already equal to what it computes.
   The batch is ``segments.services.segment_batch_run``, as ``run_rfm`` runs it (ranges on ``--workers``
   processes, as that many Celery workers would), timed by phase: start and
   stage, apply (the ranges), the end of the run. The reward payouts of the night's rises are
   timed apart (``rewards_seconds``): a loop over the risen players only, through the wallet, one transaction
   each; it scales with the number of rises, not of players.
   The bare aggregate is ``SELECT user_id, count(*), max(action_timestamp), <the batch's sums> FROM user_actions
   WHERE <D's window> GROUP BY user_id``, its rows consumed by an outer aggregate in the server (no transfer),
   at the batch's ``work_mem``: the aggregation a full recompute must do, without writing anything. The same
   with only count, max and the spent-tokens sum (the brief's example) is reported as well.
5. The spec's approach on a sample of covered players, producing what the batch produces: per player its R, F,
   M and Company A (tokens, visits) queries, its streak read from Redis, and one ``UPDATE user_segments SET
   rfm_group = CASE ...`` that also writes the inputs and copies, committed per player as the spec's code does
   (and, for reference, all in one transaction; and the spec's own statements only: its four queries and the
   group's UPDATE), timed and extrapolated to every covered player. The sample's R, F, M and group must equal
   the batch's rows.

Targets: the nightly batch <= 1.5x the bare aggregate; the per-player approach >= 100x slower than it. The full
recompute's time and ratio are reported beside them (``full_recompute_*``). The targets count as met only when
the run is complete: the nightly batch incremental, the re-run and the full recompute writing nothing, the
per-player sample equal to the batch's rows.
The last stdout line is the JSON result (design brief section 7). ``--quick`` ends within about a minute.
The bench database and Redis DB are emptied at the end (``--keep-db`` keeps them). Exits 0 when the run
completed, whether or not the targets were met.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import BenchEnv, finish, log, target, url_shown
from core.migration_operations import brin_index_sql

TARGET_RATIO_TO_AGGREGATE = 1.5
TARGET_SPEEDUP_VS_PER_PLAYER = 100.0
GENERATE_CHUNK = 1_000_000
STREAK_SHARE = 0.3

# One chunk of actions: g numbers the action in time order over [start, start + 31 days); its player is drawn
# with a heavy tail (power 3: player 1 plays most) among the players still playing at that time (the highest
# ids stop first: by the end only 60% play); each type's metadata as the registry requires it. A share of
# ``purchase_share`` of them (none by default; bench/predictions.py asks for some) are cash purchases taken from
# the games' share: packs of 1,100 to 99,000 KRW (a token for every 10 won), larger for the players who play most.
_ACTIONS_SQL_TEMPLATE = """
INSERT INTO user_actions (event_id, user_id, action_type, metadata, action_timestamp)
SELECT 'bench-' || g, uid, typ, (CASE typ
    WHEN 'GAME_PLAY' THEN '{"game": "' || game || '", "bet": ' || (10 * (1 + g %% 20)) || ', "payout": '
      || CASE WHEN r3 < 0.45 THEN 20 * (1 + g %% 20) ELSE 0 END || ', "result": "'
      || CASE WHEN r3 < 0.45 THEN 'win' ELSE 'loss' END || '"}'
    WHEN 'SPEND_CYBER_TOKENS' THEN '{"spent_tokens": ' || (10 + floor(r3 * 40000 / power(uid, 0.35)))::bigint
      || ', "game": "' || game || '"}'
    WHEN 'EARN_CYBER_TOKENS' THEN '{"earned_tokens": ' || (100 * (1 + g %% 5)) || ', "source": "'
      || CASE WHEN g %% 3 = 0 THEN 'in_app' ELSE 'corporate' END || '"}'
    WHEN 'CORPORATE_VISIT' THEN '{"dwell_seconds": ' || (g %% 900) || ', "actions": ["browse", "view_product"]}'
    WHEN 'VIEW_CONTENT' THEN '{"content_id": ' || (g %% 500) || '}'
    WHEN 'FAIL_GAME' THEN '{"game": "' || game || '"}'
    WHEN 'CLAIM_REWARD' THEN '{"reward_type": "daily_login", "reward_value": 10}'
    WHEN 'PURCHASE_CYBER_TOKENS' THEN '{"tokens": ' || (110 * (1 + floor(r3 * 90 / power(uid, 0.3))))::bigint
      || ', "amount_paid": ' || (1100 * (1 + floor(r3 * 90 / power(uid, 0.3))))::bigint
      || ', "currency": "KRW", "payment_id": "bench-pay-' || g || '"}'
    ELSE '{}' END)::jsonb, ts
FROM (
  SELECT g, uid, ts, r3, (ARRAY['SlotMachine', 'Roulette', 'RPSGame'])[1 + g %% 3] AS game,
    CASE WHEN r2 < %(purchase_share)s THEN 'PURCHASE_CYBER_TOKENS'
         WHEN r2 < 0.42 THEN 'GAME_PLAY' WHEN r2 < 0.57 THEN 'SESSION_START' WHEN r2 < 0.67 THEN 'SPEND_CYBER_TOKENS'
         WHEN r2 < 0.71 THEN 'EARN_CYBER_TOKENS' WHEN r2 < 0.76 THEN 'CORPORATE_VISIT'
         WHEN r2 < 0.86 THEN 'VIEW_CONTENT' WHEN r2 < 0.91 THEN 'FAIL_GAME' ELSE 'CLAIM_REWARD' END AS typ
  FROM (
    SELECT g, random() AS r2, random() AS r3,
      {ts} AS ts,
      1 + floor(%(players)s * (1 - 0.4 * (g - 1)::float8 / %(total)s) * power(random(), 3))::bigint AS uid
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS g
  ) a
) b
"""

# In time order (the log's usual shape), or at random times in [start, start + span) (actions logged late).
_ACTIONS_SQL = _ACTIONS_SQL_TEMPLATE.replace("{ts}", "%(start)s::timestamptz + (g - 1) * %(step)s::interval")
_LATE_ACTIONS_SQL = _ACTIONS_SQL_TEMPLATE.replace("{ts}", "%(late_start)s::timestamptz + random() * %(span)s::interval")
LATE_SHARE = 0.002  # of the window's actions, logged after the first night for days it had counted
FIRST_NIGHT_AT = dt.timedelta(hours=3)  # the batch runs at 03:00: the day's first hours are logged before it

_PLAYERS_SQL = """
INSERT INTO players (id, signup_at, locale, timezone, age_verified)
SELECT g, %(signup)s::timestamptz, CASE WHEN g %% 10 = 0 THEN 'en' ELSE 'ko' END, 'Asia/Seoul', g %% 3 <> 0
FROM generate_series(1, %(players)s::bigint) AS g
"""
_WALLETS_SQL = """
INSERT INTO wallets (player_id, balance, last_entry_id, updated_at)
SELECT id, (id * 7919) % 5000, 0, now() FROM players
"""

# The spec's approach (2.2.1 and 2.2.3), one player at a time: R, F, M, the Company A tokens, then the UPDATE.
_PER_PLAYER = (
    "SELECT max(action_timestamp) FROM user_actions WHERE user_id = %s AND action_timestamp < %s",
    "SELECT count(*) FROM user_actions WHERE user_id = %s AND action_timestamp >= %s AND action_timestamp < %s",
    "SELECT sum((metadata->>'spent_tokens')::bigint) FROM user_actions WHERE user_id = %s "
    "AND action_type = 'SPEND_CYBER_TOKENS' AND action_timestamp >= %s AND action_timestamp < %s",
    "SELECT sum((metadata->>'earned_tokens')::bigint) FROM user_actions WHERE user_id = %s "
    "AND action_type = 'EARN_CYBER_TOKENS' AND metadata->>'source' = 'corporate' "
    "AND action_timestamp >= %s AND action_timestamp < %s",
    "UPDATE user_segments SET rfm_group = CASE "
    "WHEN %s <= 2 AND %s >= 30 AND %s >= 10000 THEN 'Whale' "
    "WHEN %s <= 5 AND %s >= 15 AND %s >= 2000 THEN 'High Engaged' "
    "WHEN %s <= 15 AND %s BETWEEN 5 AND 14 AND %s BETWEEN 100 AND 1999 THEN 'Medium' "
    "ELSE 'Low' END WHERE user_id = %s",
)

# The same approach producing the row the batch produces: the Company A query also counts the visits, the
# player's streak is read from Redis, and the UPDATE writes the group with its inputs and the copies.
_PER_PLAYER_COMPANY_A_AND_VISITS = (
    "SELECT sum((metadata->>'earned_tokens')::bigint) FILTER (WHERE action_type = 'EARN_CYBER_TOKENS' "
    "AND metadata->>'source' = 'corporate'), count(*) FILTER (WHERE action_type = 'CORPORATE_VISIT') "
    "FROM user_actions WHERE user_id = %s AND action_timestamp >= %s AND action_timestamp < %s"
)
_PER_PLAYER_UPDATE_ROW = (
    "UPDATE user_segments SET rfm_group = CASE "
    "WHEN %(r)s <= 2 AND %(f)s >= 30 AND %(m)s >= 10000 THEN 'Whale' "
    "WHEN %(r)s <= 5 AND %(f)s >= 15 AND %(m)s >= 2000 THEN 'High Engaged' "
    "WHEN %(r)s <= 15 AND %(f)s BETWEEN 5 AND 14 AND %(m)s BETWEEN 100 AND 1999 THEN 'Medium' "
    "ELSE 'Low' END, as_of = %(as_of)s, recency_days = %(recency)s, frequency = %(f)s, monetary = %(m)s, "
    "corporate_tokens_30d = %(ct)s, corporate_visits_30d = %(cv)s, last_action_at = %(last)s, "
    "streak_count = %(streak)s, balance = coalesce((SELECT balance FROM wallets WHERE player_id = %(uid)s), 0), "
    "last_updated = now() WHERE user_id = %(uid)s"
)


def _setup_django(env: BenchEnv) -> None:
    """Django in this process, on the bench's database and Redis DB, with production settings."""
    os.environ.update(env.env)
    import django

    django.setup()


# --- data ------------------------------------------------------------------------------------------------------


@dataclass
class Plan:
    """The log the bench writes: ``total`` actions in time order over [first_start, end) (31 days ending at D's
    midnight), the first ``split`` of them before the first night (up to D-1 03:00), the rest after it with
    ``late`` more at random times in D's window before D-1 (logged late, for days the first night counted)."""

    first_start: dt.datetime
    step: dt.timedelta
    players: int
    total: int
    split: int
    late: int
    late_start: dt.datetime
    late_span: dt.timedelta
    purchase_share: float = 0.0  # of the actions, cash purchases (PURCHASE_CYBER_TOKENS with amount_paid)


def plan(*, players: int, actions: int, as_of: dt.date) -> Plan:
    from segments import rfm_sql

    tz = "Asia/Seoul"
    start, end = rfm_sql.window(as_of, tz)
    first_start, night = rfm_sql.window(as_of - dt.timedelta(days=1), tz)
    span = end - first_start
    total = round(actions * span / (end - start))
    step = span / total
    split = int((night + FIRST_NIGHT_AT - first_start) / step)
    return Plan(
        first_start=first_start,
        step=step,
        players=players,
        total=total,
        split=split,
        late=round(actions * LATE_SHARE),
        late_start=start,
        late_span=night - start,
    )


def load_params(plan: Plan, first: int, last: int) -> dict[str, Any]:
    """The parameters of ``_ACTIONS_SQL`` / ``_LATE_ACTIONS_SQL`` for the actions numbered first..last."""
    return {
        "start": plan.first_start,
        "step": plan.step,
        "players": plan.players,
        "total": plan.total,
        "first": first,
        "last": last,
        "late_start": plan.late_start,
        "span": plan.late_span,
        "purchase_share": plan.purchase_share,
    }


def _load(env: BenchEnv, sql: str, first: int, last: int, plan: Plan) -> int:
    with env.connect(autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute(sql, load_params(plan, first, last))
    return last - first + 1


def _load_chunks(env: BenchEnv, sql: str, first: int, last: int, plan: Plan, desc: str) -> None:
    from tqdm import tqdm

    chunks = [(a, min(a + GENERATE_CHUNK - 1, last)) for a in range(first, last + 1, GENERATE_CHUNK)]
    with (
        tqdm(total=last - first + 1, unit="actions", unit_scale=True, desc=desc, file=sys.stderr) as bar,
        concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool,
    ):
        for n in pool.map(lambda c: _load(env, sql, c[0], c[1], plan), chunks):
            bar.update(n)


def generate(env: BenchEnv, plan: Plan) -> dict[str, Any]:
    """Players, wallets and the log up to the first night (D-1 03:00); then its indexes, as a restore builds
    them, and the streak keys."""
    t0 = time.monotonic()
    with env.connect(autocommit=True) as conn:
        conn.execute(_PLAYERS_SQL, {"signup": plan.first_start - dt.timedelta(days=90), "players": plan.players})
        conn.execute(_WALLETS_SQL)
        conn.execute("DROP INDEX IF EXISTS user_actions_user_ts")
        conn.execute("DROP INDEX IF EXISTS user_actions_ts_brin")
        conn.execute("ALTER TABLE user_actions DROP CONSTRAINT IF EXISTS user_actions_event_id_uniq")
    _load_chunks(env, _ACTIONS_SQL, 1, plan.split, plan, "generating")
    log(f"{plan.split:,} actions written in {time.monotonic() - t0:.0f}s; building indexes")
    with env.connect(autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("ALTER TABLE user_actions ADD CONSTRAINT user_actions_event_id_uniq UNIQUE (event_id)")
        conn.execute("CREATE INDEX user_actions_user_ts ON user_actions (user_id, action_timestamp)")
        conn.execute(brin_index_sql(table="user_actions", column="action_timestamp", name="user_actions_ts_brin"))
        conn.execute("VACUUM (ANALYZE) user_actions")
        conn.execute("VACUUM (ANALYZE) players")
        conn.execute("VACUUM (ANALYZE) wallets")
    client = env.redis()
    rng = random.Random(7)
    pipe = client.pipeline(transaction=False)
    streaks = 0
    for uid in range(1, plan.players + 1):
        if rng.random() < STREAK_SHARE:
            pipe.set(f"user:{uid}:streak_count", 1 + uid % 9)
            streaks += 1
            if streaks % 10_000 == 0:
                pipe.execute()
    pipe.execute()
    client.close()
    seconds = time.monotonic() - t0
    log(f"first part ready in {seconds:.0f}s; {streaks:,} streak keys")
    return {"streak_keys": streaks, "generate_seconds": round(seconds, 1)}


def generate_day(env: BenchEnv, plan: Plan, *, as_of: dt.date) -> dict[str, Any]:
    """The day between the two nights: the rest of D-1 in time order, and the late actions; the indexes are kept
    up as they are written (as ingest does), then the table is analyzed (as autovacuum would)."""
    from segments import rfm_sql

    t0 = time.monotonic()
    _load_chunks(env, _ACTIONS_SQL, plan.split + 1, plan.total, plan, "the day after the first night")
    _load_chunks(env, _LATE_ACTIONS_SQL, plan.total + 1, plan.total + plan.late, plan, "late actions")
    start, end = rfm_sql.window(as_of, "Asia/Seoul")
    with env.connect(autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE) user_actions")
        in_window = conn.execute(
            "SELECT count(*) FROM user_actions WHERE action_timestamp >= %s AND action_timestamp < %s", [start, end]
        ).fetchone()[0]
        size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('user_actions'))").fetchone()[0]
    seconds = time.monotonic() - t0
    log(
        f"day written in {seconds:.0f}s: {in_window:,} actions in D's window, {plan.total + plan.late:,} in all "
        f"({size})"
    )
    return {
        "actions_in_window": int(in_window),
        "actions_total": plan.total + plan.late,
        "table_size": size,
        "day_seconds": round(seconds, 1),
    }


def checkpoint(env: BenchEnv) -> None:
    """Start each measurement from the same state: dirty pages written, the WAL recycled."""
    with env.connect(autocommit=True) as conn:
        conn.execute("CHECKPOINT")


# --- the batch, by phase ---------------------------------------------------------------------------------------


def run_batch(
    *, as_of: dt.date, range_size: int, workers: int, pay_rewards: bool | None = None, full: bool = False
) -> dict[str, Any]:
    """The batch as ``run_rfm`` runs it (``segments.services.segment_batch_run``), timed by phase: start (the
    watermark, the mode) and stage, apply (every range), the reward payouts (every range's rises), the end."""
    from segments import services

    marks: dict[str, float] = {}
    t0 = time.monotonic()
    run = services.segment_batch_run(
        as_of=as_of,
        pay_rewards=pay_rewards,
        range_size=range_size,
        trigger="bench",
        dispatch=False,
        workers=workers,
        full=full,
        on_phase=lambda name, _: marks.__setitem__(name, time.monotonic()),
    )
    end = time.monotonic()
    if run.status != run.Status.DONE:
        raise SystemExit(f"run {run.id} ended {run.status}: {run.error}")
    stage, apply, rewards, finish = (
        marks["staged"] - t0,
        marks["applied"] - marks["staged"],
        marks["rewarded"] - marks["applied"],
        end - marks["rewarded"],
    )
    return {
        "seconds": stage + apply + finish,
        "stage_seconds": stage,
        "apply_seconds": apply,
        "finish_seconds": finish,
        "rewards_seconds": rewards,
        "rewards_paid": run.rewards_paid,
        "players": run.players,
        "ranges": run.ranges_total,
        "rows_updated": run.rows_updated,
        "rows_inserted": run.rows_inserted,
        "changes": run.changes,
        "rises": run.rises,
        "distribution": run.distribution,
        "mode": run.mode,
        "mode_reason": run.mode_reason,
    }


def bare_aggregate(env: BenchEnv, *, as_of: dt.date, work_mem: str, columns: str = "batch") -> float:
    """Seconds of the window's GROUP BY user_id, its rows consumed in the server by an outer aggregate."""
    from segments import rfm_sql

    start, end = rfm_sql.window(as_of, "Asia/Seoul")
    if columns == "batch":
        inner = rfm_sql.aggregate_sql()
        outer = "SELECT count(*), sum(f), max(last_ts), sum(m), sum(ct), sum(cv) FROM ({inner}) t"
    else:
        inner = (
            "SELECT user_id, count(*) AS f, max(action_timestamp) AS last_ts, sum(CASE WHEN action_type = "
            "'SPEND_CYBER_TOKENS' THEN (metadata->>'spent_tokens')::bigint END) AS m FROM user_actions "
            "WHERE action_timestamp >= %(start)s AND action_timestamp < %(end)s GROUP BY user_id"
        )
        outer = "SELECT count(*), sum(f), max(last_ts), sum(m) FROM ({inner}) t"
    with env.connect() as conn:
        conn.execute("SELECT set_config('work_mem', %s, false)", [work_mem])
        t0 = time.monotonic()
        conn.execute(outer.format(inner=inner), {"start": start, "end": end}).fetchone()
        return time.monotonic() - t0


def per_player(
    env: BenchEnv, *, as_of: dt.date, sample: int, seed: int, commit_each: bool, whole_row: bool
) -> dict[str, Any]:
    """The spec's approach for ``sample`` covered players, one player at a time (psycopg's defaults: parameters
    bound by the server, statements prepared once used a few times). ``whole_row``: what the batch produces for
    the player: its R, F, M and Company A (tokens and visits) queries, its streak from Redis, then an UPDATE of
    its group, inputs and copies. Else the spec's own statements: R, F, M, Company A tokens, then its
    ``UPDATE ... SET rfm_group = CASE ...``. ``commit_each``: each player's UPDATE is committed, as the spec's code
    does (``db.commit()``); else one transaction for the sample. The UPDATE writes what the batch wrote (the same
    rules and inputs), so the data stay as they were; each player's R, F, M and group are checked against the
    batch's row."""
    import zoneinfo

    from segments import rfm_sql

    start, end = rfm_sql.window(as_of, "Asia/Seoul")
    kst = zoneinfo.ZoneInfo("Asia/Seoul")
    r_sql, f_sql, m_sql, c_sql, update_sql = _PER_PLAYER
    redis = env.redis()
    with env.connect() as conn:
        rows = conn.execute(
            "SELECT user_id, rfm_group, recency_days, frequency, monetary FROM user_segments "
            "WHERE as_of = %s ORDER BY user_id",
            [as_of],
        ).fetchall()
        conn.commit()
        chosen = random.Random(seed).sample(rows, min(sample, len(rows)))
        mismatches = 0
        t0 = time.monotonic()
        for uid, group, r_batch, f_batch, m_batch in chosen:
            last = conn.execute(r_sql, [uid, end]).fetchone()[0]
            f = conn.execute(f_sql, [uid, start, end]).fetchone()[0]
            m = conn.execute(m_sql, [uid, start, end]).fetchone()[0] or 0
            r = None if last is None else (as_of - last.astimezone(kst).date()).days
            rr = 10**9 if r is None else r
            if whole_row:
                ct, cv = conn.execute(_PER_PLAYER_COMPANY_A_AND_VISITS, [uid, start, end]).fetchone()
                streak = int(redis.get(f"user:{uid}:streak_count") or 0)
                conn.execute(
                    _PER_PLAYER_UPDATE_ROW,
                    {
                        "r": rr,
                        "f": f,
                        "m": m,
                        "as_of": as_of,
                        "recency": r,
                        "ct": ct or 0,
                        "cv": cv,
                        "last": last,
                        "streak": streak,
                        "uid": uid,
                    },
                )
            else:
                conn.execute(c_sql, [uid, start, end]).fetchone()
                conn.execute(update_sql, [rr, f, m, rr, f, m, rr, f, m, uid])
            if commit_each:
                conn.commit()
            mismatches += (r, f, m, _spec_group(r, f, m)) != (r_batch, f_batch, m_batch, group)
        conn.commit()
        seconds = time.monotonic() - t0
    redis.close()
    return {"players": len(chosen), "seconds": seconds, "mismatches": mismatches}


def _spec_group(r: int | None, f: int, m: int) -> str:
    if r is None:
        return "Low"
    if r <= 2 and f >= 30 and m >= 10_000:
        return "Whale"
    if r <= 5 and f >= 15 and m >= 2_000:
        return "High Engaged"
    if r <= 15 and 5 <= f <= 14 and 100 <= m <= 1_999:
        return "Medium"
    return "Low"


# --- main --------------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run that ends within a minute")
    parser.add_argument("--players", type=int, help="players (default 1,000,000; quick 20,000)")
    parser.add_argument("--actions", type=int, help="actions in the window (default 30,000,000; quick 600,000)")
    parser.add_argument("--sample", type=int, help="players timed with the per-player queries (default 2,000)")
    parser.add_argument("--range-size", type=int, default=250_000, help="players per range (default 250,000)")
    parser.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="ranges applied at once, on processes, as Celery workers would (default: 2, or 1 core)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database and Redis DB afterwards")
    args = parser.parse_args()

    players = args.players or (20_000 if args.quick else 1_000_000)
    actions = args.actions or (600_000 if args.quick else 30_000_000)
    sample = args.sample or (500 if args.quick else 2_000)

    env = BenchEnv()
    log(f"bench database {env.dbname}, redis {url_shown(env.redis_url)}")
    env.prepare()
    _setup_django(env)
    from django.conf import settings

    from segments.services import business_today

    as_of = business_today()
    work_mem = settings.SEGMENTS_WORK_MEM
    params = {
        "quick": args.quick,
        "players": players,
        "actions_in_window": actions,
        "as_of": as_of.isoformat(),
        "range_size": args.range_size,
        "workers": args.workers,
        "work_mem": work_mem,
        "sample": sample,
        "cores": os.cpu_count(),
    }
    layout = plan(players=players, actions=actions, as_of=as_of)
    data = generate(env, layout)

    checkpoint(env)
    log(f"first night: the batch as of {as_of - dt.timedelta(days=1)} at 03:00 (every row new)")
    first = run_batch(as_of=as_of - dt.timedelta(days=1), range_size=args.range_size, workers=args.workers)
    log(
        f"  {first['seconds']:.2f}s ({first['mode']}; stage {first['stage_seconds']:.2f}s, apply "
        f"{first['apply_seconds']:.2f}s); {first['players']:,} players; {first['distribution']}"
    )
    with env.connect(autocommit=True) as conn:  # what autovacuum does during the day: last night's old versions go
        conn.execute("VACUUM (ANALYZE) user_segments")
        conn.execute("VACUUM (ANALYZE) user_segment_history")
    data.update(generate_day(env, layout, as_of=as_of))
    params["actions_total"] = data.pop("actions_total")

    checkpoint(env)
    aggregates = [bare_aggregate(env, as_of=as_of, work_mem=work_mem)]
    log(f"bare aggregate over D's window: {aggregates[0]:.2f}s")
    checkpoint(env)
    batch = run_batch(as_of=as_of, range_size=args.range_size, workers=args.workers)
    log(
        f"nightly batch as of {as_of}: {batch['seconds']:.2f}s ({batch['mode']}: {batch['mode_reason']}; stage "
        f"{batch['stage_seconds']:.2f}s, apply {batch['apply_seconds']:.2f}s, end {batch['finish_seconds']:.2f}s); "
        f"{batch['rows_updated']:,} rows updated, {batch['rows_inserted']:,} new, {batch['changes']:,} group changes, "
        f"{batch['rises']:,} rises; rewards {batch['rewards_paid']:,} paid in {batch['rewards_seconds']:.2f}s"
    )
    checkpoint(env)
    aggregates.append(bare_aggregate(env, as_of=as_of, work_mem=work_mem))
    log(f"bare aggregate again: {aggregates[1]:.2f}s")
    narrow = bare_aggregate(env, as_of=as_of, work_mem=work_mem, columns="rfm")
    log(f"bare aggregate of count, max and the spent sum only: {narrow:.2f}s")
    checkpoint(env)
    rerun = run_batch(as_of=as_of, range_size=args.range_size, workers=args.workers)
    log(
        f"re-run for {as_of}: {rerun['seconds']:.2f}s ({rerun['mode']}); {rerun['rows_updated']} updated, "
        f"{rerun['rows_inserted']} new, {rerun['changes']} changes, {rerun['rewards_paid']} rewards"
    )
    checkpoint(env)
    full = run_batch(as_of=as_of, range_size=args.range_size, workers=args.workers, full=True)
    log(
        f"full recompute of {as_of} (the check: it must find nothing to change): {full['seconds']:.2f}s (stage "
        f"{full['stage_seconds']:.2f}s, apply {full['apply_seconds']:.2f}s); {full['rows_updated']} updated, "
        f"{full['rows_inserted']} new, {full['changes']} changes"
    )

    one_tx = per_player(env, as_of=as_of, sample=sample, seed=args.seed + 1, commit_each=False, whole_row=True)
    spec = per_player(env, as_of=as_of, sample=sample, seed=args.seed, commit_each=True, whole_row=True)
    spec_only = per_player(env, as_of=as_of, sample=sample, seed=args.seed + 2, commit_each=True, whole_row=False)
    per_player_s = spec["seconds"] / max(spec["players"], 1)
    one_tx_s = one_tx["seconds"] / max(one_tx["players"], 1)
    spec_only_s = spec_only["seconds"] / max(spec_only["players"], 1)
    extrapolated = per_player_s * batch["players"]
    log(
        f"per-player approach, the batch's row, committing each player: {spec['players']} players in "
        f"{spec['seconds']:.2f}s = {per_player_s * 1000:.3f} ms each; {extrapolated:,.0f}s for {batch['players']:,} "
        f"players; in one transaction {one_tx_s * 1000:.3f} ms each; the spec's statements only "
        f"{spec_only_s * 1000:.3f} ms each; {spec['mismatches'] + one_tx['mismatches'] + spec_only['mismatches']} "
        "mismatches"
    )

    aggregate = statistics.fmean(aggregates)
    ratio = batch["seconds"] / aggregate
    speedup = extrapolated / batch["seconds"]
    unchanged = [
        run["changes"] == run["rows_inserted"] == run["rows_updated"] == run["rewards_paid"] == 0
        for run in (rerun, full)
    ]
    complete = (
        spec["mismatches"] == one_tx["mismatches"] == spec_only["mismatches"] == 0
        and batch["players"] > 0
        and all(unchanged)
        and batch["mode"] == "incremental"
        and full["mode"] == "full"
    )
    results = {
        "batch_mode": batch["mode"],
        "batch_seconds": round(batch["seconds"], 3),
        "batch_stage_seconds": round(batch["stage_seconds"], 3),
        "batch_apply_seconds": round(batch["apply_seconds"], 3),
        "batch_finish_seconds": round(batch["finish_seconds"], 3),
        "aggregate_seconds": round(aggregate, 3),
        "aggregate_runs_seconds": [round(a, 3) for a in aggregates],
        "batch_to_aggregate": round(ratio, 3),
        "aggregate_count_max_spent_only_seconds": round(narrow, 3),
        "batch_to_aggregate_count_max_spent_only": round(batch["seconds"] / narrow, 3),
        "per_player_ms": round(per_player_s * 1000, 4),
        "per_player_one_transaction_ms": round(one_tx_s * 1000, 4),
        "per_player_spec_statements_only_ms": round(spec_only_s * 1000, 4),
        "speedup_vs_per_player_spec_statements_only": round(spec_only_s * batch["players"] / batch["seconds"], 1),
        "per_player_sample": spec["players"],
        "per_player_extrapolated_seconds": round(extrapolated, 1),
        "speedup_vs_per_player": round(speedup, 1),
        "speedup_vs_per_player_one_transaction": round(one_tx_s * batch["players"] / batch["seconds"], 1),
        "sample_mismatches": spec["mismatches"] + one_tx["mismatches"] + spec_only["mismatches"],
        "players_covered": batch["players"],
        "ranges": batch["ranges"],
        "rows_updated": batch["rows_updated"],
        "rows_inserted": batch["rows_inserted"],
        "group_changes": batch["changes"],
        "rises": batch["rises"],
        "rewards_paid": batch["rewards_paid"],
        "rewards_seconds": round(batch["rewards_seconds"], 3),
        "nightly_seconds_with_rewards": round(batch["seconds"] + batch["rewards_seconds"], 3),
        "distribution": batch["distribution"],
        "first_run_seconds": round(first["seconds"], 3),
        "first_run_rows_inserted": first["rows_inserted"],
        "rerun_seconds": round(rerun["seconds"], 3),
        "rerun_group_changes": rerun["changes"],
        "rerun_rows_updated": rerun["rows_updated"],
        "rerun_rewards_paid": rerun["rewards_paid"],
        "full_recompute_seconds": round(full["seconds"], 3),
        "full_recompute_stage_seconds": round(full["stage_seconds"], 3),
        "full_recompute_apply_seconds": round(full["apply_seconds"], 3),
        "full_recompute_to_aggregate": round(full["seconds"] / aggregate, 3),
        "full_recompute_rows_changed": full["rows_updated"] + full["rows_inserted"] + full["changes"],
        "complete": complete,
        **data,
    }
    if not complete:
        log("the run is incomplete or inconsistent: targets are reported as not met")
    targets = {
        "batch_to_aggregate": target(round(ratio, 3), TARGET_RATIO_TO_AGGREGATE, "<="),
        "speedup_vs_per_player": target(round(speedup, 1), TARGET_SPEEDUP_VS_PER_PLAYER, ">="),
    }
    finish(env, bench="rfm", params=params, results=results, targets=targets, complete=complete, keep_db=args.keep_db)
    return 0


if __name__ == "__main__":
    sys.exit(main())
