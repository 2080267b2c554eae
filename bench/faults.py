"""Faults through a real server (issue 13, items 7 and 8): what the routes do while a dependency misbehaves, and
whether the money adds up afterwards. ``--redis-hung`` (the only fault so far):

The server (granian, production settings and throttles) reaches Redis through a proxy on loopback that can hang:
passing, it forwards every byte; hung, it accepts connections and answers nothing, as a Redis stopped by SIGSTOP, a
stalled disk or a host gone dark behind a firewall would. An open loop sends a mix at a modest rate, the same in
each phase: the player's recommendation (``GET /api/me/recommendations``), the player's wallet
(``GET /api/me/wallet``), a spend (``POST /api/wallet/spend``) and a Company A grant (``POST
/api/corporate/webhook``), each latency counted from its scheduled send time.

1. healthy: Redis passing (through the proxy), the baseline;
2. hung: the proxy stops answering; p99 per route (target: under 250 ms) and errors (target: 0);
3. back: the proxy forwards again (Redis kept its data, as after a real hang). Then: the ledger equals the wallets;
   every hung-phase spend and grant sent again is a replay (no token granted twice), and the ledger holds exactly one
   row per accepted write (none lost); Redis' copies of the balances the hang changed are stale and served so
   until they expire (``WALLET_BALANCE_CACHE_SECONDS``, short for the run), after which every balance served is the
   ledger's; the nightly reconciliation finds no drift left, and every copy Redis holds equals the ledger.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/faults.py --redis-hung [--quick]
        [--rate 40] [--healthy-seconds 10] [--hung-seconds 20] [--balance-cache-seconds 45]

The server takes the Redis settings from the environment like any other (REDIS_SOCKET_TIMEOUT_SECONDS,
REDIS_RETRY_AFTER_SECONDS=0 to measure timeouts alone, ...).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import selectors
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    BENCH_WEBHOOK_SECRET,
    BenchEnv,
    Server,
    emit,
    fund_players,
    load_average,
    log,
    percentile,
    server_label,
    target,
)
from bench.load import Request, run_load, run_open

TARGET_P99_MS = 250.0
PRODUCTION_THROTTLES = {"THROTTLE_PLAYER_RATE": "300/min", "THROTTLE_SERVICE_RATE": "60000/min"}
FUNDS = 100_000
SPEND = 10
ROUTES = ("recommendation", "wallet_read", "spend", "grant")


class RedisProxy:
    """A TCP proxy in front of Redis that can hang. Passing, it forwards bytes both ways. ``hang()``: from then on
    it forwards nothing either way (what it receives is read and dropped) and holds each new connection unanswered,
    so every Redis call waits for its timeout. ``resume()``: it forwards again. A client that timed out has closed
    its connection (redis-py does); one that sent nothing meanwhile finds its connection as it was. The dropped
    commands never reach Redis (a write Redis never saw: the worst case for its copies). One thread, one select
    loop."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self._sel = selectors.DefaultSelector()
        self._sel.register(self._listener, selectors.EVENT_READ)
        self._peer: dict[socket.socket, socket.socket | None] = {}  # each end to the other; None: held unanswered
        self._hung = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="redis-proxy", daemon=True)
        self.accepted_while_hung = 0
        self.dropped_bytes = 0  # what was sent either way while hung

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def hang(self) -> None:
        self._hung = True

    def resume(self) -> None:
        self._hung = False

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        for sock in list(self._peer):
            sock.close()
        self._listener.close()

    def _close(self, sock: socket.socket) -> None:
        other = self._peer.pop(sock, None)
        for s in (sock, other):
            if s is not None:
                self._peer.pop(s, None)
                self._sel.unregister(s)
                s.close()

    def _accept(self) -> None:
        client, _ = self._listener.accept()
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self._hung:
            self._peer[client] = None
            self.accepted_while_hung += 1
        else:
            server = socket.create_connection(self.upstream)
            server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._peer[client], self._peer[server] = server, client
            self._sel.register(server, selectors.EVENT_READ)
        self._sel.register(client, selectors.EVENT_READ)

    def _run(self) -> None:
        while not self._stop.is_set():
            for key, _mask in self._sel.select(0.02):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self._listener:
                    self._accept()
                    continue
                if sock not in self._peer:
                    continue
                try:
                    data = sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self._close(sock)
                    continue
                other = self._peer[sock]
                if other is None or self._hung:
                    self.dropped_bytes += len(data)
                    continue
                try:
                    other.sendall(data)
                except OSError:
                    self._close(sock)


# --- data and requests ----------------------------------------------------------------------------------------


def create_players(env: BenchEnv, players: int) -> None:
    """Players 1..N, each with FUNDS tokens (a GRANT ledger row and its wallet)."""
    with env.connect() as conn:
        conn.execute(
            "INSERT INTO players (id, signup_at, locale, timezone, age_verified) "
            "SELECT g, now() - interval '30 days', 'ko', 'Asia/Seoul', false FROM generate_series(1, %s) g",
            [players],
        )
        fund_players(conn, players=players, tokens=FUNDS)
        conn.execute("ANALYZE")
    log(f"{players} players with {FUNDS} tokens each")


class Mix:
    """The open loop's requests, in their send order, and the route of each."""

    def __init__(self, count: int, players: int, service_key: str, seed: int, tag: str) -> None:
        from core.auth import player_token_issue
        from corporate.signing import sign

        rng = random.Random(seed)
        now = int(time.time())
        issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 60))
        run = f"{uuid.uuid4().hex[:8]}-{tag}"
        tokens: dict[int, str] = {}
        self.requests: list[Request] = []
        self.routes: list[str] = []
        for i in range(count):
            route = ROUTES[i % len(ROUTES)] if count >= len(ROUTES) else rng.choice(ROUTES)
            pid = rng.randint(1, players)
            if route in ("recommendation", "wallet_read"):
                token = tokens.get(pid) or tokens.setdefault(pid, player_token_issue(player_id=pid, ttl_seconds=3600))
                path = "/api/me/recommendations" if route == "recommendation" else "/api/me/wallet"
                request = Request("GET", path, None, {"Authorization": f"Bearer {token}"})
            elif route == "spend":
                body = {"user_id": pid, "amount": SPEND, "game": "SlotMachine", "idempotency_key": f"f-{run}-{i}"}
                request = Request(
                    "POST",
                    "/api/wallet/spend",
                    orjson.dumps(body),
                    {"Content-Type": "application/json", "Authorization": f"Api-Key {service_key}"},
                )
            else:
                payload = {"user_id": pid, "earned_tokens": rng.choice((100, 200, 300)), "issued_at": issued}
                raw = orjson.dumps({"type": "token.earned", "timestamp": issued, "data": payload})
                msg_id = f"msg_faults_{run}_{i}"
                request = Request(
                    "POST",
                    "/api/corporate/webhook",
                    raw,
                    {
                        "Content-Type": "application/json",
                        "webhook-id": msg_id,
                        "webhook-timestamp": str(now),
                        "webhook-signature": sign(BENCH_WEBHOOK_SECRET, msg_id, now, raw),
                    },
                )
            self.requests.append(request)
            self.routes.append(route)
        order = list(range(count))
        rng.shuffle(order)  # the routes interleaved at random, not in a fixed rotation
        self.requests = [self.requests[i] for i in order]
        self.routes = [self.routes[i] for i in order]

    def writes(self) -> list[Request]:
        return [r for r, route in zip(self.requests, self.routes, strict=True) if route in ("spend", "grant")]


def check(status: int, body: bytes, request: Request) -> str | None:
    wanted = 201 if request.path == "/api/wallet/spend" else 200
    if status != wanted:
        return f"HTTP {status} on {request.path}: {body[:200]!r}"
    return None


def by_route(mix: Mix, run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each route's figures from one open loop: answered, errors, latency percentiles (from the scheduled send)."""
    latencies: dict[str, list[float]] = {route: [] for route in ROUTES}
    for index, latency in zip(run["answered_indices"], run["latencies"], strict=True):
        latencies[mix.routes[index]].append(latency)
    failed: dict[str, int] = dict.fromkeys(ROUTES, 0)
    for index in run["failed_indices"]:
        failed[mix.routes[index]] += 1
    out = {}
    for route in ROUTES:
        values = latencies[route]
        out[route] = {
            "sent": mix.routes.count(route),
            "answered": len(values),
            "errors": failed[route],
            "p50_ms": round(percentile(values, 50) * 1000, 2) if values else None,
            "p90_ms": round(percentile(values, 90) * 1000, 2) if values else None,
            "p99_ms": round(percentile(values, 99) * 1000, 2) if values else None,
            "max_ms": round(max(values) * 1000, 2) if values else None,
        }
    return out


def open_loop(mix: Mix, *, port: int, rate: float, seed: int, groups: dict[str, Any], what: str) -> dict[str, Any]:
    log(f"{what}: {len(mix.requests)} requests at {rate:g}/s (poisson); load average {load_average()}")
    run = run_open(mix.requests, port=port, rate=rate, arrivals="poisson", seed=seed, check=check, cpu_groups=groups)
    routes = by_route(mix, run)
    failed = set(run["failed_indices"])
    log(
        f"{what}: "
        + ", ".join(f"{r} p99 {v['p99_ms']} ms ({v['errors']} errors)" for r, v in routes.items())
        + (f"; error samples {run['errors'][:3]}" if run["errors"] else "")
    )
    return {
        "routes": routes,
        "errors": run["n_errors"],
        "error_samples": run["errors"][:3],
        "elapsed_s": round(run["elapsed"], 2),
        "achieved_per_s": round(run["ok_requests"] / run["elapsed"], 1) if run["elapsed"] > 0 else 0.0,
        "cpu": run["cpu"],
        "ok_writes": sum(1 for i in run["answered_indices"] if mix.routes[i] in ("spend", "grant") and i not in failed),
    }


# --- the state afterwards -------------------------------------------------------------------------------------


def wallets(env: BenchEnv) -> dict[int, int]:
    with env.connect() as conn:
        return dict(conn.execute("SELECT player_id, balance FROM wallets").fetchall())


def ledger_state(env: BenchEnv) -> dict[str, int]:
    with env.connect() as conn:
        differ = conn.execute(
            "SELECT count(*) FROM (SELECT w.player_id, w.balance, w.last_entry_id, "
            "coalesce(sum(l.amount), 0) AS total, coalesce(max(l.id), 0) AS last FROM wallets w "
            "LEFT JOIN token_ledger l ON l.player_id = w.player_id GROUP BY w.player_id) x "
            "WHERE balance <> total OR last_entry_id <> last"
        ).fetchone()[0]
        rows = conn.execute("SELECT count(*) FROM token_ledger").fetchone()[0]
        ledger_total = conn.execute("SELECT coalesce(sum(amount), 0) FROM token_ledger").fetchone()[0]
        wallet_total = conn.execute("SELECT coalesce(sum(balance), 0) FROM wallets").fetchone()[0]
        keys = conn.execute("SELECT count(*) - count(DISTINCT idempotency_key) FROM token_ledger").fetchone()[
            0
        ]  # unique by constraint: a check of the check
    return {
        "players_ledger_differs_from_wallet": int(differ),
        "ledger_rows": int(rows),
        "ledger_total": int(ledger_total),
        "wallet_total": int(wallet_total),
        "duplicate_idempotency_keys": int(keys),
    }


def redis_copies(env: BenchEnv, balances: dict[int, int]) -> dict[str, Any]:
    """Redis' copies against the wallets: how many it holds, and which of them differ."""
    client = env.redis()
    ids = sorted(balances)
    cached = client.mget([f"user:{pid}:cyber_token_balance" for pid in ids])
    client.close()
    held = {pid: int(v) for pid, v in zip(ids, cached, strict=True) if v is not None}
    stale = sorted(pid for pid, value in held.items() if value != balances[pid])
    return {"held": len(held), "stale": stale}


def served_balances(port: int, key: str, players: list[int]) -> dict[int, int]:
    """What GET /api/users/{id}/wallet serves for each player (one keep-alive connection)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    served = {}
    for pid in players:
        conn.request("GET", f"/api/users/{pid}/wallet", headers={"Authorization": f"Api-Key {key}"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"GET /api/users/{pid}/wallet answered {response.status}: {body[:200]!r}")
        served[pid] = int(orjson.loads(body)["balance"])
    conn.close()
    return served


def redis_url_via(redis_url: str, port: int) -> str:
    parts = urlsplit(redis_url)
    auth = parts.netloc.rpartition("@")[0]
    netloc = (auth + "@" if auth else "") + f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--redis-hung", action="store_true", required=True, help="the fault: Redis hangs")
    parser.add_argument("--quick", action="store_true", help="a small run that ends within a minute or two")
    parser.add_argument("--rate", type=float, default=40.0, help="requests a second, the four routes alike")
    parser.add_argument("--healthy-seconds", type=float, default=None, help="default 10 (quick 5)")
    parser.add_argument("--hung-seconds", type=float, default=None, help="default 20 (quick 10)")
    parser.add_argument(
        "--balance-cache-seconds",
        type=float,
        default=None,
        help="the server's WALLET_BALANCE_CACHE_SECONDS, longer than the hang so its stale copies show (default 45; "
        "quick 25)",
    )
    parser.add_argument("--players", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="granian blocking threads per worker (production's)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    healthy_s = args.healthy_seconds or (5.0 if args.quick else 10.0)
    hung_s = args.hung_seconds or (10.0 if args.quick else 20.0)
    lifetime = args.balance_cache_seconds or (25.0 if args.quick else 45.0)

    load_at_start = load_average()
    env = BenchEnv()
    env.env["NOTIFICATIONS_TRANSPORT"] = "log"
    env.env["WALLET_BALANCE_CACHE_SECONDS"] = str(lifetime)
    env.env.update(PRODUCTION_THROTTLES)
    os.environ.update(env.env)
    import django

    django.setup()
    from django.conf import settings

    env.prepare()
    create_players(env, args.players)
    service_key = env.create_api_key("faults")
    redis_parts = urlsplit(env.redis_url)
    proxy = RedisProxy((redis_parts.hostname or "127.0.0.1", redis_parts.port or 6379))
    proxy.start()
    server_env = {"REDIS_URL": redis_url_via(env.redis_url, proxy.port)}
    healthy = Mix(round(args.rate * healthy_s), args.players, service_key, args.seed, "healthy")
    hung = Mix(round(args.rate * hung_s), args.players, service_key, args.seed + 1, "hung")
    warm = Mix(200, args.players, service_key, args.seed + 2, "warm")
    log(f"{len(healthy.requests)} healthy and {len(hung.requests)} hung-phase requests built")
    with Server(env, workers=args.workers, worker_class="granian", threads=args.threads, extra_env=server_env) as srv:
        groups = srv.cpu_groups()
        run_load(warm.requests, port=srv.port, concurrency=4, max_seconds=60, check=check, cpu_groups={})
        rows_before = ledger_state(env)["ledger_rows"]
        phase_healthy = open_loop(healthy, port=srv.port, rate=args.rate, seed=args.seed, groups=groups, what="healthy")
        proxy.hang()
        hung_at = time.monotonic()
        log("Redis hung (the proxy answers nothing)")
        phase_hung = open_loop(hung, port=srv.port, rate=args.rate, seed=args.seed + 1, groups=groups, what="hung")
        proxy.resume()
        log(f"Redis back; meanwhile {proxy.accepted_while_hung} connections held, {proxy.dropped_bytes} bytes dropped")
        # What the hang left behind, before anything reads or writes again.
        balances = wallets(env)
        after = ledger_state(env)
        accepted_writes = phase_healthy["ok_writes"] + phase_hung["ok_writes"]
        copies = redis_copies(env, balances)
        stale_players = copies["stale"]
        served_right_after = served_balances(srv.port, service_key, stale_players)
        served_stale_right_after = sum(1 for pid, v in served_right_after.items() if v != balances[pid])
        # Every hung-phase write again, as a client retrying: each a replay.
        retried = run_load(hung.writes(), port=srv.port, concurrency=4, max_seconds=120, check=check, cpu_groups={})
        after_retries = ledger_state(env)
        wait = lifetime - (time.monotonic() - hung_at) + 1.0
        log(f"{len(stale_players)} stale copies in Redis; waiting {max(wait, 0):.0f} s for them to expire")
        time.sleep(max(wait, 0.0))
        served_later = served_balances(srv.port, service_key, stale_players)
        served_stale_later = sum(1 for pid, v in served_later.items() if v != balances[pid])
    proxy.stop()
    reconcile = env.manage("reconcile_balances").strip().splitlines()[0]
    log(f"reconcile_balances: {reconcile}")
    final_balances = wallets(env)
    final = ledger_state(env)
    final_copies = redis_copies(env, final_balances)
    env.drop_database()
    env.flush_redis()

    new_rows = after["ledger_rows"] - rows_before
    results = {
        "load_average_at_start": load_at_start,
        "cores": os.cpu_count(),
        "healthy": phase_healthy,
        "hung": phase_hung,
        "redis_while_hung": {"connections_held": proxy.accepted_while_hung, "bytes_dropped": proxy.dropped_bytes},
        "after": {
            "ledger": after,
            "accepted_writes": accepted_writes,
            "new_ledger_rows": new_rows,
            "redis_copies_held": copies["held"],
            "redis_copies_stale_when_back": len(stale_players),
            "served_stale_when_back": served_stale_right_after,
            "retried_writes": retried["requests"],
            "retries_failed": retried["n_errors"],
            "ledger_rows_added_by_retries": after_retries["ledger_rows"] - after["ledger_rows"],
            "served_stale_after_lifetime": served_stale_later,
            "reconcile": reconcile,
            "final_ledger": final,
            "final_redis_copies_held": final_copies["held"],
            "final_redis_copies_stale": len(final_copies["stale"]),
        },
        "load_average_at_end": load_average(),
    }
    consistent = (
        final["players_ledger_differs_from_wallet"] == 0
        and final["ledger_total"] == final["wallet_total"]
        and final["duplicate_idempotency_keys"] == 0
        and not final_copies["stale"]
    )
    hung_routes = phase_hung["routes"]
    targets = {
        **{
            f"hung_{route}_p99_ms": target(hung_routes[route]["p99_ms"] or float("nan"), TARGET_P99_MS, "<=")
            for route in ROUTES
        },
        "hung_errors": target(phase_hung["errors"], 0, "<="),
        "no_token_lost_or_granted_twice": target(
            1.0 if new_rows == accepted_writes and after_retries["ledger_rows"] == after["ledger_rows"] else 0.0,
            1.0,
            ">=",
        ),
        "served_stale_after_lifetime": target(served_stale_later, 0, "<="),
        "ledger_equals_wallets_and_redis": target(1.0 if consistent else 0.0, 1.0, ">="),
    }
    emit(
        "faults",
        {
            "fault": "redis-hung",
            "rate_per_s": args.rate,
            "routes": {
                "recommendation": "GET /api/me/recommendations (player)",
                "wallet_read": "GET /api/me/wallet (player)",
                "spend": "POST /api/wallet/spend (service key)",
                "grant": "POST /api/corporate/webhook token.earned (Company A)",
            },
            "mix": "the four routes alike, interleaved at random; poisson arrivals",
            "healthy_seconds": healthy_s,
            "hung_seconds": hung_s,
            "players": args.players,
            "server": server_label("granian", args.workers, args.threads),
            "throttles": "production's (each throttled request counts in Redis)",
            "redis": "through a loopback proxy that forwards, or hangs (accepts, answers nothing)",
            "redis_connect_timeout_s": settings.REDIS_CONNECT_TIMEOUT_SECONDS,
            "redis_socket_timeout_s": settings.REDIS_SOCKET_TIMEOUT_SECONDS,
            "redis_retry_after_s": settings.REDIS_RETRY_AFTER_SECONDS,
            "wallet_balance_cache_seconds": lifetime,
            "latency_from": "each request's scheduled send time",
            "quick": args.quick,
        },
        results,
        targets,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
