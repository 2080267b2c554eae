"""Fault: PostgreSQL restarted under load (issue 13, item 8).

Company A grants and wallet spends (half each, each with an id or key of its own) are sent open loop at ``--rate``
(150 a second) for ``--seconds`` (30) to granian 2 x 4 (production settings); at ``--restart-at`` (8 s) the machine's
PostgreSQL cluster is restarted (``pg_ctlcluster --skip-systemctl-redirect <version> main restart``: a fast
shutdown, which ends every connection, then a start). A thread tries a new connection every 50 ms to time the outage
(from the first refused to the first accepted connection). This restarts the PostgreSQL every user of the machine
shares: run it alone, and once.

Reported: the requests that failed, by their scheduled send time against the outage (before it, during it, after
PostgreSQL was back) and by status (0: no answer); how long the outage lasted and how long after it errors went on.
Then every failed request is sent again as a client retries (the same body and key; a delivery signed again) until
answered rightly, and each request must have been applied exactly once (one ledger row per key), every wallet must
equal its ledger and Redis' balance its wallet.

Targets: no failure among the requests sent once PostgreSQL was back, no 500 among those that failed (a request
that finds the database unreachable is answered 503 with ``Retry-After``: ``core.exceptions.database_unavailable``),
every retry answered, each request applied once, ledger = wallets = Redis.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python scripts/faults/postgres_restart.py
        [--rate 150] [--seconds 30] [--restart-at 8] [--players 5000]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench.common import BenchEnv, Server, emit, load_average, log, server_label, target
from bench.load import Request, open_summary, run_open, schedule
from bench.soak import SPEND, grant_request, ledger_checks, ledger_equal, redis_equal, spend_request
from scripts.faults.common import keys_applied, ledger_key, outcome_by_time, prepare, retry_failed, wallet_check


class Availability:
    """Tries a new PostgreSQL connection (and ``SELECT 1``) every ``every`` seconds on a thread; keeps when it went
    down and came back (seconds from ``t0``, monotonic)."""

    def __init__(self, env: BenchEnv, t0: float, every: float = 0.05) -> None:
        self.env, self.t0, self.every = env, t0, every
        self.changes: list[tuple[float, bool]] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _up(self) -> bool:
        import psycopg

        try:
            with psycopg.connect(self.env.admin_url, connect_timeout=1) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def _run(self) -> None:
        state = True
        while not self._done.wait(self.every):
            up = self._up()
            if up != state:
                self.changes.append((round(time.monotonic() - self.t0, 3), up))
                log(f"PostgreSQL {'up' if up else 'down'} at {time.monotonic() - self.t0:.2f}s")
                state = up

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()

    def wait_up(self, timeout: float = 120) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._up():
                return True
            time.sleep(0.2)
        return False

    @property
    def outage(self) -> tuple[float, float] | None:
        """(down, up): the first time a connection was refused and the last time one was accepted again."""
        downs = [t for t, up in self.changes if not up]
        ups = [t for t, up in self.changes if up]
        return (downs[0], ups[-1]) if downs and ups else None


def restart_postgres(at: float, t0: float, record: dict[str, Any]) -> None:
    """``pg_ctlcluster --skip-systemctl-redirect <version> main restart`` at ``at`` seconds after ``t0``."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    time.sleep(max(0.0, t0 + at - time.monotonic()))
    record["command"] = f"pg_ctlcluster --skip-systemctl-redirect {version} main restart"
    record["started_s"] = round(time.monotonic() - t0, 3)
    log(f"restarting PostgreSQL: {record['command']}")
    done = subprocess.run(record["command"].split(), capture_output=True, text=True, timeout=120)
    record["returned_s"] = round(time.monotonic() - t0, 3)
    record["exit_code"] = done.returncode
    record["output"] = (done.stdout + done.stderr).strip()[-300:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=150.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--restart-at", type=float, default=8.0)
    parser.add_argument("--players", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not os.path.isdir("/etc/postgresql"):
        raise SystemExit("no /etc/postgresql: this script restarts a Debian PostgreSQL cluster with pg_ctlcluster")
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
            requests.append(spend_request(fx.key, player, f"restart-{args.seed}-{i}"))
        else:
            requests.append(grant_request(player, 300, f"restart-{args.seed}-{i}", start + offsets[i]))
    keys = [ledger_key(r) for r in requests]
    restart: dict[str, Any] = {}
    with Server(fx.env, workers=2, worker_class="granian", threads=4) as server:
        load_before = load_average()
        t0 = time.monotonic() + lead
        availability = Availability(fx.env, t0)
        availability.start()
        restarter = threading.Thread(target=restart_postgres, args=(args.restart_at, t0, restart), daemon=True)
        restarter.start()
        log(f"{count} grants and spends at {args.rate:g}/s; PostgreSQL restarted at {args.restart_at:g} s")
        run = run_open(
            requests,
            port=server.port,
            rate=args.rate,
            check=wallet_check(),
            cpu_groups={},
            offsets=offsets,
            lead_seconds=lead,
            drain_seconds=60,
            error_samples=50,
        )
        restarter.join()
        back = availability.wait_up()
        availability.stop()
        summary = open_summary(run)
        failed = [i for i, bad in enumerate(run["failed_by_request"]) if bad]
        log(f"{len(failed)} requests failed; PostgreSQL up again: {back}; retrying them")
        retried = retry_failed(server.port, requests, failed, wallet_check(retry=True))
        log(f"retries: {retried}")
        server_log = server.log_text()
    applied = keys_applied(fx.env, keys)
    checks = ledger_checks(fx.env, args.players)
    fx.env.drop_database()
    fx.env.flush_redis()

    statuses = run["status_by_request"]
    outage = availability.outage
    down, up = outage if outage else (restart.get("started_s", 0.0), restart.get("returned_s", 0.0))
    phases: dict[str, Counter[str]] = {"before": Counter(), "during": Counter(), "after_back": Counter()}
    for i in failed:
        at = offsets[i]
        phase = "before" if at < down else "during" if at <= up else "after_back"
        phases[phase][f"status_{statuses[i]}"] += 1
    after_back = [offsets[i] for i in failed if offsets[i] > up]
    server_errors = sum(1 for i in failed if statuses[i] == 500)  # 503 (retry) is the outage's answer
    exact = applied["missing"] == 0 and applied["applied_more_than_once"] == 0
    results = {
        "load_average_at_start": load_at_start,
        "load_average_before": load_before,
        "load_average_at_end": load_average(),
        "restart": restart,
        "availability_changes_s": availability.changes,
        "outage_s": [down, up],
        "outage_seconds": round(up - down, 3),
        "requests": count,
        "answered_rightly_first_time": summary["ok"],
        "failed_first_time": len(failed),
        "failed_by_phase": {k: dict(v) for k, v in phases.items()},
        "failed_after_back": len(after_back),
        "last_failure_after_back_s": round(max(after_back) - up, 3) if after_back else None,
        "failed_statuses": dict(Counter(statuses[i] for i in failed)),
        "failures_by_second": outcome_by_time(offsets, statuses, run["failed_by_request"]),
        "error_samples": run["errors"][:8],
        "p50_ms": summary["p50_ms"],
        "p99_ms": summary["p99_ms"],
        "max_ms": summary["max_ms"],
        "retries": retried,
        "keys": applied,
        "checks": checks,
        "server_log": {
            "tracebacks": server_log.count("Traceback"),
            "operational_errors": server_log.count("OperationalError"),
            "interface_errors": server_log.count("InterfaceError"),
        },
    }
    emit(
        "fault_postgres_restart",
        {
            "rate_per_s": args.rate,
            "seconds": args.seconds,
            "restart_at_s": args.restart_at,
            "players": args.players,
            "spend_amount": SPEND,
            "grant_amount": 300,
            "server": server_label("granian", 2, 4),
            "seed": args.seed,
        },
        results,
        {
            "failed_after_postgres_was_back": target(len(after_back), 0, "<="),
            "no_500_during_the_outage": target(server_errors, 0, "<="),
            "every_retry_answered": target(retried.get("retried_failed", 0), 0, "<="),
            "each_request_applied_once": target(1.0 if exact else 0.0, 1.0, ">="),
            "ledger_equals_wallets": target(1.0 if ledger_equal(checks) else 0.0, 1.0, ">="),
            "redis_equals_wallets": target(1.0 if redis_equal(checks) else 0.0, 1.0, ">="),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
