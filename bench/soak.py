"""A soak: a steady mixed load through a real server for ten minutes (issue 13, item 8).

Every request kind the product serves under load, in fixed shares of the requests (``SHARES``), interleaved by a
seeded shuffle and sent open loop (``bench/load.py``'s ``run_open``: Poisson arrivals at ``--rate``, 500 a second by
default, each latency from the request's scheduled send time) for ``--seconds`` (600; ``--quick`` 60):

=================  =====  ===========================================================================================
kind               share  request (expected answer)
=================  =====  ===========================================================================================
recommendation      30%   ``GET /api/me/recommendations``, a player's Bearer token (200, proposals with ids and reasons)
ingest              20%   ``POST /api/actions``, a batch of 10 actions of random players, an Api-Key (200, 10 stored)
spend               15%   ``POST /api/wallet/spend``, 10 tokens, a key of its own (201, a SPEND of 10)
grant               12%   a signed Company A ``token.earned`` delivery, an id of its own, signed at its send time
                          (200, processed)
click               10%   ``POST /api/recommendations/{id}/click`` on a proposal served before the run, each once
                          (200, the first click)
purchase             8%   ``POST /api/wallet/purchase``, 500 tokens, a payment id of its own (201, a PURCHASE of 500)
quiz                 5%   ``POST /api/quiz/submit``, a player's first submission (each player once; 200, scored as
                          ``quiz.scoring`` scores the answers, the mission's 200 tokens)
=================  =====  ===========================================================================================

Before the run: players 1..N (50,000) with funded wallets (a GRANT ledger row each and its wallet, as
``bench/content.py``; Redis' copy of every balance filled through the wallet's ``balance_cache_fill``), segments,
play hours and Company A visits for most of them (``bench/recommend.py``'s data), one API key holding every scope, one
token per player (kept for the run, as the player's app keeps it). The server is granian 2 x 4 on production
settings, throttles at their production rates (``--throttles off`` turns them off), pushes through the log
transport. The proposals the clicks take are served before the run by ``GET /api/me/recommendations``; every kind is
warmed up (closed loop, 4 clients) before timing.

While it runs: progress on stderr every 10 s (sent, answered, failed); the resident memory of every server worker,
the granian main process, Redis and the bench database's PostgreSQL processes sampled every 10 s in a thread
(``/proc/<pid>/status``). Each process's memory after the first minute (warm) is compared with its memory at the end
(``--quick``: after 10 s); PostgreSQL's processes by their private memory (``RssAnon``: a backend's resident size
grows with the shared buffers it touches, which is not its memory growing), the backends as a mean over those alive
(Django reopens a connection after ``CONN_MAX_AGE``, so no backend lives through the run), the others by ``VmRSS``.

Afterwards (the server stopped): every wallet equals the sum and the last of its ledger rows; Redis' balance equals
the wallet for every player (MGET in chunks); and the rows of each kind are exact: one ledger row per webhook id (and
one ``site_rewards`` row), per spend key, per payment id; one submission per quiz player with one mission grant; ten
stored actions per batch; one click per clicked proposal; every proposal served written as an impression (a request
that got no answer, which an overloaded run can leave, may have been applied or not: it is allowed either way).

Targets: achieved rate at least 99% of the offered, p99 under 100 ms, 0 server errors (5xx) and 0 other errors,
memory growth of every process under 10%, ledger = wallets = Redis, the counts exact.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/soak.py [--quick] [--rate 500]
        [--seconds 600] [--players 50000] [--throttles production|off] [--calibrate RATE] [--seed 1]

``--calibrate RATE``: before the mixed run, each kind alone at RATE a second for 8 s (open loop): its p99 and CPU per
request by process group, and the mix's CPU per request those add up to (what says whether a rate fits the cores).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import http.client
import math
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import quiz as quiz_bench
from bench.common import (
    BENCH_WEBHOOK_SECRET,
    BenchEnv,
    Server,
    emit,
    fund_players,
    load_average,
    log,
    percentile,
    pids_named,
    process_memory_kib,
    server_label,
    target,
)
from bench.ingest import check_batch, make_actions
from bench.load import ARRIVALS, Request, open_summary, run_load, run_open, schedule
from bench.recommend import DATA_SQL, check_recommendation
from bench.wallet import check_grant

SHARES: dict[str, float] = {
    "recommendation": 0.30,
    "ingest": 0.20,
    "spend": 0.15,
    "grant": 0.12,
    "click": 0.10,
    "purchase": 0.08,
    "quiz": 0.05,
}
BATCH = 10  # actions per ingest request
SPEND = 10
PURCHASE = 500
FUNDS = 1_000_000
WARM_UP = 40  # requests of each kind before timing
TARGET_RATE_SHARE = 0.99  # achieved / offered
TARGET_P99_MS = 100.0
TARGET_MEMORY_GROWTH_PCT = 10.0
TOKEN_TTL_S = 3 * 3600

# --- data --------------------------------------------------------------------------------------------------------

# bench/recommend.py's data for what a recommendation reads besides the wallet (segments, play hours, Company A
# visits); the wallets are funded through ledger rows here instead.
_CONTEXT_SQL = [
    sql
    for sql in DATA_SQL
    if sql.lstrip().startswith(
        (
            "SELECT setseed",
            "INSERT INTO user_segments",
            "INSERT INTO site_visits",
            "INSERT INTO player_play_hours",
            "INSERT INTO play_hours_population",
        )
    )
]


def setup_django(env: BenchEnv) -> None:
    """Django in this process, on the bench's database and Redis (tokens, the quiz's questions, Redis' balances)."""
    os.environ.update(env.env)
    import django

    django.setup()


def create_funded_players(env: BenchEnv, players: int, *, funds: int = FUNDS, context: bool = True) -> None:
    """Players 1..N, each with ``funds`` tokens: a GRANT ledger row and the wallet it gives (as bench/content.py),
    so that every wallet equals its ledger from the start; with ``context``, what a recommendation reads (segments,
    play hours, Company A visits). Then Redis' copy of every balance, through the wallet's own ``balance_cache_fill``
    (Django must be set up)."""
    from wallet.services import balance_cache_fill

    with env.connect() as conn:
        conn.execute(
            "INSERT INTO players (id, signup_at, locale, timezone, age_verified) "
            "SELECT g, now() - (g %% 400) * interval '1 day', CASE WHEN g %% 10 = 0 THEN 'en' ELSE 'ko' END, "
            "CASE WHEN g %% 50 = 0 THEN 'America/New_York' WHEN g %% 50 = 1 THEN 'Europe/London' "
            "ELSE 'Asia/Seoul' END, false FROM generate_series(1, %s) g",
            [players],
        )
        fund_players(conn, players=players, tokens=funds)
        if context:
            for sql in _CONTEXT_SQL:
                conn.execute(sql, {"n": players})
        conn.commit()
    with env.connect(autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    cached = balance_cache_fill(first_player_id=1, last_player_id=players)
    log(f"{players:,} players with {funds:,} tokens each (ledger and wallet); {cached:,} balances in Redis")


def player_tokens(players: int) -> dict[int, str]:
    """One token per player for the whole run, as the player's app keeps its token."""
    from core.auth import player_token_issue

    return {pid: player_token_issue(player_id=pid, ttl_seconds=TOKEN_TTL_S) for pid in range(1, players + 1)}


# --- requests ------------------------------------------------------------------------------------------------------


def plan_kinds(total: int, shares: dict[str, float], seed: int) -> list[str]:
    """``total`` request kinds in the given shares (rounded; the largest share takes the remainder), in a seeded
    random order."""
    counts = {kind: round(total * share) for kind, share in shares.items()}
    largest = max(shares, key=lambda k: shares[k])
    counts[largest] += total - sum(counts.values())
    kinds = [kind for kind, n in counts.items() for _ in range(n)]
    random.Random(seed).shuffle(kinds)
    return kinds


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def recommendation_request(token: str) -> Request:
    return Request("GET", "/api/me/recommendations", None, bearer(token))


def click_request(token: str, proposal_id: str) -> Request:
    return Request("POST", f"/api/recommendations/{proposal_id}/click", None, bearer(token))


def _json(key: str, body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    return orjson.dumps(body), {"Content-Type": "application/json", "Authorization": f"Api-Key {key}"}


def spend_request(key: str, player_id: int, idempotency_key: str, amount: int = SPEND) -> Request:
    body, headers = _json(
        key, {"user_id": player_id, "amount": amount, "game": "SlotMachine", "idempotency_key": idempotency_key}
    )
    return Request("POST", "/api/wallet/spend", body, headers)


def purchase_request(key: str, player_id: int, payment_id: str, tokens: int = PURCHASE) -> Request:
    body, headers = _json(
        key,
        {
            "user_id": player_id,
            "tokens": tokens,
            "amount_paid": f"{tokens * 10}.00",
            "currency": "KRW",
            "payment_id": payment_id,
        },
    )
    return Request("POST", "/api/wallet/purchase", body, headers)


def grant_request(player_id: int, tokens: int, webhook_id: str, at: float) -> Request:
    """A signed Company A ``token.earned`` delivery, as bench/wallet.py signs it, timed ``at`` (Unix seconds): the
    signature's timestamp must be within the webhook's tolerance (5 minutes) of its arrival, so a long run signs each
    delivery for its scheduled send time, as the sender signs each attempt when it sends it."""
    from corporate.signing import sign

    stamp = int(at)
    issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp - 1))
    body = orjson.dumps(
        {
            "type": "token.earned",
            "timestamp": issued,
            "data": {"user_id": player_id, "earned_tokens": tokens, "issued_at": issued},
        }
    )
    return Request(
        "POST",
        "/api/corporate/webhook",
        body,
        {
            "Content-Type": "application/json",
            "webhook-id": webhook_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(BENCH_WEBHOOK_SECRET, webhook_id, stamp, body),
        },
    )


def ingest_requests(key: str, count: int, players: int, prefix: str, seed: int) -> list[Request]:
    """``count`` batches of BATCH actions (bench/ingest.py's mix of types, of players 1..N, in the last hour), with
    event ids ``<prefix><n>`` so that the stored rows can be counted."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.UTC)
    actions = make_actions(rng, count * BATCH, players, 0, now - dt.timedelta(hours=1), dt.timedelta(minutes=55))
    for n, action in enumerate(actions):
        action["event_id"] = f"{prefix}{n}"
    headers = {"Content-Type": "application/json", "Authorization": f"Api-Key {key}"}
    return [
        Request("POST", "/api/actions", orjson.dumps({"actions": actions[i : i + BATCH]}), headers, units=BATCH)
        for i in range(0, len(actions), BATCH)
    ]


def quiz_requests(tokens: dict[int, str], quiz_players: list[int], questions: list[Any], seed: int) -> list[Request]:
    """Each player's first submission, with their token and random valid answers (bench/quiz.py's)."""
    rng = random.Random(seed)
    return [
        Request(
            "POST",
            "/api/quiz/submit",
            orjson.dumps({"user_id": pid, "answers": quiz_bench.random_answers(questions, rng)}),
            {"Content-Type": "application/json", **bearer(tokens[pid])},
        )
        for pid in quiz_players
    ]


# --- checks of each answer ------------------------------------------------------------------------------------------


def check_ledger(kind: str, amount: int) -> Callable[[int, bytes, Request], str | None]:
    def check(status: int, body: bytes, request: Request) -> str | None:
        if status != 201:
            return f"HTTP {status}: {body[:200]!r}"
        entry = orjson.loads(body).get("entry") or {}
        if entry.get("kind") != kind or entry.get("amount") != amount:
            return f"not a {kind} of {amount}: {body[:200]!r}"
        return None

    return check


def check_click(status: int, body: bytes, request: Request) -> str | None:
    if status != 200:
        return f"HTTP {status}: {body[:200]!r}"
    answer = orjson.loads(body)
    if answer.get("id") != request.path.split("/")[3] or answer.get("first_click") is not True:
        return f"not the first click of this proposal: {body[:200]!r}"
    return None


CHECKS: dict[str, Callable[[int, bytes, Request], str | None]] = {
    "recommendation": check_recommendation,
    "ingest": check_batch,
    "spend": check_ledger("SPEND", -SPEND),
    "grant": check_grant,
    "click": check_click,
    "purchase": check_ledger("PURCHASE", PURCHASE),
    "quiz": quiz_bench.check_submit,
}


def kind_of(request: Request) -> str:
    path = request.path
    if path == "/api/me/recommendations":
        return "recommendation"
    if path.startswith("/api/recommendations/"):
        return "click"
    return {
        "/api/actions": "ingest",
        "/api/wallet/spend": "spend",
        "/api/corporate/webhook": "grant",
        "/api/wallet/purchase": "purchase",
        "/api/quiz/submit": "quiz",
    }[path]


def check_any(status: int, body: bytes, request: Request) -> str | None:
    """The check of the request's kind; a 5xx is named as such, whatever the kind."""
    try:
        problem = CHECKS[kind_of(request)](status, body, request)
    except (ValueError, KeyError, AttributeError, TypeError) as exc:  # a body that is not the JSON expected
        problem = f"HTTP {status}, unreadable answer ({exc.__class__.__name__}): {body[:200]!r}"
    if problem and status >= 500:
        return f"server error: {problem}"
    return problem


# --- proposals served before the run, for the clicks ----------------------------------------------------------------


def serve_proposals(port: int, tokens: dict[int, str], wanted: int, seed: int) -> tuple[list[tuple[int, str]], int]:
    """``GET /api/me/recommendations`` for random players (8 threads, keep-alive) until ``wanted`` proposal ids are
    collected: [(player, proposal id)], and the number of proposals served (each is an impression to be written)."""
    rng = random.Random(seed)
    players = list(tokens)
    local = threading.local()
    lock = threading.Lock()
    found: list[tuple[int, str]] = []
    served = [0]

    def fetch(pid: int) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/api/me/recommendations", headers=bearer(tokens[pid]))
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"serving proposals: HTTP {response.status}: {body[:200]!r}")
        ids = [p["id"] for p in orjson.loads(body)["proposals"]]
        with lock:
            served[0] += len(ids)
            found.extend((pid, i) for i in ids)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        while len(found) < wanted:
            batch = [rng.choice(players) for _ in range(max(100, (wanted - len(found)) // 2))]
            for _ in pool.map(fetch, batch):
                pass
    return found[:wanted], served[0]


# --- memory --------------------------------------------------------------------------------------------------------


class MemorySampler:
    """Samples the resident memory of the run's processes every ``every`` seconds on a thread: the server's workers
    and its main process, Redis, and the bench database's PostgreSQL processes (backends, and the shared writers)."""

    def __init__(self, server: Server, env: BenchEnv, every: float) -> None:
        self.server, self.env, self.every = server, env, every
        self.samples: list[tuple[float, dict[int, tuple[str, dict[str, int]]]]] = []
        self.redis_samples: list[tuple[float, int, int]] = []  # (time, used_memory in KiB, keys in the bench DB)
        self._redis = env.redis()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = 0.0

    def _processes(self) -> dict[int, str]:
        assert self.server.proc is not None
        found = {self.server.proc.pid: "granian main"}
        found.update(dict.fromkeys(self.server.worker_pids(), "server worker"))
        found.update(dict.fromkeys(pids_named("redis-server"), "redis"))
        for pid in self.env.postgres_pids_now():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    title = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            except OSError:
                continue
            found[pid] = "postgres backend" if f" {self.env.dbname} " in title else "postgres " + title.split()[-1]
        return found

    def sample(self) -> None:
        now: dict[int, tuple[str, dict[str, int]]] = {}
        for pid, group in self._processes().items():
            memory = process_memory_kib(pid)
            if memory is not None:
                now[pid] = (group, memory)
        self.samples.append((time.monotonic() - self._t0, now))
        try:
            used = int(self._redis.info("memory")["used_memory"]) // 1024
            self.redis_samples.append((self.samples[-1][0], used, int(self._redis.dbsize())))
        except Exception as exc:  # noqa: BLE001 - a figure beside the others; the run goes on without it
            log(f"redis INFO failed: {exc}")

    def _run(self) -> None:
        while not self._done.wait(self.every):
            self.sample()

    def start(self) -> None:
        self._t0 = time.monotonic()
        self.sample()
        self._thread.start()

    def stop(self) -> None:
        self._done.set()
        self._thread.join()
        self.sample()
        self._redis.close()

    def report(self, warm_s: float) -> dict[str, Any]:
        """Each process's memory at the first sample from ``warm_s`` on and at the last, and its growth; the
        PostgreSQL backends as a mean over those alive at each of the two samples."""
        warm_at = next((i for i, (t, _) in enumerate(self.samples) if t >= warm_s), len(self.samples) - 1)
        (t_warm, warm), (t_end, end) = self.samples[warm_at], self.samples[-1]

        def measure(group: str, memory: dict[str, int]) -> int:
            return memory.get("RssAnon", 0) if group.startswith("postgres") else memory["VmRSS"]

        processes: list[dict[str, Any]] = []
        for pid, (group, memory) in sorted(warm.items(), key=lambda x: x[1][0]):
            if group == "postgres backend" or pid not in end:
                continue
            before, after = measure(group, memory), measure(group, end[pid][1])
            processes.append(
                {
                    "process": group,
                    "pid": pid,
                    "measure": "RssAnon" if group.startswith("postgres") else "VmRSS",
                    "warm_kib": before,
                    "end_kib": after,
                    "growth_pct": round(100.0 * (after - before) / max(before, 1), 2),
                }
            )

        def backends(sample: dict[int, tuple[str, dict[str, int]]]) -> list[int]:
            return [measure(g, m) for g, m in sample.values() if g == "postgres backend"]

        warm_backends, end_backends = backends(warm), backends(end)
        if warm_backends and end_backends:
            mean_warm = sum(warm_backends) / len(warm_backends)
            mean_end = sum(end_backends) / len(end_backends)
            processes.append(
                {
                    "process": "postgres backends (mean)",
                    "measure": "RssAnon",
                    "warm_kib": round(mean_warm),
                    "end_kib": round(mean_end),
                    "backends_warm_end": [len(warm_backends), len(end_backends)],
                    "growth_pct": round(100.0 * (mean_end - mean_warm) / max(mean_warm, 1), 2),
                }
            )
        redis_warm = next((r for r in self.redis_samples if r[0] >= t_warm), None)
        redis_end = self.redis_samples[-1] if self.redis_samples else None
        return {
            # Redis' data (the whole server's used_memory, and the keys of the bench's DB): what its VmRSS holds
            "redis_used_memory_kib_warm_end": [redis_warm[1], redis_end[1]] if redis_warm and redis_end else None,
            "redis_bench_db_keys_warm_end": [redis_warm[2], redis_end[2]] if redis_warm and redis_end else None,
            "warm_at_s": round(t_warm, 1),
            "end_at_s": round(t_end, 1),
            "samples": len(self.samples),
            "processes": processes,
            "growth_max_pct": max((p["growth_pct"] for p in processes), default=math.nan),
            "server_workers_vmrss_kib_by_sample": [
                [round(t), *sorted(m["VmRSS"] for g, m in s.values() if g == "server worker")] for t, s in self.samples
            ],
        }


# --- the checks afterwards ----------------------------------------------------------------------------------------


def ledger_checks(env: BenchEnv, players: int, chunk: int = 10_000) -> dict[str, Any]:
    """Every wallet against the sum and last of its ledger rows (SQL), and Redis' balance against every wallet."""
    with env.connect() as conn:
        wallets_off = conn.execute(
            "SELECT count(*) FROM wallets w LEFT JOIN (SELECT player_id, sum(amount) AS s, max(id) AS last "
            "FROM token_ledger GROUP BY player_id) l ON l.player_id = w.player_id "
            "WHERE w.balance <> coalesce(l.s, 0) OR w.last_entry_id <> coalesce(l.last, 0)"
        ).fetchone()[0]
        orphans = conn.execute(
            "SELECT count(DISTINCT player_id) FROM token_ledger l WHERE NOT EXISTS "
            "(SELECT 1 FROM wallets w WHERE w.player_id = l.player_id)"
        ).fetchone()[0]
        ledger_total = conn.execute("SELECT coalesce(sum(amount), 0) FROM token_ledger").fetchone()[0]
        wallet_total = conn.execute("SELECT coalesce(sum(balance), 0) FROM wallets").fetchone()[0]
        balances = dict(conn.execute("SELECT player_id, balance FROM wallets").fetchall())
    redis = env.redis()
    mismatch = missing = 0
    ids = sorted(balances)
    mismatched: list[int] = []
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        for pid, cached in zip(part, redis.mget([f"user:{pid}:cyber_token_balance" for pid in part]), strict=True):
            if cached is None:
                missing += balances[pid] != 0  # a wallet that never moved reads 0 from the database either way
            elif int(cached) != balances[pid]:
                mismatch += 1
                mismatched.append(pid)
    redis.close()
    return {
        "wallets": len(balances),
        "wallets_not_equal_to_their_ledger": int(wallets_off),
        "ledger_players_without_wallet": int(orphans),
        "ledger_total": int(ledger_total),
        "wallet_total": int(wallet_total),
        "redis_checked": len(ids),
        "redis_not_equal_to_wallet": mismatch,
        "redis_missing": int(missing),
        "redis_mismatched_players_sample": mismatched[:10],
    }


def ledger_equal(checks: dict[str, Any]) -> bool:
    return (
        checks["wallets_not_equal_to_their_ledger"] == 0
        and checks["ledger_players_without_wallet"] == 0
        and checks["ledger_total"] == checks["wallet_total"]
    )


def redis_equal(checks: dict[str, Any]) -> bool:
    """Every balance copy Redis holds equals its wallet. A missing copy (expired ``WALLET_BALANCE_CACHE_SECONDS``
    after its write, or never read) disagrees with nothing: the next read refills it from the database (decision
    0023); ``redis_missing`` says how many there were."""
    return checks["redis_not_equal_to_wallet"] == 0


def row_counts(env: BenchEnv, prefix: str) -> dict[str, int]:
    """The rows the run's requests wrote, by kind (their keys and ids all start with ``prefix``)."""
    like = prefix + "%"
    queries = {
        "grant_rows": ("SELECT count(*) FROM token_ledger WHERE idempotency_key LIKE %s", ["corporate:" + like]),
        "grant_keys_twice": (
            "SELECT count(*) FROM (SELECT idempotency_key FROM token_ledger WHERE idempotency_key LIKE %s "
            "GROUP BY idempotency_key HAVING count(*) > 1) x",
            ["corporate:" + like],
        ),
        "site_rewards": ("SELECT count(*) FROM site_rewards WHERE webhook_id LIKE %s", [like]),
        "spend_rows": ("SELECT count(*) FROM token_ledger WHERE idempotency_key LIKE %s", ["spend:" + like]),
        "purchase_rows": ("SELECT count(*) FROM token_ledger WHERE idempotency_key LIKE %s", ["purchase:" + like]),
        "stored_actions": ("SELECT count(*) FROM user_actions WHERE event_id LIKE %s", [like]),
        "quiz_submissions": ("SELECT count(*) FROM quiz_submissions", []),
        "quiz_players": ("SELECT count(DISTINCT user_id) FROM quiz_submissions", []),
        "quiz_mission_grants": (
            "SELECT count(*) FROM token_ledger WHERE idempotency_key LIKE 'mission:COMPLETE_PROFILE_QUIZ:%%'",
            [],
        ),
        "clicks": ("SELECT count(*) FROM recommendation_impressions WHERE clicked_at IS NOT NULL", []),
        "impressions": ("SELECT count(*) FROM recommendation_impressions", []),
    }
    with env.connect() as conn:
        return {name: int(conn.execute(sql, params).fetchone()[0]) for name, (sql, params) in queries.items()}


def counts_exact(
    counts: dict[str, int], ok: Counter[str], unanswered: Counter[str], proposals_served: int
) -> dict[str, bool]:
    """Each kind's rows against the requests of that kind answered rightly (warm-up and run): exactly one each. A
    request that got no answer (the run's end came first, or its connection failed) may have been applied or not:
    when some did, a kind's rows may exceed its answered requests by at most their number."""

    def once(rows: int, kind: str, per_request: int = 1) -> bool:
        return per_request * ok[kind] <= rows <= per_request * (ok[kind] + unanswered[kind])

    served = counts["impressions"] == proposals_served
    if unanswered["recommendation"]:  # the proposals of an unanswered request were served and written, not counted
        served = counts["impressions"] >= proposals_served
    return {
        "grants": once(counts["grant_rows"], "grant")
        and counts["site_rewards"] == counts["grant_rows"]
        and counts["grant_keys_twice"] == 0,
        "spends": once(counts["spend_rows"], "spend"),
        "purchases": once(counts["purchase_rows"], "purchase"),
        "ingest": once(counts["stored_actions"], "ingest", BATCH),
        "quiz": once(counts["quiz_submissions"], "quiz")
        and counts["quiz_submissions"] == counts["quiz_players"] == counts["quiz_mission_grants"],
        "clicks": once(counts["clicks"], "click"),
        "impressions": served,
    }


# --- the run -------------------------------------------------------------------------------------------------------


def per_kind(kinds: list[str], run: dict[str, Any], samples: int = 3) -> dict[str, dict[str, Any]]:
    """Each kind's requests, rightly answered, server errors, other failures and latencies (from the scheduled send
    time), from the run's outcome of each request."""
    out: dict[str, dict[str, Any]] = {}
    statuses, latencies, failed = run["status_by_request"], run["latency_by_request"], run["failed_by_request"]
    for kind in SHARES:
        idx = [i for i, k in enumerate(kinds) if k == kind]
        lat = [latencies[i] for i in idx if not math.isnan(latencies[i])]
        out[kind] = {
            "requests": len(idx),
            "ok": sum(1 for i in idx if not failed[i]),
            "server_errors": sum(1 for i in idx if statuses[i] >= 500),
            "no_answer": sum(1 for i in idx if statuses[i] == 0),
            "other_errors": sum(1 for i in idx if failed[i] and 0 < statuses[i] < 500),
            "statuses": dict(Counter(statuses[i] for i in idx)),
            "p50_ms": round(percentile(lat, 50) * 1000, 2) if lat else None,
            "p99_ms": round(percentile(lat, 99) * 1000, 2) if lat else None,
            "max_ms": round(max(lat) * 1000, 2) if lat else None,
        }
    by_index = {int(e.split(":", 1)[0].split()[1]): e for e in run["errors"] if e.startswith("request ")}
    for i, text in sorted(by_index.items()):
        bucket = out[kinds[i]].setdefault("error_samples", [])
        if len(bucket) < samples:
            bucket.append(text[:300])
    return out


def warm_up(port: int, requests: dict[str, list[Request]], server: Server) -> tuple[Counter[str], int]:
    """Each kind's warm-up requests (closed loop, 4 clients): every one must be answered rightly. Returns the
    requests of each kind and the proposals served."""
    ok: Counter[str] = Counter()
    served = 0
    for kind, batch in requests.items():
        run = run_load(batch, port=port, concurrency=4, max_seconds=60, check=check_any, cpu_groups={})
        if run["n_errors"]:
            server.dump_log()
            raise SystemExit(f"warm-up errors ({kind}): {run['errors'][:3]}")
        ok[kind] += len(batch)
        served += int(run["counted"])
    return ok, served


CALIBRATE_SECONDS = 8.0


def calibrate(
    server: Server,
    alone: dict[str, list[Request]],
    rate: float,
    seed: int,
    pick: Callable[[], int],
    prefix: str,
    ok: Counter[str],
    unanswered: Counter[str],
) -> dict[str, Any]:
    """Each kind alone, open loop at ``rate`` for CALIBRATE_SECONDS: its latencies and CPU per request by process
    group; then what the mix's shares of those costs add up to (CPU a mixed request, and the cores the mix takes at
    the soak's rate). Adds to ``ok`` and ``unanswered`` what it sent."""
    out: dict[str, Any] = {"rate_per_s": rate, "seconds": CALIBRATE_SECONDS}
    served = 0
    groups = server.cpu_groups()
    for kind in SHARES:
        requests = alone[kind] if kind != "grant" else []
        offsets = schedule(len(alone["recommendation"]), rate, "poisson", seed)
        if kind == "grant":
            start = time.time() + 1.0
            requests = [grant_request(pick(), 300, f"{prefix}cal-{i}", start + at) for i, at in enumerate(offsets)]
        time.sleep(1.0)
        run = run_open(
            requests, port=server.port, rate=rate, check=check_any, cpu_groups=groups, offsets=offsets[: len(requests)]
        )
        summary = open_summary(run)
        ok[kind] += summary["ok"]
        unanswered[kind] += sum(1 for s in run["status_by_request"] if s == 0)
        served += int(run["counted"])
        out[kind] = {
            "requests": len(requests),
            "errors": summary["errors"],
            "p50_ms": summary["p50_ms"],
            "p99_ms": summary["p99_ms"],
            "cpu_ms_per_request": summary["cpu_ms_per_request"],
            "other_cores": summary["cpu"].get("other_cores"),
        }
        log(f"alone, {kind}: p99 {summary['p99_ms']} ms; CPU ms a request {summary['cpu_ms_per_request']}")
    mixed = {
        group: round(sum(SHARES[k] * out[k]["cpu_ms_per_request"].get(group, 0.0) for k in SHARES), 3)
        for group in ("server", "postgres", "redis", "client")
    }
    out["mix_cpu_ms_per_request"] = mixed
    out["proposals_served"] = served
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="60 s instead of 600, memory compared from 10 s on")
    parser.add_argument("--rate", type=float, default=500.0, help="offered requests a second (default 500)")
    parser.add_argument("--seconds", type=float, default=None, help="the schedule's length (default 600; quick 60)")
    parser.add_argument("--players", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="granian's blocking threads per worker")
    parser.add_argument("--arrivals", choices=ARRIVALS, default="poisson")
    parser.add_argument("--throttles", choices=("production", "off"), default="production")
    parser.add_argument("--memory-every", type=float, default=10.0, help="seconds between memory samples")
    parser.add_argument(
        "--calibrate",
        type=float,
        default=0.0,
        metavar="RATE",
        help="before the mixed run, each kind alone at RATE a second for 8 s: its CPU per request (default: off)",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    seconds = args.seconds or (60.0 if args.quick else 600.0)
    cal_n = round(args.calibrate * CALIBRATE_SECONDS)
    warm_s = 10.0 if args.quick else 60.0
    total = round(args.rate * seconds)
    kinds = plan_kinds(total, SHARES, args.seed)
    planned = Counter(kinds)
    if planned["quiz"] + WARM_UP + cal_n > args.players:
        raise SystemExit(f"{planned['quiz'] + WARM_UP + cal_n} quiz submissions need as many players (--players)")

    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    log(f"uptime: {uptime}")
    load_at_start = load_average()
    env = BenchEnv()
    env.env["NOTIFICATIONS_TRANSPORT"] = "log"
    if args.throttles == "production":  # the settings' own rates, as production serves
        env.env.pop("THROTTLE_PLAYER_RATE", None)
        env.env.pop("THROTTLE_SERVICE_RATE", None)
    env.prepare()
    setup_django(env)
    create_funded_players(env, args.players)
    key = env.create_api_key("soak")
    tokens = player_tokens(args.players)
    questions = quiz_bench.quiz_questions()
    quiz_bench._QUESTIONS[:] = questions
    prefix = f"soak{args.seed}-"
    rng = random.Random(args.seed)
    quiz_players = rng.sample(range(1, args.players + 1), planned["quiz"] + WARM_UP + cal_n)

    def pick() -> int:
        return rng.randint(1, args.players)

    def build(kind: str, count: int, tag: str, seed: int) -> list[Request]:
        """``count`` requests of a kind that needs nothing from the server (not grants, not clicks); their keys,
        payment and event ids start with ``<prefix><tag>-``."""
        if kind == "recommendation":
            return [recommendation_request(tokens[pick()]) for _ in range(count)]
        if kind == "ingest":
            return ingest_requests(key, count, args.players, f"{prefix}{tag}-", seed)
        if kind == "spend":
            return [spend_request(key, pick(), f"{prefix}{tag}-{i}") for i in range(count)]
        if kind == "purchase":
            return [purchase_request(key, pick(), f"{prefix}{tag}-{i}") for i in range(count)]
        if kind == "quiz":
            first = {"warm": 0, "cal": WARM_UP, "run": WARM_UP + cal_n}[tag]
            return quiz_requests(tokens, quiz_players[first : first + count], questions, seed)
        raise ValueError(kind)

    simple = ("recommendation", "ingest", "spend", "purchase", "quiz")
    warm = {kind: build(kind, WARM_UP, "warm", args.seed + 1000) for kind in simple}
    timed = {kind: build(kind, planned[kind], "run", args.seed) for kind in simple}
    alone = {kind: build(kind, cal_n, "cal", args.seed + 2000) for kind in simple} if cal_n else {}
    from django.db import connections

    connections.close_all()  # no connection crosses the fork into the client processes
    log(f"{total:,} requests planned ({dict(planned)}); load average {load_average()}")

    with Server(env, workers=args.workers, worker_class="granian", threads=args.threads) as server:
        proposals, served_before = serve_proposals(server.port, tokens, planned["click"] + WARM_UP + cal_n, args.seed)
        log(f"{len(proposals):,} proposals served for the clicks ({served_before:,} in all)")
        warm["click"] = [click_request(tokens[pid], pid_) for pid, pid_ in proposals[:WARM_UP]]
        now = time.time()
        warm["grant"] = [grant_request(pick(), 300, f"{prefix}warm-{i}", now) for i in range(WARM_UP)]
        ok, warm_served = warm_up(server.port, warm, server)
        calibration: dict[str, Any] = {}
        unanswered: Counter[str] = Counter()
        if cal_n:
            alone["click"] = [click_request(tokens[pid], p) for pid, p in proposals[WARM_UP : WARM_UP + cal_n]]
            calibration = calibrate(server, alone, args.calibrate, args.seed, pick, prefix, ok, unanswered)
            warm_served += calibration.pop("proposals_served")
        clicks = iter(click_request(tokens[pid], proposal) for pid, proposal in proposals[WARM_UP + cal_n :])
        offsets = schedule(total, args.rate, args.arrivals, args.seed)
        lead = 1.0 + total / 100_000  # the generator builds its requests' bytes before the start
        start = time.time() + lead + 0.5  # about the start: the list below takes a moment to build
        per_kind_iter = {kind: iter(timed[kind]) for kind in simple}
        requests: list[Request] = []
        for i, kind in enumerate(kinds):
            if kind == "grant":  # each delivery signed for its own send time
                amount = rng.choice((100, 200, 300, 500))
                requests.append(grant_request(pick(), amount, f"{prefix}run-{i}", start + offsets[i]))
            elif kind == "click":
                requests.append(next(clicks))
            else:
                requests.append(next(per_kind_iter[kind]))
        groups = server.cpu_groups()
        memory = MemorySampler(server, env, args.memory_every)
        load_before = load_average()
        log(f"open loop: {total:,} requests at {args.rate:g}/s for {seconds:g}s; load average {load_before}")
        memory.start()
        t_run = time.monotonic()

        def progress(counts: dict[str, int]) -> None:
            log(
                f"  {time.monotonic() - t_run:5.0f}s: sent {counts['sent']:,}, answered {counts['answered']:,}, "
                f"failed {counts['failed']:,}; load average {load_average()[0]}"
            )

        run = run_open(
            requests,
            port=server.port,
            rate=args.rate,
            arrivals=args.arrivals,
            seed=args.seed,
            check=check_any,
            cpu_groups=groups,
            error_samples=200,
            progress=progress,
            offsets=offsets,
            lead_seconds=lead,
        )
        memory.stop()
        load_after = load_average()
        summary = open_summary(run)
        log(
            f"open loop: {summary['achieved_per_s']}/s achieved, p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} "
            f"ms, errors {summary['errors']}"
        )
        worker_restarts = sorted(set(server.worker_pids())) != sorted(
            pid for pid, (g, _) in memory.samples[0][1].items() if g == "server worker"
        )
    # The server has stopped: every worker has written its buffered impressions.
    kinds_run = per_kind(kinds, run)
    for kind in SHARES:
        ok[kind] += kinds_run[kind]["ok"]
    # check_recommendation counts the proposals each answer carried
    proposals_served = served_before + warm_served + int(run["counted"])
    checks = ledger_checks(env, args.players)
    counts = row_counts(env, prefix)
    unanswered.update({kind: kinds_run[kind]["no_answer"] for kind in SHARES})
    exact = counts_exact(counts, ok, unanswered, proposals_served)
    mem = memory.report(warm_s)
    env.drop_database()
    env.flush_redis()  # as the other benches do: nothing of the run is left behind

    server_errors = sum(1 for s in run["status_by_request"] if s >= 500)
    other_errors = run["n_errors"] - server_errors
    rate_share = summary["achieved_per_s"] / args.rate if args.rate else 0.0
    results = {
        "uptime_at_start": uptime,
        "load_average_at_start": load_at_start,
        "load_average_before_run": load_before,
        "load_average_after_run": load_after,
        "cores": os.cpu_count(),
        "offered_per_s": args.rate,
        "scheduled_per_s": summary["scheduled_per_s"],
        "achieved_per_s": summary["achieved_per_s"],
        "requests": total,
        "answered": summary["answered"],
        "ok": summary["ok"],
        "server_errors": server_errors,
        "other_errors": other_errors,
        "unanswered": summary["unanswered"],
        "p50_ms": summary["p50_ms"],
        "p90_ms": summary["p90_ms"],
        "p99_ms": summary["p99_ms"],
        "p99_9_ms": summary["p99_9_ms"],
        "max_ms": summary["max_ms"],
        "p99_from_actual_send_ms": summary["p99_from_actual_send_ms"],
        "late_starts": summary["late_starts"],
        "max_in_flight": summary["max_in_flight"],
        "connections_opened": summary["connections_opened"],
        "per_kind": kinds_run,
        "cpu": summary["cpu"],
        "cpu_ms_per_request": summary["cpu_ms_per_request"],
        "memory": mem,
        "calibration_each_kind_alone": calibration or None,
        "server_workers_replaced_during_run": worker_restarts,
        "warm_up_requests_per_kind": WARM_UP,
        "proposals_served": proposals_served,
        "checks": checks,
        "row_counts": counts,
        "ok_per_kind_with_warm_up": dict(ok),
        "counts_exact": exact,
    }
    all_exact = all(exact.values())
    emit(
        "soak",
        {
            "quick": args.quick,
            "offered_per_s": args.rate,
            "seconds": seconds,
            "arrivals": args.arrivals,
            "shares": SHARES,
            "planned": dict(planned),
            "actions_per_ingest_request": BATCH,
            "players": args.players,
            "server": server_label("granian", args.workers, args.threads),
            "throttles": args.throttles,
            "memory_sampled_every_s": args.memory_every,
            "memory_compared_from_s": warm_s,
            "latency_from": "each request's scheduled send time",
            "database": "postgresql",
            "cache": "redis",
            "push_transport": "log",
            "seed": args.seed,
        },
        results,
        {
            "achieved_share_of_offered": target(round(rate_share, 4), TARGET_RATE_SHARE, ">="),
            "p99_ms": target(summary["p99_ms"], TARGET_P99_MS, "<="),
            "server_errors": target(server_errors, 0, "<="),
            "other_errors": target(other_errors, 0, "<="),
            "memory_growth_max_pct": target(mem["growth_max_pct"], TARGET_MEMORY_GROWTH_PCT, "<="),
            "ledger_equals_wallets": target(1.0 if ledger_equal(checks) else 0.0, 1.0, ">="),
            "redis_equals_wallets": target(1.0 if redis_equal(checks) else 0.0, 1.0, ">="),
            "counts_exact": target(1.0 if all_exact else 0.0, 1.0, ">="),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
