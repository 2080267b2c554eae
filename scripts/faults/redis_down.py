"""Fault: Redis down (issue 13, item 8): nothing listens where REDIS_URL points, then Redis is back.

1. Down: granian 2 x 4 serves with REDIS_URL at a loopback port where nothing listens (a connection is refused at
   once), throttles at their production rates (counted in Redis: a failing cache lets the request through). Each kind
   of request, ``--requests`` of each (closed loop, 4 clients): ingest batches, spends, purchases, Company A grants,
   recommendations, clicks on the proposals just served, quiz submissions, balance reads (``GET /api/me/wallet``).
   docs/ARCHITECTURE.md says each works without Redis: ingest's hot metrics, the wallet's Redis copy and the
   recommendation's streak and live signals are written or read after (or beside) the database's work, their failure
   logged, and balance reads fall back to the database. Every answer is checked as in ``bench/soak.py``; any kind
   that fails is reported with its statuses and a sample of its answers (a 503 with a JSON body would be an answer
   the design allows; a 500 is not).
2. Back: the same server settings with the real Redis. Redis' copies of the balances that moved while it was down
   are stale (they were filled before); each player's balance is read through ``GET /api/me/wallet``, which takes
   Redis' copy when there is one: how many of those answers are stale is reported. Issue 13 item 7 asks that a
   failed Redis balance write never leave a stale balance served for hours; a copy lives
   ``WALLET_BALANCE_CACHE_SECONDS`` from its write (``--cache-seconds`` for the whole run, 60 by default, so that the
   script need not wait the production five minutes): once that has passed since the copies were filled, the same
   reads must all answer the ledger's balance (a target), before any reconciliation.
3. ``manage.py reconcile_balances`` (the nightly job; wallet.reconcile): afterwards Redis must equal the ledger for
   every player, and the reads must answer the ledger's balance. A few more spends and grants, then the ledger must
   equal the wallets and Redis for every player, with each request of the run applied exactly once.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python scripts/faults/redis_down.py
        [--requests 60] [--players 3000]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from bench import quiz as quiz_bench
from bench.common import Server, emit, free_port, load_average, log, percentile, server_label, target
from bench.load import Request, run_load
from bench.soak import (
    check_any,
    click_request,
    grant_request,
    ingest_requests,
    ledger_checks,
    ledger_equal,
    purchase_request,
    quiz_requests,
    recommendation_request,
    redis_equal,
    serve_proposals,
    spend_request,
)
from scripts.faults.common import exchange, keys_applied, ledger_key, prepare

KINDS = ("ingest", "spend", "purchase", "grant", "recommendation", "click", "quiz", "wallet_read")


def check_wallet_read(status: int, body: bytes, request: Request) -> str | None:
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}"
    if not isinstance(orjson.loads(body).get("balance"), int):
        return f"no balance: {body[:200]!r}"
    return None


def check(status: int, body: bytes, request: Request) -> str | None:
    if request.path == "/api/me/wallet":
        return check_wallet_read(status, body, request)
    return check_any(status, body, request)


def send_kind(port: int, requests: list[Request]) -> dict[str, Any]:
    """One kind's requests, 4 clients in a closed loop: statuses, failures and latencies."""
    run = run_load(requests, port=port, concurrency=4, max_seconds=120, check=check, cpu_groups={})
    lat = run["latencies"]
    return {
        "requests": len(requests),
        "ok": len(requests) - run["n_errors"],
        "errors": run["n_errors"],
        "error_samples": run["errors"][:3],
        "p50_ms": round(percentile(lat, 50) * 1000, 2) if lat else None,
        "p99_ms": round(percentile(lat, 99) * 1000, 2) if lat else None,
        "max_ms": round(max(lat) * 1000, 2) if lat else None,
    }


def stale_reads(port: int, tokens: dict[int, str], players: list[int], wallets: dict[int, int]) -> dict[str, Any]:
    """Each player's balance through ``GET /api/me/wallet`` against their wallet row."""
    stale = []
    for pid in players:
        read = Request("GET", "/api/me/wallet", None, {"Authorization": f"Bearer {tokens[pid]}"})
        status, body, _ = exchange(port, read)
        if status != 200:
            stale.append((pid, f"HTTP {status}"))
        elif orjson.loads(body)["balance"] != wallets[pid]:
            stale.append((pid, orjson.loads(body)["balance"]))
    return {"players_read": len(players), "stale_answers": len(stale), "stale_sample": stale[:5]}


def log_summary(text: str, requests: int) -> dict[str, Any]:
    """What the server logged: lines, tracebacks, and its most frequent messages (digits masked)."""
    lines = text.splitlines()
    heads = Counter(
        re.sub(r"\d+", "N", line)[:160]
        for line in lines
        if line and not line.startswith((" ", "Traceback", "\t")) and "Error" not in line[:40]
    )
    return {
        "requests": requests,
        "lines": len(lines),
        "tracebacks": text.count("Traceback"),
        "most_frequent": heads.most_common(6),
    }


def wallets_of(fx: Any, players: list[int]) -> dict[int, int]:
    with fx.env.connect() as conn:
        return dict(
            conn.execute("SELECT player_id, balance FROM wallets WHERE player_id = ANY(%s)", [players]).fetchall()
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=60, help="requests of each kind while Redis is down")
    parser.add_argument("--players", type=int, default=3_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--cache-seconds", type=float, default=60.0, help="WALLET_BALANCE_CACHE_SECONDS for the run (the copies' life)"
    )
    args = parser.parse_args()
    load_at_start = load_average()
    os.environ["WALLET_BALANCE_CACHE_SECONDS"] = str(args.cache_seconds)  # this process's and the servers' settings
    fx = prepare(args.players)
    copies_expire_at = time.time() + args.cache_seconds  # the copies were filled (create_funded_players) before now
    rng = random.Random(args.seed)
    n = args.requests
    questions = quiz_bench.quiz_questions()
    quiz_bench._QUESTIONS[:] = questions

    def pick() -> int:
        return rng.randint(1, args.players)

    quiz_players = rng.sample(range(1, args.players + 1), n)
    down: dict[str, list[Request]] = {
        "ingest": ingest_requests(fx.key, n, args.players, "down-", args.seed),
        "spend": [spend_request(fx.key, pick(), f"down-{i}") for i in range(n)],
        "purchase": [purchase_request(fx.key, pick(), f"down-{i}") for i in range(n)],
        "recommendation": [recommendation_request(fx.tokens[pick()]) for _ in range(n)],
        "quiz": quiz_requests(fx.tokens, quiz_players, questions, args.seed),
        "wallet_read": [
            Request("GET", "/api/me/wallet", None, {"Authorization": f"Bearer {fx.tokens[pick()]}"}) for _ in range(n)
        ],
    }
    closed = free_port()  # bound and released: nothing listens there
    parts = urlsplit(fx.env.redis_url)
    redis_down = urlunsplit((parts.scheme, f"127.0.0.1:{closed}", parts.path, "", ""))
    results: dict[str, Any] = {"load_average_at_start": load_at_start}
    with Server(
        fx.env, workers=2, worker_class="granian", threads=4, extra_env={"REDIS_URL": redis_down}, ready_path="/healthz"
    ) as server:
        status, body, _ = exchange(server.port, Request("GET", "/readyz"))
        results["readyz_while_down"] = {"status": status, "body": orjson.loads(body)}
        proposals, _served = serve_proposals(server.port, fx.tokens, n, args.seed)
        down["click"] = [click_request(fx.tokens[pid], proposal) for pid, proposal in proposals]
        down["grant"] = [grant_request(pick(), 300, f"down-{i}", time.time()) for i in range(n)]
        results["load_average_while_down"] = load_average()
        per_kind = {}
        for kind in KINDS:
            per_kind[kind] = send_kind(server.port, down[kind])
            log(f"Redis down, {kind}: {per_kind[kind]}")
        results["while_down"] = per_kind
        server_log = server.log_text()
    results["server_log_while_down"] = log_summary(server_log, sum(len(r) for r in down.values()))
    moved = sorted(
        {orjson.loads(r.body or b"{}")["user_id"] for kind in ("spend", "purchase", "quiz") for r in down[kind]}
        | {orjson.loads(r.body or b"{}")["data"]["user_id"] for r in down["grant"]}
    )
    with Server(fx.env, workers=2, worker_class="granian", threads=4) as server:
        wallets = wallets_of(fx, moved)
        results["reads_after_redis_is_back"] = stale_reads(server.port, fx.tokens, moved, wallets)
        log(f"Redis back, before reconciling: {results['reads_after_redis_is_back']}")
        wait = max(0.0, copies_expire_at + 1.0 - time.time())
        log(f"waiting {wait:.0f} s for the copies' lifetime (WALLET_BALANCE_CACHE_SECONDS {args.cache_seconds:g})")
        time.sleep(wait)
        results["reads_after_the_copies_lifetime"] = stale_reads(server.port, fx.tokens, moved, wallets)
        log(f"once the copies' lifetime had passed: {results['reads_after_the_copies_lifetime']}")
        results["reconcile_balances"] = fx.env.manage("reconcile_balances").strip()
        log(f"reconcile_balances: {results['reconcile_balances']}")
        results["reads_after_reconcile"] = stale_reads(server.port, fx.tokens, moved, wallets)
        log(f"after reconciling: {results['reads_after_reconcile']}")
        after = {
            "spend": [spend_request(fx.key, pick(), f"back-{i}") for i in range(n)],
            "grant": [grant_request(pick(), 300, f"back-{i}", time.time()) for i in range(n)],
        }
        results["after_redis_is_back"] = {kind: send_kind(server.port, reqs) for kind, reqs in after.items()}
    wallet_requests = [r for kind in ("spend", "purchase", "grant") for r in down[kind]]
    wallet_requests += [r for reqs in after.values() for r in reqs]
    results["keys"] = keys_applied(fx.env, [ledger_key(r) for r in wallet_requests])
    checks = ledger_checks(fx.env, args.players)
    results["checks"] = checks
    results["load_average_at_end"] = load_average()
    fx.env.drop_database()
    fx.env.flush_redis()

    results["kinds_failing_while_down"] = {k: v["error_samples"] for k, v in per_kind.items() if v["errors"]}
    exact = results["keys"]["missing"] == 0 and results["keys"]["applied_more_than_once"] == 0
    emit(
        "fault_redis_down",
        {
            "requests_per_kind": n,
            "players": args.players,
            "redis_while_down": f"127.0.0.1:{closed} (nothing listening)",
            "server": server_label("granian", 2, 4),
            "throttles": "production rates",
            "seed": args.seed,
            "wallet_balance_cache_seconds": args.cache_seconds,
        },
        results,
        {
            "requests_failed_while_down": target(sum(v["errors"] for v in per_kind.values()), 0, "<="),
            # issue 13 item 7: "a failed Redis balance write can never leave a stale balance served for hours"
            "stale_reads_once_the_copies_lifetime_passed": target(
                results["reads_after_the_copies_lifetime"]["stale_answers"], 0, "<="
            ),
            "stale_reads_after_reconcile": target(results["reads_after_reconcile"]["stale_answers"], 0, "<="),
            "each_request_applied_once": target(1.0 if exact else 0.0, 1.0, ">="),
            "ledger_equals_wallets": target(1.0 if ledger_equal(checks) else 0.0, 1.0, ">="),
            "redis_equals_wallets": target(1.0 if redis_equal(checks) else 0.0, 1.0, ">="),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
