"""Fault: the nightly RFM run killed in the middle (issue 13, item 8).

Data as ``bench/rfm.py`` writes it (``--players`` players, ``--actions`` actions in the window, Redis' streak counts
for 30% of them), the first night's run as of D-1 (no rewards: a date before today), then the day's actions. The
prepared database is copied (``CREATE DATABASE ... TEMPLATE``) once per case, and on each copy the nightly run as of
D (today: rises pay their upgrade reward) is started as production's embedded default runs it,
``manage.py run_rfm --range-size R`` in a process of its own (``run_nightly`` calls the same service):

- reference: a run that nobody kills;
- ``apply``: the command killed (SIGKILL) once some ranges are applied and before half of them are;
- ``rewards``: the command killed once some ranges are done (applied and their rises paid) and before all are;
- ``worker``: ``run_rfm --workers 2`` (the ranges applied by forked processes, as Celery workers would), one of its
  forked processes killed once some ranges are applied; the command is given ``--worker-wait`` seconds to end on its
  own, and is killed if it does not.

After a kill the command is started again as an operator would: first as it is (a run left ``running`` refuses a new
one until it has made no progress for ``SEGMENTS_RUN_STALE_MINUTES``: reported), then with
``SEGMENTS_RUN_STALE_MINUTES=0`` (the killed run counted as abandoned now, as it would be after the limit). Each
case's result must equal the reference's: ``user_segments`` (every column but the times and the balance copy, which a
reward paid before the re-run moves), the ``user_segment_history`` rows (user, groups, date, reward state and tokens),
the upgrade rewards' ledger rows (one per key, none missing), their ``user_rewards`` rows and pushes; and every wallet
must equal its ledger and Redis its wallet.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python scripts/faults/rfm_killed.py
        [--players 60000] [--actions 1200000] [--range-size 3000] [--cases apply rewards worker]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench import rfm as rfm_bench
from bench.common import PYTHON, ROOT, BenchEnv, children_of, emit, load_average, log, target
from bench.soak import ledger_checks, ledger_equal, redis_equal

CASES = ("apply", "rewards", "worker")

# What a run leaves, as comparable rows (ordered): the segments (without the times and the balance copy), the
# history, the upgrade rewards' ledger rows, their user_rewards rows and their pushes.
_RESULT_SQL = {
    "user_segments": (
        "SELECT user_id, rfm_group, risk_profile, streak_count, as_of, recency_days, frequency, monetary, "
        "corporate_tokens_30d, corporate_visits_30d, last_action_at FROM user_segments ORDER BY user_id"
    ),
    "segment_history": (
        "SELECT user_id, from_group, to_group, as_of, recency_days, frequency, monetary, reward_state, reward_tokens "
        "FROM user_segment_history ORDER BY user_id, as_of, to_group, from_group NULLS FIRST"
    ),
    "upgrade_ledger_rows": (
        "SELECT player_id, idempotency_key, kind, amount FROM token_ledger WHERE idempotency_key LIKE 'rfm-upgrade:%%' "
        "ORDER BY idempotency_key"
    ),
    "upgrade_user_rewards": (
        "SELECT user_id, reward_value FROM user_rewards WHERE reward_type = 'segment_upgrade' "
        "ORDER BY user_id, reward_value"
    ),
    "upgrade_pushes": "SELECT user_id FROM notifications WHERE type = 'SEGMENT_UPGRADE' ORDER BY user_id",
}


def result_of(env: BenchEnv) -> dict[str, tuple[int, str, list[tuple[Any, ...]]]]:
    """Each result table's rows: (count, a digest, the rows)."""
    out = {}
    with env.connect() as conn:
        for name, sql in _RESULT_SQL.items():
            rows = [tuple(r) for r in conn.execute(sql).fetchall()]
            digest = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
            out[name] = (len(rows), digest, rows)
    return out


def compare(reference: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Per table: equal or not, the counts, and how many rows only one side has."""
    out = {}
    for name, (count, digest, rows) in reference.items():
        o_count, o_digest, o_rows = other[name]
        entry: dict[str, Any] = {"equal": digest == o_digest, "reference": count, "this_case": o_count}
        if digest != o_digest:
            a, b = set(rows), set(o_rows)
            entry["only_in_reference"] = len(a - b)
            entry["only_in_this_case"] = len(b - a)
            entry["sample_only_in_this_case"] = [repr(r) for r in sorted(b - a, key=repr)[:3]]
            entry["sample_only_in_reference"] = [repr(r) for r in sorted(a - b, key=repr)[:3]]
        out[name] = entry
    return out


def runs_of(env: BenchEnv) -> list[dict[str, Any]]:
    with env.connect() as conn:
        rows = conn.execute(
            "SELECT id, as_of, mode, status, ranges_total, players, changes, rises, rewards_paid, left(error, 120) "
            "FROM segment_runs ORDER BY id"
        ).fetchall()
    keys = ("id", "as_of", "mode", "status", "ranges", "players", "changes", "rises", "rewards_paid", "error")
    return [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in zip(keys, r, strict=True)} for r in rows]


def progress_of(env: BenchEnv) -> tuple[int, int, int]:
    """The latest run's ranges: (total, applied, done)."""
    with env.connect() as conn:
        row = conn.execute(
            "SELECT count(*), count(applied_at), count(done_at) FROM segment_run_ranges "
            "WHERE run_id = (SELECT max(id) FROM segment_runs)"
        ).fetchone()
    return int(row[0]), int(row[1]), int(row[2])


def run_rfm(env: BenchEnv, args: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PYTHON, "manage.py", "run_rfm", *args],
        cwd=ROOT,
        env={**env.env, **(extra_env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: killed with its forked workers when it must be
    )


def finish(proc: subprocess.Popen[str], timeout: float = 600) -> dict[str, Any]:
    """The command's exit code and its last line: its summary (stdout), or its error (stderr)."""
    out, err = proc.communicate(timeout=timeout)
    last = [line for line in (out or err).replace("\r", "\n").splitlines() if line.strip()]
    return {"exit_code": proc.returncode, "last_line": last[-1][:300] if last else ""}


def fund_wallets(env: BenchEnv) -> int:
    """bench/rfm.py's wallets hold balances without ledger rows: each gets the GRANT row that gives it (as
    bench/content.py funds its players), so that every wallet equals its ledger before the runs."""
    with env.connect() as conn:
        funded = conn.execute(
            "INSERT INTO token_ledger (player_id, idempotency_key, request_hash, kind, source, amount, balance_after, "
            "created_at, action_id, actor, reason, details) "
            "SELECT player_id, 'bench-fund:' || player_id, 'bench', 'GRANT', 'reward', balance, balance, "
            "now() - interval '40 days', NULL, 'bench', 'bench funds', '{}'::jsonb FROM wallets WHERE balance > 0"
        ).rowcount
        conn.execute(
            "UPDATE wallets w SET last_entry_id = l.id FROM token_ledger l "
            "WHERE l.idempotency_key = 'bench-fund:' || w.player_id"
        )
    return int(funded)


def reset_balance_keys(env: BenchEnv) -> int:
    """Redis' copy of every balance as ``env``'s wallets hold them, and no other (the cases share one Redis DB, whose
    streak keys they all read, one after the other): written by the wallet's own ``balance_cache_set``."""
    from wallet.balance_cache import balance_cache_set

    client = env.redis()
    keys = list(client.scan_iter(match="user:*:cyber_token_balance*", count=10_000))
    for start in range(0, len(keys), 10_000):
        client.delete(*keys[start : start + 10_000])
    client.close()
    with env.connect() as conn:
        rows = conn.execute("SELECT player_id, balance, last_entry_id FROM wallets WHERE last_entry_id > 0").fetchall()
    for start in range(0, len(rows), 5_000):
        balance_cache_set({pid: (balance, seq) for pid, balance, seq in rows[start : start + 5_000]})
    return len(rows)


def killed_case(env: BenchEnv, case: str, range_size: int, worker_wait: float) -> dict[str, Any]:
    """Start the nightly run on ``env``'s database, kill it as ``case`` says, start it again; what happened."""
    workers = ["--workers", "2"] if case == "worker" else []
    proc = run_rfm(env, ["--range-size", str(range_size), *workers])
    t0 = time.monotonic()
    killed: dict[str, Any] = {}
    while proc.poll() is None:
        try:
            total, applied, done = progress_of(env)
        except Exception:  # noqa: BLE001 - the run's tables are not there yet (its first statements)
            time.sleep(0.02)
            continue
        due = {
            "apply": total and 1 <= applied < max(total // 2, 2),
            "rewards": total and 1 <= done < total,
            "worker": total and 1 <= applied < total,
        }[case]
        if due:
            if case == "worker":
                children = children_of(proc.pid)
                if not children:
                    time.sleep(0.005)
                    continue
                os.kill(children[0], signal.SIGKILL)
                killed = {"killed": "a forked apply process", "pid": children[0]}
            else:
                os.kill(proc.pid, signal.SIGKILL)
                killed = {"killed": "the run_rfm process"}
            killed.update(at_s=round(time.monotonic() - t0, 2), ranges=total, applied=applied, done=done)
            break
        time.sleep(0.005)
    if not killed:
        return {"killed": None, "note": "the run ended before the kill point", **finish(proc)}
    log(f"{case}: {killed}")
    if case == "worker":
        try:
            proc.wait(timeout=worker_wait)
            killed["command_after_the_kill"] = finish(proc)
        except subprocess.TimeoutExpired:
            total, applied, done = progress_of(env)
            killed["command_after_the_kill"] = (
                f"still running {worker_wait:g} s after its worker was killed (ranges {total}, applied {applied}, "
                f"done {done}): killed"
            )
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    else:
        proc.wait()
    killed["runs_after_the_kill"] = runs_of(env)[-1:]
    again = finish(run_rfm(env, ["--range-size", str(range_size)]))
    killed["started_again"] = again
    log(f"{case}: started again: {again}")
    if again["exit_code"] != 0:
        retry = finish(run_rfm(env, ["--range-size", str(range_size)], {"SEGMENTS_RUN_STALE_MINUTES": "0"}))
        killed["started_again_with_stale_minutes_0"] = retry
        log(f"{case}: started again with SEGMENTS_RUN_STALE_MINUTES=0: {retry}")
    killed["runs"] = runs_of(env)
    return killed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--players", type=int, default=60_000)
    parser.add_argument("--actions", type=int, default=1_200_000, help="actions in the window")
    parser.add_argument("--range-size", type=int, default=3_000)
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES))
    parser.add_argument("--worker-wait", type=float, default=30.0)
    args = parser.parse_args()
    load_at_start = load_average()
    env = BenchEnv()
    env.env["NOTIFICATIONS_TRANSPORT"] = "log"
    env.prepare()
    rfm_bench._setup_django(env)
    from django.db import connections

    from segments.services import business_today

    as_of = business_today()
    layout = rfm_bench.plan(players=args.players, actions=args.actions, as_of=as_of)
    rfm_bench.generate(env, layout)
    log(f"{fund_wallets(env):,} wallets funded by a ledger row")
    first = rfm_bench.run_batch(as_of=as_of - dt.timedelta(days=1), range_size=args.range_size, workers=1)
    log(f"first night ({as_of - dt.timedelta(days=1)}): {first['mode']}, {first['players']:,} players")
    rfm_bench.generate_day(env, layout, as_of=as_of)
    connections.close_all()  # the copies need the bench database free of connections

    copies = {case: env.copy_database(case) for case in ["reference", *args.cases]}
    log(f"copies made: {', '.join(c.dbname for c in copies.values())}")
    try:
        results, targets = run_cases(env, copies, args, load_at_start, as_of)
    finally:
        for db in copies.values():
            db.drop_database()
        env.drop_database()
        env.flush_redis()
    emit(
        "fault_rfm_killed",
        {
            "players": args.players,
            "actions_in_window": args.actions,
            "range_size": args.range_size,
            "cases": args.cases,
            "command": "manage.py run_rfm --range-size R [--workers 2]",
            "rewards": "paid (as of today)",
        },
        results,
        targets,
    )
    return 0


def run_cases(
    env: BenchEnv, copies: dict[str, BenchEnv], args: argparse.Namespace, load_at_start: list[float], as_of: dt.date
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reference run, then each case, each on its copy; the results and the targets."""
    results: dict[str, Any] = {"load_average_at_start": load_at_start, "as_of": as_of.isoformat()}
    reset_balance_keys(copies["reference"])
    t0 = time.monotonic()
    results["reference_run"] = finish(run_rfm(copies["reference"], ["--range-size", str(args.range_size)]))
    results["reference_seconds"] = round(time.monotonic() - t0, 1)
    results["reference_runs"] = runs_of(copies["reference"])[-1:]
    log(f"reference: {results['reference_run']} in {results['reference_seconds']} s")
    reference = result_of(copies["reference"])
    results["reference_checks"] = ledger_checks(copies["reference"], args.players)
    targets: dict[str, Any] = {}
    for case in args.cases:
        db = copies[case]
        reset_balance_keys(db)
        outcome = killed_case(db, case, args.range_size, args.worker_wait)
        outcome["compared_with_reference"] = compare(reference, result_of(db))
        checks = ledger_checks(db, args.players)
        outcome["checks"] = checks
        results[case] = outcome
        same = all(v["equal"] for v in outcome["compared_with_reference"].values())
        log(f"{case}: equal to the reference: {same}; {checks}")
        targets[f"{case}_equals_reference"] = target(1.0 if same else 0.0, 1.0, ">=")
        if case == "worker":  # a run whose worker died must end (failed or done), not wait for ever
            ended = isinstance(outcome.get("command_after_the_kill"), dict)
            targets["worker_command_ends_after_its_worker_is_killed"] = target(1.0 if ended else 0.0, 1.0, ">=")
        targets[f"{case}_ledger_equals_wallets"] = target(1.0 if ledger_equal(checks) else 0.0, 1.0, ">=")
        targets[f"{case}_redis_equals_wallets"] = target(1.0 if redis_equal(checks) else 0.0, 1.0, ">=")
    results["load_average_at_end"] = load_average()
    return results, targets


if __name__ == "__main__":
    sys.exit(main())
