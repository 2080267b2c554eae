"""Content unlocks through a real server on PostgreSQL and Redis (issue 15), against wallet spends in the same run.

An unlock (``POST /api/me/content/{id}/unlock``, a player's Bearer token) is the check before the wallet's lock (one
statement: age, stage, previous stage, segment), then the wallet's one write path (the lock, the SPEND with its
UNLOCK_CONTENT action in one statement), the user_rewards row and the unlock (one statement), COMMIT, and after it
Redis' balance and the hot metrics. A spend (``POST /api/wallet/spend``, a service's Api-Key) is the lock, the write
and COMMIT. Every player is a verified adult with tokens; each unlock is a different player's first stage.

Phases on one server (granian 2 x 4 by default), after a warm-up of both:

1. saturation: spends and unlocks in ``--rounds`` alternating rounds (4: spends, unlocks; unlocks, spends; ...), 16
   clients in a closed loop each, so that a drift of the machine weighs on both alike: requests/s of each (all its
   rounds' requests over all its rounds' time) and their ratio (target: unlocks at least 0.7 of spends);
2. open loop: unlocks sent on a schedule at an offered 300 a second (Poisson arrivals, seeded), whatever the
   answers; each latency from the request's scheduled send time (target: p99 under 50 ms, every one answered).

Afterwards (the server stopped): every wallet equals the sum of its ledger rows and ends at its last one, each
unlock has exactly one SPEND, one UNLOCK_CONTENT action, one content_unlock reward and one unlock row, and Redis
holds each sampled player's balance.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/content.py [--quick]
        [--requests N] [--rounds 4] [--open-rate 300] [--open-seconds 30] [--arrivals poisson|constant]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    BenchEnv,
    Server,
    emit,
    fund_players,
    load_average,
    log,
    server_label,
    target,
)
from bench.load import Phase, Request, add_comparison_arguments, against_baseline

TARGET_RATIO_TO_SPEND = 0.7
TARGET_OPEN_LOOP_P99_MS = 50.0
OPEN_LOOP_RATE = 300.0
PRICE = 100  # the stage's price; every player holds FUNDS
SPEND = 10
FUNDS = 100_000
WARM_UP = 300  # requests of each kind before timing


def _setup_django(env: BenchEnv) -> None:
    """Django in this process, on the bench's settings (to issue the players' tokens)."""
    os.environ.update(env.env)
    import django

    django.setup()


def generate_data(env: BenchEnv, players: int) -> int:
    """Players 1..N, verified adults, each with FUNDS tokens (a GRANT ledger row and its wallet), and the catalog:
    stage 1 (the one unlocked) and two stages after it. Returns stage 1's id."""
    with env.connect() as conn:
        conn.execute(
            "INSERT INTO players (id, signup_at, locale, timezone, birth_date, age_verified, age_verified_at) "
            "SELECT g, now() - interval '90 days', 'ko', 'Asia/Seoul', date '1990-01-01' + (g %% 3000), true, "
            "now() - interval '30 days' FROM generate_series(1, %s) g",
            [players],
        )
        fund_players(conn, players=players, tokens=FUNDS)
        rows = conn.execute(
            "INSERT INTO adult_content (stage, name, description, thumbnail_url, media_url, required_segment_level, "
            "token_price, is_active, created_at, updated_at) "
            "SELECT s, 'Bench stage ' || s, 'A stage of the bench catalog.', "
            "'https://cdn.example.com/bench/' || s || '.jpg', 'https://cdn.example.com/bench/' || s || '.mp4', 0, "
            "%s * s, true, now(), now() FROM generate_series(1, 3) s RETURNING id, stage",
            [PRICE],
        ).fetchall()
        conn.execute("ANALYZE")
    log(f"{players} verified adults with {FUNDS} tokens each; a catalog of 3 stages")
    return {stage: cid for cid, stage in rows}[1]


def unlock_requests(players: list[int], content_id: int, seed: int) -> list[Request]:
    """One unlock of stage 1 per player, each with the player's token and a key of its own."""
    from core.auth import player_token_issue

    return [
        Request(
            "POST",
            f"/api/me/content/{content_id}/unlock",
            orjson.dumps({"idempotency_key": f"bench-{seed}-{pid}"}),
            {
                "Content-Type": "application/json",
                "Authorization": f"Bearer {player_token_issue(player_id=pid, ttl_seconds=3 * 3600)}",
            },
        )
        for pid in players
    ]


def spend_requests(count: int, players: int, key: str, seed: int) -> list[Request]:
    """``count`` spends of SPEND tokens by random players, each with its own idempotency key."""
    rng = random.Random(seed)
    return [
        Request(
            "POST",
            "/api/wallet/spend",
            orjson.dumps(
                {
                    "user_id": rng.randint(1, players),
                    "amount": SPEND,
                    "game": "SlotMachine",
                    "idempotency_key": f"bench-spend-{seed}-{i}",
                }
            ),
            {"Content-Type": "application/json", "Authorization": f"Api-Key {key}"},
        )
        for i in range(count)
    ]


def check_unlock(status: int, body: bytes, request: Request) -> str | None:
    if status != 201:
        return f"HTTP {status}: {body[:200]!r}"
    answer = orjson.loads(body)
    if answer.get("spent_tokens") != PRICE or not answer.get("content", {}).get("media_url"):
        return f"bad answer: {body[:200]!r}"
    return None


def check_spend(status: int, body: bytes, request: Request) -> str | None:
    if status != 201:
        return f"HTTP {status}: {body[:200]!r}"
    return None


def verify(env: BenchEnv, sample: int = 500) -> dict[str, Any]:
    """The ledger against the wallets, player by player, and each unlock's rows; Redis against a sample."""
    with env.connect() as conn:
        wallets_off = conn.execute(
            "SELECT count(*) FROM wallets w LEFT JOIN (SELECT player_id, sum(amount) AS s, max(id) AS last "
            "FROM token_ledger GROUP BY player_id) l ON l.player_id = w.player_id "
            "WHERE w.balance <> coalesce(l.s, 0) OR w.last_entry_id <> coalesce(l.last, 0)"
        ).fetchone()[0]
        negative = conn.execute("SELECT count(*) FROM wallets WHERE balance < 0").fetchone()[0]
        ledger_total = conn.execute("SELECT coalesce(sum(amount), 0) FROM token_ledger").fetchone()[0]
        wallet_total = conn.execute("SELECT coalesce(sum(balance), 0) FROM wallets").fetchone()[0]
        counts = {
            "unlocks": conn.execute("SELECT count(*) FROM content_unlocks").fetchone()[0],
            "unlock_spends": conn.execute(
                "SELECT count(*) FROM token_ledger WHERE kind = 'SPEND' AND idempotency_key LIKE 'content-unlock:%%'"
            ).fetchone()[0],
            "unlock_actions": conn.execute(
                "SELECT count(*) FROM user_actions WHERE action_type = 'UNLOCK_CONTENT'"
            ).fetchone()[0],
            "unlock_rewards": conn.execute(
                "SELECT count(*) FROM user_rewards WHERE reward_type = 'content_unlock'"
            ).fetchone()[0],
            "unlocks_linked": conn.execute(
                "SELECT count(*) FROM content_unlocks u JOIN token_ledger l ON l.id = u.ledger_entry_id "
                "JOIN user_rewards r ON r.id = u.reward_id "
                "WHERE l.action_id = u.action_id AND r.trigger_action_id = u.action_id AND l.amount = -u.spent_tokens"
            ).fetchone()[0],
            "players_with_two_unlocks_of_a_stage": conn.execute(
                "SELECT count(*) FROM (SELECT 1 FROM content_unlocks GROUP BY user_id, content_id "
                "HAVING count(*) > 1) x"
            ).fetchone()[0],
            "spends": conn.execute(
                # a service's spend: spend@<api key id>:<key> (docs/decisions/0026); spend:<key> before keys were scoped
                "SELECT count(*) FROM token_ledger WHERE kind = 'SPEND' "
                "AND (idempotency_key LIKE 'spend@%%' OR idempotency_key LIKE 'spend:%%')"
            ).fetchone()[0],
        }
        balances = dict(
            conn.execute(
                "SELECT player_id, balance FROM wallets WHERE balance < %s ORDER BY random() LIMIT %s", [FUNDS, sample]
            ).fetchall()
        )
    redis = env.redis()
    cached = redis.mget([f"user:{pid}:cyber_token_balance" for pid in balances])
    redis.close()
    mismatch = sum(1 for (pid, bal), c in zip(balances.items(), cached, strict=True) if c is None or int(c) != bal)
    return {
        "wallets_not_equal_to_their_ledger": wallets_off,
        "negative_balances": negative,
        "ledger_total": int(ledger_total),
        "wallet_total": int(wallet_total),
        "counts": counts,
        "redis_sampled": len(balances),
        "redis_mismatch": mismatch,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_comparison_arguments(parser, baseline="spends", subject="unlocks", open_rate=OPEN_LOOP_RATE)
    args = parser.parse_args()
    count = args.requests or (3_000 if args.quick else 20_000)
    open_seconds = args.open_seconds or (8.0 if args.quick else 30.0)
    open_count = round(args.open_rate * open_seconds)
    players = count + open_count + WARM_UP

    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    log(f"uptime: {uptime}")
    load_at_start = load_average()
    env = BenchEnv()
    env.env["NOTIFICATIONS_TRANSPORT"] = "log"
    env.prepare()
    _setup_django(env)
    content_id = generate_data(env, players)
    key = env.create_api_key("bench", scopes=("wallet:spend",))
    ids = list(range(1, players + 1))
    random.Random(args.seed).shuffle(ids)
    warm_unlocks = unlock_requests(ids[:WARM_UP], content_id, args.seed)
    unlocks = unlock_requests(ids[WARM_UP : WARM_UP + count], content_id, args.seed)
    scheduled = unlock_requests(ids[WARM_UP + count :], content_id, args.seed)
    spends = spend_requests(count, players, key, args.seed)
    warm_spends = spend_requests(WARM_UP, players, key, args.seed + 1000)
    from django.db import connections

    connections.close_all()  # no connection crosses the fork into the client processes
    log(f"{len(unlocks) + len(scheduled) + len(spends)} requests built; load average {load_average()}")

    with Server(env, workers=args.workers, worker_class=args.worker_class, threads=args.threads) as server:
        groups = server.cpu_groups()
        compared = against_baseline(
            server,
            groups,
            Phase("spends", spends, check_spend, warm_spends),
            Phase("unlocks", unlocks, check_unlock, warm_unlocks),
            scheduled=scheduled,
            rounds=args.rounds,
            concurrency=args.concurrency,
            max_seconds=args.max_seconds,
            open_rate=args.open_rate,
            arrivals=args.arrivals,
            seed=args.seed,
        )
    spend_run, unlock_run, opened, open_loop = compared.baseline, compared.subject, compared.opened, compared.open_loop
    load_before = compared.load_before
    checks = verify(env)
    env.drop_database()
    env.flush_redis()  # as the other benches do: nothing of the run is left behind

    unlocked = WARM_UP + unlock_run["ok"] + opened["ok_units"]
    counts = checks["counts"]
    exact = (
        counts["unlocks"] == counts["unlock_spends"] == counts["unlock_actions"] == counts["unlock_rewards"]
        and counts["unlocks"] == counts["unlocks_linked"] == unlocked
        and counts["players_with_two_unlocks_of_a_stage"] == 0
        and counts["spends"] == WARM_UP + spend_run["ok"]
        and checks["redis_mismatch"] == 0
    )
    ledger_equal = checks["wallets_not_equal_to_their_ledger"] == 0 and checks["negative_balances"] == 0
    ledger_equal = ledger_equal and checks["ledger_total"] == checks["wallet_total"]
    complete = spend_run["errors"] == 0 and unlock_run["errors"] == 0
    ratio = unlock_run["requests_per_s"] / spend_run["requests_per_s"] if spend_run["requests_per_s"] else 0.0
    open_target = target(open_loop["p99_ms"], TARGET_OPEN_LOOP_P99_MS, "<=")
    open_target["ok"] = open_target["ok"] and open_loop["errors"] == 0  # every scheduled unlock answered rightly
    results = {
        "load_average_at_start": load_at_start,
        "load_average_before_saturation": load_before,
        "cores": os.cpu_count(),
        "spends": spend_run,
        "unlocks": unlock_run,
        "rounds": compared.round_rates(),
        "ratio_to_spend": round(ratio, 3),
        "open_loop": open_loop,
        "load_average_at_end": load_average(),
        "checks": checks,
        "counts_exact": exact,
    }
    emit(
        "content",
        {
            "quick": args.quick,
            "requests_per_kind": count,
            "rounds": max(1, args.rounds),
            "concurrency": args.concurrency,
            "players": players,
            "price": PRICE,
            "spend_amount": SPEND,
            "open_loop": {
                "offered_per_s": args.open_rate,
                "arrivals": args.arrivals,
                "seconds": open_seconds,
                "unlocks": open_count,
                "latency_from": "each unlock's scheduled send time",
            },
            "server": server_label(args.worker_class, args.workers, args.threads),
            "database": "postgresql",
            "cache": "redis",
            "seed": args.seed,
            "uptime_at_start": uptime,
        },
        results,
        {
            "unlock_ratio_to_spend": target(round(ratio, 3) if complete else 0.0, TARGET_RATIO_TO_SPEND, ">="),
            "open_loop_p99_ms": open_target,
            "ledger_equals_wallets": target(1.0 if ledger_equal else 0.0, 1.0, ">="),
            "counts_exact": target(1.0 if exact else 0.0, 1.0, ">="),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
