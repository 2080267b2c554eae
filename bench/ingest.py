"""Ingest throughput: POST /api/actions through a real server against PostgreSQL COPY.

    .venv/bin/python bench/ingest.py [--quick] [--actions N] [--batch-size 1000]
                                     [--concurrency C] [--workers W] [--worker-class sync|gthread|granian]
                                     [--open-actions-per-s 10000] [--open-seconds 30] [--arrivals poisson|constant]

1. A dedicated database ``<dbname>_bench`` (dropped, recreated, migrated) and Redis DB 15 (flushed).
2. gunicorn serves config.wsgi (production settings) on a free loopback port.
3. Realistic valid actions (the non-token-moving types, many players, unique event_ids) are
   generated and serialized into request bodies before any timing.
4. API phase: C client processes (one HTTP/1.1 connection each: kept alive by gthread workers,
   reopened per request by sync workers) post every batch; each answer must be 200 with ``stored``
   equal to the batch size (``bench/load.py``'s closed loop). The rows in user_actions and sampled
   hot-metric keys (last action, win streak) are checked.
5. Open loop, same server, after the API phase: batches of other players' actions (an id range of their
   own, so the hot-metric check above is unaffected) posted on a schedule (``bench/load.py``'s ``run_open``:
   Poisson arrivals by default) at an offered 10,000 actions/s, 10 batches of 1,000 a second, whatever the
   answers; each latency counted from the batch's scheduled send time (``open_loop``). 10,000 actions/s is
   half the saturation bar (20,000), about 0.4 of the rate measured on this machine: the load the API would
   carry with room for a burst of twice that. No target: the figure says what a batch waits at that load.
   Every batch must be stored whole, and the table's row count must be both phases' actions.
6. COPY phase, same run: user_actions is truncated and the same rows are loaded with one COPY
   (psycopg ``cursor.copy``) into the same table with the same indexes; the rows are counted.

Besides the rates, ``cpu_during_api`` gives the CPU each part used per 1,000 actions (server
workers, PostgreSQL, Redis) and ``other_cores``, the load from outside the run: a large value
means the machine was shared and the rates are low.

The bench database and Redis DB are emptied at the end (``--keep-db`` keeps them).
The last stdout line is the JSON result (design brief section 7); progress goes to stderr.
Exits 0 when the run completed, whether or not the targets were met.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import shlex
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from bench.common import (
    BenchEnv,
    CpuGroup,
    Server,
    emit,
    load_average,
    log,
    percentile,
    pids_named,
    process_cpu_seconds,
    target,
    url_shown,
)
from bench.load import ARRIVALS, Request, open_phase, run_load

TARGET_API_ACTIONS_PER_S = 20_000
TARGET_API_TO_COPY = 0.15
OPEN_ACTIONS_PER_S = 10_000  # the open loop's offered rate: half the saturation bar
WARMUP_USER_BASE = 900_000_000  # warm-up players: an id range of their own
OPEN_USER_BASE = 800_000_000  # the open loop's players: another
GAMES = ("SlotMachine", "Roulette", "RPSGame")
KST = dt.timezone(dt.timedelta(hours=9))

# --- data ------------------------------------------------------------------------------------


def make_actions(
    rng: random.Random, count: int, n_users: int, user_base: int, start: dt.datetime, span: dt.timedelta
) -> list[dict[str, Any]]:
    """Valid actions of the non-token-moving types, in rough time order, over many players."""
    kinds = (
        ["GAME_PLAY"] * 40
        + ["SESSION_START"] * 14
        + ["VIEW_CONTENT"] * 14  # (content unlocks move tokens: POST /api/me/content/{id}/unlock, not ingest)
        + ["CORPORATE_VISIT"] * 9
        + ["QUIZ_ANSWER"] * 7
        + ["FAIL_GAME"] * 5
        + ["CLAIM_REWARD"] * 5
        + ["BUY_ITEM"] * 6
    )
    step = span / max(count, 1)
    out = []
    for i in range(count):
        kind = rng.choice(kinds)
        ts = start + step * i + dt.timedelta(milliseconds=rng.randrange(0, 60_000))
        meta: dict[str, Any]
        if kind == "GAME_PLAY":
            bet = rng.choice((10, 20, 50, 100, 200, 500))
            win = rng.random() < 0.45
            meta = {
                "game": rng.choice(GAMES),
                "bet": bet,
                "payout": bet * rng.choice((2, 3, 5)) if win else 0,
                "result": "win" if win else "loss",
                "round_id": rng.getrandbits(40),
            }
        elif kind == "SESSION_START":
            meta = {"platform": rng.choice(("ios", "android", "web")), "app_version": "3.14.2"}
        elif kind == "VIEW_CONTENT":
            meta = {"content_id": rng.randrange(1, 500), "duration_ms": rng.randrange(500, 120_000)}
        elif kind == "CORPORATE_VISIT":
            meta = {
                "dwell_seconds": rng.randrange(5, 3600),
                "actions": rng.sample(["view_product", "add_to_cart", "search", "checkout"], rng.randrange(1, 4)),
            }
        elif kind == "QUIZ_ANSWER":
            meta = {"question": f"q{rng.randrange(1, 40)}", "answer": rng.choice(("a", "b", "c", "d", 1, 2, 3))}
        elif kind == "FAIL_GAME":
            meta = {"game": rng.choice(GAMES), "reason": rng.choice(("timeout", "quit", "disconnect"))}
        elif kind == "CLAIM_REWARD":
            meta = {
                "reward_type": rng.choice(("daily_bonus", "streak_bonus", "mission")),
                "reward_value": rng.choice((10, 50, 100)),
            }
        else:  # BUY_ITEM
            meta = {"item_id": f"item-{rng.randrange(1, 300)}", "price": rng.choice((100, 250, 1000))}
        # Players are skewed: a few are very active, most are not.
        user_id = user_base + int(n_users * rng.random() ** 2) + 1
        stamp = (
            ts.astimezone(KST).isoformat(timespec="milliseconds")
            if rng.random() < 0.3
            else ts.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        )
        out.append(
            {
                "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "user_id": user_id,
                "action_type": kind,
                "action_timestamp": stamp,
                "metadata": meta,
            }
        )
    return out


def make_requests(actions: list[dict[str, Any]], batch_size: int, key: str) -> list[Request]:
    """One POST /api/actions per batch, serialized before timing; each counts for its actions."""
    headers = {"Content-Type": "application/json", "Authorization": f"Api-Key {key}"}
    return [
        Request("POST", "/api/actions", orjson.dumps({"actions": batch}), headers, units=len(batch))
        for batch in (actions[i : i + batch_size] for i in range(0, len(actions), batch_size))
    ]


def check_batch(status: int, body: bytes, request: Request) -> str | None:
    """Every batch must be stored whole: 200 with ``stored`` equal to its size and no duplicate."""
    if status != 200:
        return f"HTTP {status}: {body[:300]!r}"
    answer = orjson.loads(body)
    if answer.get("stored") != request.units or answer.get("duplicates") != 0:
        return f"unexpected answer {answer}"
    return None


def _copy_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def make_copy_chunks(actions: list[dict[str, Any]], rows_per_chunk: int = 5000) -> list[bytes]:
    """The same rows in COPY text format (the same values the API stores), pre-encoded."""
    chunks = []
    for start in range(0, len(actions), rows_per_chunk):
        lines = []
        for a in actions[start : start + rows_per_chunk]:
            meta = _copy_escape(orjson.dumps(a["metadata"]).decode())
            ts = dt.datetime.fromisoformat(a["action_timestamp"]).astimezone(dt.UTC).isoformat()
            lines.append(f"{_copy_escape(a['event_id'])}\t{a['user_id']}\t{a['action_type']}\t{meta}\t{ts}\n")
        chunks.append("".join(lines).encode())
    return chunks


# --- the load: bench/load.py's closed loop --------------------------------------------------------


def run_batches(
    requests: list[Request], port: int, concurrency: int, max_seconds: float, cpu_groups: dict[str, CpuGroup]
) -> dict[str, Any]:
    """Post every batch through ``run_load``; adds the CPU each group used per 1,000 stored actions
    (steadier than rates when the machine is shared)."""
    run = run_load(
        requests, port=port, concurrency=concurrency, max_seconds=max_seconds, check=check_batch, cpu_groups=cpu_groups
    )
    stored = run["ok_units"]  # a batch counts when the check saw it stored whole
    for name, used in run["cpu_seconds"].items():
        if name != "client" and stored:
            run["cpu"][f"{name}_cpu_ms_per_1k_actions"] = round(used * 1e6 / stored, 1)
    return {
        **run,
        "sent": run["units"],
        "stored": stored,
        "batches": run["requests"],
        "client_cpu_s": run["cpu_seconds"].get("client", 0.0),
    }


# --- checks ----------------------------------------------------------------------------------


def count_rows(env: BenchEnv, table: str = "user_actions") -> int:
    with env.connect() as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def check_hot_metrics(env: BenchEnv, actions: list[dict[str, Any]], sample: int = 200) -> int:
    """Sampled players' user:{id}:last_action_ts must equal their newest action, and user:{id}:streak_count
    their GAME_PLAY wins strictly after their last loss (batches arrive out of order across clients).
    Returns the number of mismatching keys."""
    newest: dict[int, int] = {}
    last_loss: dict[int, dt.datetime] = {}
    wins: dict[int, list[dt.datetime]] = {}
    for a in actions:
        at = dt.datetime.fromisoformat(a["action_timestamp"])
        user_id, kind, result = a["user_id"], a["action_type"], a["metadata"].get("result")
        ts = int(at.timestamp())
        if ts > newest.get(user_id, 0):
            newest[user_id] = ts
        if kind == "FAIL_GAME" or (kind == "GAME_PLAY" and result == "loss"):
            if user_id not in last_loss or at > last_loss[user_id]:
                last_loss[user_id] = at
        elif kind == "GAME_PLAY" and result == "win":
            wins.setdefault(user_id, []).append(at)
    users = random.Random(7).sample(sorted(newest), min(sample, len(newest)))
    client = env.redis()
    values = client.mget([f"user:{u}:last_action_ts" for u in users])
    streaks = client.mget([f"user:{u}:streak_count" for u in users])
    client.close()
    mismatches = sum(1 for u, v in zip(users, values, strict=True) if v is None or int(float(v)) != newest[u])
    for u, v in zip(users, streaks, strict=True):
        if u in last_loss or u in wins:
            loss = last_loss.get(u)
            expected = sum(1 for at in wins.get(u, ()) if loss is None or at > loss)
            mismatches += v is None or int(v) != expected
        else:
            mismatches += v is not None
    return mismatches


def truncate(env: BenchEnv) -> None:
    with env.connect() as conn:
        conn.execute("TRUNCATE user_actions")
        conn.commit()
    with env.connect(autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE user_actions")
        conn.execute("CHECKPOINT")


def copy_load(env: BenchEnv, chunks: list[bytes]) -> tuple[float, float]:
    """One COPY of every row in one transaction; returns (seconds, commit included; backend CPU seconds)."""
    with env.connect() as conn:
        backend = int(conn.execute("SELECT pg_backend_pid()").fetchone()[0])
        conn.commit()
        cpu0 = process_cpu_seconds([backend])
        t0 = time.monotonic()
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY user_actions (event_id, user_id, action_type, metadata, action_timestamp) FROM STDIN"
            ) as copy,
        ):
            for chunk in chunks:
                copy.write(chunk)
        conn.commit()
        return time.monotonic() - t0, process_cpu_seconds([backend]) - cpu0


# --- main ------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small run that ends within a minute")
    parser.add_argument("--actions", type=int, help="actions in the timed API phase (default 500000, quick 100000)")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4, help="client processes, one connection each")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default="sync", choices=("sync", "gthread", "granian"))
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (gthread)")
    parser.add_argument("--users", type=int, help="distinct players (default actions/5)")
    parser.add_argument("--max-seconds", type=float, help="time bound of the API phase (default 300, quick 40)")
    parser.add_argument(
        "--open-actions-per-s",
        type=float,
        default=OPEN_ACTIONS_PER_S,
        help="the open loop's offered rate in actions a second (batches of --batch-size)",
    )
    parser.add_argument(
        "--open-seconds", type=float, default=None, help="length of the open loop's schedule (default 30; quick 8)"
    )
    parser.add_argument("--arrivals", choices=ARRIVALS, default="poisson", help="the open loop's schedule")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database and Redis DB afterwards")
    parser.add_argument("--gunicorn-args", default="", help="extra gunicorn arguments, e.g. '-c prof.py' to profile")
    args = parser.parse_args()

    n_actions = args.actions or (100_000 if args.quick else 500_000)
    n_users = args.users or max(n_actions // 5, 1)
    max_seconds = args.max_seconds or (40.0 if args.quick else 300.0)
    batch = args.batch_size
    open_seconds = args.open_seconds or (8.0 if args.quick else 30.0)
    open_rate = args.open_actions_per_s / batch  # batches a second
    open_n = round(open_rate * open_seconds) * batch
    params = {
        "quick": args.quick,
        "actions": n_actions,
        "batch_size": batch,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "worker_class": args.worker_class,
        "threads": args.threads,
        "users": n_users,
        "cores": os.cpu_count(),
        "open_loop": {
            "offered_actions_per_s": args.open_actions_per_s,
            "offered_batches_per_s": open_rate,
            "arrivals": args.arrivals,
            "seconds": open_seconds,
            "actions": open_n,
            "latency_from": "each batch's scheduled send time",
            "why_this_rate": "half the saturation bar (20,000 actions/s): a steady load with room for a burst of "
            "twice that",
        },
    }

    env = BenchEnv()
    log(f"bench database {env.dbname}, redis {url_shown(env.redis_url)}")
    env.prepare()
    key = env.create_api_key("bench", scopes=("ingest",))

    rng = random.Random(args.seed)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    actions = make_actions(rng, n_actions, n_users, 0, now - dt.timedelta(days=30), dt.timedelta(days=29))
    warm_n = batch * args.concurrency * 2
    warmup = make_actions(
        rng, warm_n, max(warm_n // 5, 1), WARMUP_USER_BASE, now - dt.timedelta(days=31), dt.timedelta(hours=12)
    )
    open_actions = make_actions(
        rng, open_n, max(open_n // 5, 1), OPEN_USER_BASE, now - dt.timedelta(days=30), dt.timedelta(days=29)
    )
    requests = make_requests(actions, batch, key)
    warm_requests = make_requests(warmup, batch, key)
    open_requests = make_requests(open_actions, batch, key)
    del open_actions
    chunks = make_copy_chunks(actions)
    log(
        f"generated {len(actions)} actions ({len(requests)} bodies, "
        f"{sum(len(r.body or b'') for r in requests) / 1e6:.1f} MB) "
        f"over {len({a['user_id'] for a in actions})} players"
    )

    results: dict[str, Any] = {"load_average_at_start": load_average()}
    with Server(
        env,
        workers=args.workers,
        worker_class=args.worker_class,
        threads=args.threads,
        extra_args=shlex.split(args.gunicorn_args),
    ) as server:
        warm = run_batches(warm_requests, server.port, args.concurrency, 60, {})
        # After the warm-up every worker holds its database connection: its backend is counted too (listed every second
        # during a phase: connections are reopened every minute).
        groups: dict[str, CpuGroup] = {
            "server": [server.proc.pid, *server.worker_pids()] if server.proc else [],
            "postgres": env.postgres_pids_now,
            "redis": pids_named("redis-server"),
        }
        if warm["n_errors"]:
            log(f"warm-up errors: {warm['errors']}")
            server.dump_log()
        log(f"warm-up: {warm['stored']} actions in {warm['elapsed']:.2f}s")
        truncate(env)  # the timed phase starts from an empty user_actions, as COPY does

        results["load_average_before_api"] = load_average()
        log(f"API phase: {len(requests)} batches, {args.concurrency} client connections; load {load_average()}")
        api = run_batches(requests, server.port, args.concurrency, max_seconds, groups)
        if api["n_errors"]:
            log(f"API errors ({api['n_errors']}): {api['errors']}")
            server.dump_log()
        opened, open_loop = open_phase(
            open_requests,
            what="batches",
            port=server.port,
            rate=open_rate,
            arrivals=args.arrivals,
            seed=args.seed,
            check=check_batch,
            cpu_groups=groups,
        )
        open_loop |= {
            "offered_actions_per_s": args.open_actions_per_s,
            "achieved_actions_per_s": round(opened["ok_units"] / opened["elapsed"], 1) if opened["elapsed"] else 0.0,
            "stored": opened["ok_units"],
        }
        if opened["n_errors"]:
            server.dump_log()
    api_rows = count_rows(env)
    hot_mismatches = check_hot_metrics(env, actions[: api["sent"]]) if api["stored"] == n_actions else -1
    api_rate = api["stored"] / api["elapsed"] if api["elapsed"] > 0 else 0.0
    log(
        f"API: {api['stored']} stored in {api['elapsed']:.2f}s = {api_rate:,.0f} actions/s; "
        f"rows in table {api_rows}; cpu {api['cpu']}"
    )

    truncate(env)
    copy_s, copy_cpu = copy_load(env, chunks)
    copy_rows = count_rows(env)
    copy_rate = copy_rows / copy_s if copy_s > 0 else 0.0
    log(f"COPY: {copy_rows} rows in {copy_s:.2f}s = {copy_rate:,.0f} rows/s")

    ratio = api_rate / copy_rate if copy_rate > 0 else 0.0
    open_complete = opened["n_errors"] == 0 and opened["ok_units"] == open_n
    complete = (
        api["n_errors"] == 0
        and api["stored"] == api["sent"]
        and api_rows == api["stored"] + opened["ok_units"]
        and open_complete
        and copy_rows == n_actions
        and hot_mismatches <= 0
    )
    lat = api["latencies"]
    results = {
        "api_actions_per_s": round(api_rate, 1),
        "copy_actions_per_s": round(copy_rate, 1),
        "api_to_copy_ratio": round(ratio, 4),
        "p50_ms": round(percentile(lat, 50) * 1000, 2),
        "p99_ms": round(percentile(lat, 99) * 1000, 2),
        "max_ms": round(max(lat) * 1000, 2) if lat else None,
        "actions": api["stored"],
        "all_batches_sent": api["sent"] == n_actions,
        "batches": api["batches"],
        "api_seconds": round(api["elapsed"], 3),
        "copy_seconds": round(copy_s, 3),
        "copy_backend_cpu_ms_per_1k_actions": round(copy_cpu * 1e6 / copy_rows, 1) if copy_rows else None,
        "api_rows_counted": api_rows,
        "copy_rows_counted": copy_rows,
        "errors": api["n_errors"],
        "hot_metric_mismatches": hot_mismatches,
        "complete": complete,
        "cpu_during_api": {**api["cpu"], "client_cpu_s": round(api["client_cpu_s"], 2)},
        "open_loop": open_loop,
        "open_loop_complete": open_complete,
        "load_average_at_end": load_average(),
    }
    if not complete:
        log("the run is incomplete: see errors above; targets are reported as not met")
    targets = {
        "api_actions_per_s": target(round(api_rate, 1) if complete else 0.0, TARGET_API_ACTIONS_PER_S, ">="),
        "api_to_copy_ratio": target(round(ratio, 4) if complete else 0.0, TARGET_API_TO_COPY, ">="),
    }
    if not args.keep_db:
        env.drop_database()
        env.flush_redis()
    emit("ingest", params, results, targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
