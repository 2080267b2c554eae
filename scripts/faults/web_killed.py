"""Fault: a web process killed in the middle of a burst (issue 13, item 8).

Company A grants and wallet spends (half each, each with an id or key of its own) are sent open loop at ``--rate``
(250 a second) for ``--seconds`` (20) to granian 2 x 4 with production's flags (``--respawn-failed-workers``,
``scripts/serve.sh``); at each of ``--kill-at`` (6 and 13 s) one granian worker is killed with SIGKILL, whatever it
is doing. Every request that got no answer, a connection error or an error status is sent again afterwards as a
client retries: the same body and key (a delivery signed again, as its sender signs each attempt), until answered
rightly. Then each request must have been applied exactly once (one ledger row per key), every wallet must equal its
ledger, and Redis' balance must equal the wallet for every player: first as the requests left it (a worker killed
between its commit and its Redis write leaves the player's copy behind), then after ``manage.py reconcile_balances``.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python scripts/faults/web_killed.py
        [--rate 250] [--seconds 20] [--kill-at 6 13] [--players 5000]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.common import Server, emit, load_average, log, server_label, target
from bench.load import Request, open_summary, run_open, schedule
from bench.soak import SPEND, grant_request, ledger_checks, ledger_equal, redis_equal, spend_request
from scripts.faults.common import keys_applied, ledger_key, outcome_by_time, prepare, retry_failed, wallet_check

# production's granian flags (scripts/serve.sh): a worker that dies is started again
RESPAWN_ARGS = ["--respawn-failed-workers", "--workers-kill-timeout", "10"]


def killer(server: Server, at: list[float], t0: float, record: list[dict[str, Any]]) -> None:
    """At each time of ``at`` (seconds after ``t0``, monotonic) SIGKILL one worker; note when a new one is up."""
    for when in at:
        time.sleep(max(0.0, t0 + when - time.monotonic()))
        workers = server.worker_pids()
        if not workers:
            record.append({"at_s": when, "error": "no worker to kill"})
            continue
        victim = workers[0]
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic() - t0
        entry: dict[str, Any] = {"at_s": round(killed, 3), "pid": victim}
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            now = set(server.worker_pids())
            if victim not in now and len(now) >= server.workers:
                entry["replaced_after_s"] = round(time.monotonic() - t0 - killed, 2)
                break
            time.sleep(0.05)
        log(f"worker {victim} killed at {killed:.2f}s; {entry}")
        record.append(entry)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=250.0)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--kill-at", type=float, nargs="+", default=[6.0, 13.0])
    parser.add_argument("--players", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    load_at_start = load_average()
    fx = prepare(args.players)
    rng = random.Random(args.seed)
    count = round(args.rate * args.seconds)
    offsets = schedule(count, args.rate, "poisson", args.seed)
    lead = 1.0
    start = time.time() + lead + 0.2
    requests: list[Request] = []
    for i in range(count):
        player = rng.randint(1, args.players)
        if i % 2:
            requests.append(spend_request(fx.key, player, f"killed-{args.seed}-{i}"))
        else:
            requests.append(grant_request(player, 300, f"killed-{args.seed}-{i}", start + offsets[i]))
    keys = [ledger_key(r) for r in requests]
    kills: list[dict[str, Any]] = []
    with Server(fx.env, workers=2, worker_class="granian", threads=4, extra_args=RESPAWN_ARGS) as server:
        load_before = load_average()
        log(f"{count} grants and spends at {args.rate:g}/s; a worker killed at {args.kill_at} s")
        thread = threading.Thread(
            target=killer, args=(server, args.kill_at, time.monotonic() + lead, kills), daemon=True
        )
        thread.start()
        run = run_open(
            requests,
            port=server.port,
            rate=args.rate,
            check=wallet_check(),
            cpu_groups={},
            offsets=offsets,
            lead_seconds=lead,
            drain_seconds=30,
            error_samples=50,
        )
        thread.join()
        summary = open_summary(run)
        failed = [i for i, bad in enumerate(run["failed_by_request"]) if bad]
        log(f"{len(failed)} requests failed; retrying them")
        time.sleep(1)
        retried = retry_failed(server.port, requests, failed, wallet_check(retry=True))
        log(f"retries: {retried}")
        worker_log = server.log_text()
    applied = keys_applied(fx.env, keys)
    before = ledger_checks(fx.env, args.players)
    fx.env.manage("reconcile_balances")
    after = ledger_checks(fx.env, args.players)
    fx.env.drop_database()
    fx.env.flush_redis()

    statuses = run["status_by_request"]
    server_errors = sum(1 for s in statuses if s >= 500)
    no_answer = sum(1 for i in failed if statuses[i] == 0)
    exact = applied["missing"] == 0 and applied["applied_more_than_once"] == 0
    results = {
        "load_average_at_start": load_at_start,
        "load_average_before": load_before,
        "load_average_at_end": load_average(),
        "kills": kills,
        "requests": count,
        "answered_rightly_first_time": summary["ok"],
        "failed_first_time": len(failed),
        "failed_with_no_answer_or_connection_error": no_answer,
        "failed_with_server_error": server_errors,
        "failed_other": len(failed) - no_answer - server_errors,
        "failures_by_second": outcome_by_time(offsets, statuses, run["failed_by_request"]),
        "error_samples": run["errors"][:8],
        "p50_ms": summary["p50_ms"],
        "p99_ms": summary["p99_ms"],
        "max_ms": summary["max_ms"],
        "retries": retried,
        "keys": applied,
        "checks_before_reconcile": before,
        "checks_after_reconcile": after,
        "server_log_worker_lines": [
            line for line in worker_log.splitlines() if "orker" in line and ("died" in line or "spawn" in line)
        ][:10],
    }
    emit(
        "fault_web_killed",
        {
            "rate_per_s": args.rate,
            "seconds": args.seconds,
            "kill_at_s": args.kill_at,
            "players": args.players,
            "spend_amount": SPEND,
            "grant_amount": 300,
            "server": server_label("granian", 2, 4) + " " + " ".join(RESPAWN_ARGS),
            "seed": args.seed,
        },
        results,
        {
            "every_retry_answered": target(retried.get("retried_failed", 0), 0, "<="),
            "each_request_applied_once": target(1.0 if exact else 0.0, 1.0, ">="),
            "ledger_equals_wallets": target(1.0 if ledger_equal(before) else 0.0, 1.0, ">="),
            "redis_equals_wallets_without_reconcile": target(1.0 if redis_equal(before) else 0.0, 1.0, ">="),
            "redis_equals_wallets_after_reconcile": target(1.0 if redis_equal(after) else 0.0, 1.0, ">="),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
