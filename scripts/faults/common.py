"""What the fault scripts share (issue 13, item 8): the bench environment, players, requests and checks.

Each fault script is a bench in all but name: ``python scripts/faults/<name>.py`` with ``DATABASE_URL`` and
``REDIS_URL`` as for ``bench/*.py``; it works in the bench database ``<dbname>_bench`` (recreated) and the bench's
Redis DB (15, or ``BENCH_REDIS_DB``; flushed), holds the machine-wide bench lock, serves the project with production
settings through granian, and prints one JSON line in the benches' shape (design brief section 7) with its checks as
targets. The players, their funded wallets, the requests and the ledger checks are ``bench/soak.py``'s.
"""

from __future__ import annotations

import http.client
import math
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

ROOT = Path(__file__).resolve().parent.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import BenchEnv, log  # noqa: E402
from bench.load import Request  # noqa: E402
from bench.soak import (  # noqa: E402
    create_funded_players,
    grant_request,
    player_tokens,
    setup_django,
)

Check = Callable[[int, bytes, Request], "str | None"]


@dataclass
class Fixture:
    """The bench environment with players 1..N funded, a key holding every scope and one token per player."""

    env: BenchEnv
    players: int
    key: str
    tokens: dict[int, str]


def prepare(players: int, *, throttles: bool = True, context: bool = True) -> Fixture:
    """Take the bench lock, recreate the bench database and Redis DB, and make the players (``bench/soak.py``'s
    ``create_funded_players``). ``throttles``: the settings' production rates (a fault must not be hidden by a
    throttle that is off); pushes go through the log transport."""
    env = BenchEnv()
    env.env["NOTIFICATIONS_TRANSPORT"] = "log"
    if throttles:
        env.env.pop("THROTTLE_PLAYER_RATE", None)
        env.env.pop("THROTTLE_SERVICE_RATE", None)
    env.prepare()
    setup_django(env)
    create_funded_players(env, players, context=context)
    key = env.create_api_key("faults")
    tokens = player_tokens(players)
    from django.db import connections

    connections.close_all()  # no connection crosses a fork into the load's processes
    return Fixture(env, players, key, tokens)


# --- requests and their answers -------------------------------------------------------------------------------------


def resign(request: Request, at: float | None = None) -> Request:
    """A Company A delivery signed again for ``at`` (default now), with the same id and body: what the sender does
    for each attempt of a delivery."""
    from bench.common import BENCH_WEBHOOK_SECRET
    from corporate.signing import sign

    stamp = int(at if at is not None else time.time())
    webhook_id = request.headers["webhook-id"]
    headers = {
        **request.headers,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(BENCH_WEBHOOK_SECRET, webhook_id, stamp, request.body or b""),
    }
    return replace(request, headers=headers)


def exchange(port: int, request: Request, timeout: float = 30) -> tuple[int, bytes, dict[str, str]]:
    """One request on a connection of its own (http.client): status, body and headers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(request.method, request.path, body=request.body, headers=request.headers)
        response = conn.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def wallet_check(*, retry: bool = False) -> Check:
    """The check of a wallet request's answer (``bench/soak.py``'s: a grant 200 processed, a spend or purchase 201
    with its ledger row). A retry may find its first attempt applied: a grant's answer is then "duplicate" (a spend's
    or purchase's is the first answer again, 201, marked ``Idempotent-Replayed``)."""
    from bench.soak import CHECKS

    def check(status: int, body: bytes, request: Request) -> str | None:
        kind = {"/api/corporate/webhook": "grant", "/api/wallet/spend": "spend", "/api/wallet/purchase": "purchase"}[
            request.path
        ]
        try:
            if kind == "grant" and retry and status == 200 and orjson.loads(body).get("status") == "duplicate":
                return None
            return CHECKS[kind](status, body, request)
        except (ValueError, AttributeError) as exc:
            return f"HTTP {status}, unreadable answer ({exc.__class__.__name__}): {body[:200]!r}"

    return check


def ledger_key(request: Request) -> str:
    """The ledger's idempotency key a wallet request writes under (``wallet.services``, ``corporate.services``)."""
    if request.path == "/api/corporate/webhook":
        return "corporate:" + request.headers["webhook-id"]
    body = orjson.loads(request.body or b"{}")
    if request.path == "/api/wallet/spend":
        return "spend:" + body["idempotency_key"]
    if request.path == "/api/wallet/purchase":
        return "purchase:" + body["payment_id"]
    raise ValueError(request.path)


def retry_failed(
    port: int, requests: Sequence[Request], failed: Sequence[int], check: Check, *, attempts: int = 5
) -> dict[str, Any]:
    """Send each failed request again, as a client that got no answer (or an error) does: the same body and key, a
    Company A delivery signed again; each up to ``attempts`` times, a second apart, until its check passes. Returns
    the outcome: how many were retried, succeeded, and how (a first write, or the first answer replayed)."""
    outcome: Counter[str] = Counter()
    problems: list[str] = []
    for index in failed:
        request = requests[index]
        for attempt in range(attempts):
            if request.path == "/api/corporate/webhook":
                request = resign(request)
            try:
                status, body, headers = exchange(port, request)
            except OSError as exc:
                problem: str | None = f"{exc.__class__.__name__}: {exc}"
            else:
                problem = check(status, body, request)
            if problem is None:
                outcome["retried_ok"] += 1
                outcome[f"attempts_{attempt + 1}"] += 1
                if headers.get("idempotent-replayed") == "true" or b'"duplicate"' in body:
                    outcome["answered_as_a_replay"] += 1
                break
            if attempt == attempts - 1:
                outcome["retried_failed"] += 1
                problems.append(f"request {index}: {problem}")
            time.sleep(1)
    return {"retried": len(failed), **outcome, "problems": problems[:5]}


def keys_applied(env: BenchEnv, keys: Sequence[str]) -> dict[str, Any]:
    """How many ledger rows each key has: every key must have exactly one (applied once: not lost, not twice).

    ``keys`` as ``ledger_key`` gives them, without the caller's scope: the wallet stores a service key's spends and
    purchases under ``<namespace>@<api key id>:<key>`` (``wallet.services.caller_key``); the scripts send them all
    with one key, so the scope is read off."""
    with env.connect() as conn:
        rows = dict(
            conn.execute(
                "SELECT k, count(*) FROM (SELECT regexp_replace(idempotency_key, '^([a-z_]+)@[0-9]+:', '\\1:') AS k "
                "FROM token_ledger) scoped WHERE k = ANY(%s) GROUP BY k",
                [list(keys)],
            ).fetchall()
        )
    missing = [k for k in keys if k not in rows]
    twice = [k for k, n in rows.items() if n > 1]
    return {
        "keys": len(keys),
        "applied_once": sum(1 for n in rows.values() if n == 1),
        "missing": len(missing),
        "applied_more_than_once": len(twice),
        "missing_sample": missing[:5],
    }


def outcome_by_time(
    offsets: Sequence[float], statuses: Sequence[int], failed: Sequence[int], *, bucket_s: float = 1.0
) -> list[dict[str, Any]]:
    """Per second of the schedule (by scheduled send time): requests, failures and their statuses (0: no answer)."""
    buckets: dict[int, Counter[str]] = {}
    for at, status, bad in zip(offsets, statuses, failed, strict=True):
        b = buckets.setdefault(int(at // bucket_s), Counter())
        b["requests"] += 1
        if bad:
            b["failed"] += 1
            b[f"status_{status}"] += 1
    return [{"second": k * bucket_s, **dict(v)} for k, v in sorted(buckets.items()) if v["failed"]]


def latency_ms(values: Sequence[float], p: float) -> float | None:
    from bench.common import percentile

    kept = [v for v in values if not math.isnan(v)]
    return round(percentile(kept, p) * 1000, 2) if kept else None


__all__ = [
    "Fixture",
    "exchange",
    "grant_request",
    "keys_applied",
    "latency_ms",
    "ledger_key",
    "log",
    "outcome_by_time",
    "prepare",
    "resign",
    "retry_failed",
    "wallet_check",
]
