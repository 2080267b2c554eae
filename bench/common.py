"""Helpers shared by the benchmarks (design brief section 7).

A benchmark never touches the developer's database or Redis keyspace: it works in a
dedicated database ``<dbname>_bench`` on the same PostgreSQL server (dropped and
recreated at the start) and a separate Redis DB index (15, or ``BENCH_REDIS_DB``; flushed), and serves the
project with a real server (granian or gunicorn) on a free loopback port.

Progress goes to stderr (``log``); the last line on stdout is the JSON result (``emit``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tokenloop"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# The Redis DB index a bench flushes and uses (on REDIS_URL's server): 15, unless BENCH_REDIS_DB names another
# (several people benchmarking on one Redis each take their own).
BENCH_REDIS_DB = int(os.environ.get("BENCH_REDIS_DB", "15"))
LOCK_PATH = "/tmp/tokenloop-bench.lock"  # one benchmark at a time on this machine
# Production settings require Company A's signing secret; the benches sign with this one.
BENCH_WEBHOOK_SECRET = "whsec_" + "YmVuY2gtd2ViaG9vay1zZWNyZXQtMDEyMzQ1Njc4OQ=="
_LOCK_FILE: Any = None  # open (and locked) until the process exits

_T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


# --- statistics and output ---------------------------------------------------------------


def load_average() -> list[float]:
    """The machine's load averages (1, 5, 15 minutes), as every bench reports them beside its figures."""
    return [round(x, 2) for x in os.getloadavg()]


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def target(value: float, goal: float, op: str) -> dict[str, Any]:
    if op not in (">=", "<="):
        raise ValueError(op)
    ok = (value >= goal) if op == ">=" else (value <= goal)
    if isinstance(value, float) and math.isnan(value):
        ok = False
    return {"value": value, "target": goal, "op": op, "ok": bool(ok)}


def fund_players(conn: Any, *, players: int, tokens: int) -> None:
    """Players 1..N (made already) each hold ``tokens``: one GRANT ledger row apiece (key ``bench-fund:<id>``) and the
    wallets written from the ledger, as the wallet's own path would leave them (ledger = wallets)."""
    conn.execute(
        "INSERT INTO token_ledger (player_id, idempotency_key, request_hash, kind, source, amount, balance_after, "
        "created_at, action_id, actor, reason, details) "
        "SELECT g, 'bench-fund:' || g, 'bench', 'GRANT', 'reward', %s, %s, now() - interval '1 day', NULL, "
        "'bench', 'bench funds', '{}'::jsonb FROM generate_series(1, %s) g",
        [tokens, tokens, players],
    )
    conn.execute(
        "INSERT INTO wallets (player_id, balance, last_entry_id, updated_at) "
        "SELECT player_id, balance_after, id, now() FROM token_ledger"
    )


def emit(bench: str, params: dict[str, Any], results: dict[str, Any], targets: dict[str, Any]) -> None:
    """Print the benchmark's one JSON line, last on stdout."""
    sys.stderr.flush()
    print(json.dumps({"bench": bench, "params": params, "results": results, "targets": targets}), flush=True)


# --- CPU accounting (Linux /proc) -----------------------------------------------------------

_CLK_TCK = os.sysconf("SC_CLK_TCK")


def finish(
    env: Any,
    *,
    bench: str,
    params: dict[str, Any],
    results: dict[str, Any],
    targets: dict[str, Any],
    complete: bool,
    keep_db: bool,
) -> None:
    """A database bench's end: its targets count as met only when its checks held (``complete``); the bench database
    and Redis DB emptied unless ``keep_db``; the JSON line."""
    for outcome in targets.values():
        outcome["ok"] = outcome["ok"] and complete
    if not keep_db:
        from django.db import connections

        connections.close_all()
        env.drop_database()
        env.flush_redis()
    emit(bench, params, results, targets)


def system_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        parts = [float(x) for x in f.readline().split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0.0)
    total = sum(parts[:8])
    return total - idle, total


def process_cpu_seconds(pids: Iterable[int]) -> float:
    """User + system CPU seconds used so far by these processes (gone ones count 0)."""
    return sum(per_process_cpu_seconds(pids).values())


def per_process_cpu_seconds(pids: Iterable[int]) -> dict[int, float]:
    """{pid: user + system CPU seconds so far} for the processes that still exist."""
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (float(fields[11]) + float(fields[12])) / _CLK_TCK
    return out


def process_memory_kib(pid: int) -> dict[str, int] | None:
    """A process's resident memory from /proc/<pid>/status, in KiB: ``VmRSS`` and its parts ``RssAnon`` (private:
    heap and stacks), ``RssFile`` (mapped files: code) and ``RssShmem`` (shared memory: PostgreSQL's shared buffers
    as a backend touches them); None when the process is gone."""
    wanted = {"VmRSS", "RssAnon", "RssFile", "RssShmem"}
    try:
        with open(f"/proc/{pid}/status") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    out = {}
    for line in lines:
        name, _, value = line.partition(":")
        if name in wanted:
            out[name] = int(value.split()[0])
    return out if "VmRSS" in out else None


def pids_named(comm: str) -> list[int]:
    """Processes whose command name is ``comm`` (e.g. every PostgreSQL backend: "postgres")."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as f:
                    if f.read().strip() == comm:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


CpuGroup = list[int] | Callable[[], list[int]]  # the processes, or a function that lists them now


@dataclass
class CpuMeter:
    """CPU used during a phase: the whole machine and named groups of processes.

    A group given as a list counts the processes that exist at both ends of the phase. A group given as a
    function is listed again every second during the phase (``SAMPLE_S``): PostgreSQL backends come and go (Django
    reopens a connection that has reached CONN_MAX_AGE, 60 s), so a process that appears counts all its CPU and
    one that exits counts what it had used at its last sample.
    """

    SAMPLE_S = 1.0

    groups: dict[str, CpuGroup]
    _start: dict[str, dict[int, float]] = field(default_factory=dict)
    _seen: dict[str, dict[int, float]] = field(default_factory=dict)
    _sys: tuple[float, float] = (0.0, 0.0)
    _wall: float = 0.0
    _done: threading.Event = field(default_factory=threading.Event)
    _sampler: threading.Thread | None = None
    cpu_seconds: dict[str, float] = field(default_factory=dict)

    def _sample(self) -> None:
        for name, pids in self.groups.items():
            if callable(pids):
                self._seen[name].update(per_process_cpu_seconds(pids()))

    def _sample_until_done(self) -> None:
        while not self._done.wait(self.SAMPLE_S):
            self._sample()

    def start(self) -> None:
        self._start = {name: per_process_cpu_seconds(_listed(pids)) for name, pids in self.groups.items()}
        self._seen = {name: dict(before) for name, before in self._start.items()}
        self._sys = system_cpu()
        self._wall = time.monotonic()
        if any(callable(pids) for pids in self.groups.values()):
            self._done.clear()
            self._sampler = threading.Thread(target=self._sample_until_done, daemon=True)
            self._sampler.start()

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self._wall
        if self._sampler is not None:
            self._done.set()
            self._sampler.join()
            self._sampler = None
        self._sample()
        busy, total = system_cpu()
        busy_fraction = (busy - self._sys[0]) / max(total - self._sys[1], 1e-9)
        out = {"machine_busy_fraction": round(busy_fraction, 3)}
        counted = 0.0
        for name, pids in self.groups.items():
            before = self._start[name]
            if callable(pids):
                used = sum(seconds - before.get(pid, 0.0) for pid, seconds in self._seen[name].items())
            else:
                now = per_process_cpu_seconds(pids)
                used = sum(now[pid] - seconds for pid, seconds in before.items() if pid in now)
            self.cpu_seconds[name] = used
            counted += used
            out[f"{name}_cores"] = round(used / max(wall, 1e-9), 3)
        # Everything else: the kernel's share of our traffic, and any other load on the machine
        # (a large value means the run was skewed by other work).
        out["other_cores"] = round(busy_fraction * (os.cpu_count() or 1) - counted / max(wall, 1e-9), 3)
        return out


def _listed(pids: CpuGroup) -> list[int]:
    return pids() if callable(pids) else pids


# --- the bench environment: a database and a Redis DB of its own ------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def url_shown(url: str) -> str:
    """``url`` without its user and password, for logs (a Redis or database URL may hold a password)."""
    parts = urlsplit(url)
    netloc = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))


class BenchEnv:
    """The bench database, Redis DB and the environment every subprocess gets."""

    def __init__(self, database_url: str | None = None, redis_url: str | None = None) -> None:
        self.source_database_url = database_url or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
        if urlsplit(self.source_database_url).scheme not in ("postgres", "postgresql", "pgsql", "psql"):
            raise SystemExit(f"DATABASE_URL must be a PostgreSQL URL, got {self.source_database_url!r}")
        source_redis = redis_url or os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
        dbname = urlsplit(self.source_database_url).path.lstrip("/") or "tokenloop"
        self.dbname = f"{dbname}_bench"
        self.database_url = _with_path(self.source_database_url, "/" + self.dbname)
        self.admin_url = _with_path(self.source_database_url, "/postgres")
        self.redis_url = _with_path(source_redis, f"/{BENCH_REDIS_DB}")
        self.env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": "bench-secret-key-not-for-production-0123456789abcdefghij",
            "PLAYER_JWT_SECRET": "bench-player-jwt-secret-0123456789abcdef",
            "CORPORATE_WEBHOOK_SECRET": BENCH_WEBHOOK_SECRET,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback, no TLS proxy in front
            "THROTTLE_PLAYER_RATE": "",  # a bench drives a few players and keys far past any per-caller rate
            "THROTTLE_SERVICE_RATE": "",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
        self.env.pop("CELERY_BROKER_URL", None)  # tasks in-process: a bench measures one thing
        self._postmaster_pid = 0

    # PostgreSQL
    def connect(self, admin: bool = False, **kwargs: Any) -> Any:
        import psycopg

        return psycopg.connect(self.admin_url if admin else self.database_url, **kwargs)

    def recreate_database(self) -> None:
        from psycopg import sql

        with self.connect(admin=True, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.dbname)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))
        log(f"database {self.dbname} recreated")

    def copy_database(self, suffix: str) -> BenchEnv:
        """A copy of the bench database as it is now, ``<dbname>_<suffix>`` (recreated; ``CREATE DATABASE ...
        TEMPLATE``, so nothing may be connected to the bench database), as an environment of its own on the same
        Redis DB."""
        import copy

        from psycopg import sql

        other = copy.copy(self)
        other.dbname = f"{self.dbname}_{suffix}"
        other.database_url = _with_path(self.source_database_url, "/" + other.dbname)
        other.env = {**self.env, "DATABASE_URL": other.database_url}
        other._postmaster_pid = 0
        with self.connect(admin=True, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(other.dbname)))
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(other.dbname), sql.Identifier(self.dbname)
                )
            )
        return other

    def drop_database(self) -> None:
        from psycopg import sql

        with self.connect(admin=True, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.dbname)))

    def manage(self, *args: str, timeout: float = 600) -> str:
        proc = subprocess.run(
            [PYTHON, "manage.py", *args], cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        if proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit(f"manage.py {' '.join(args)} failed with exit code {proc.returncode}")
        return proc.stdout

    def migrate(self) -> None:
        self.manage("migrate", "--no-input")
        log("migrated")

    def postgres_pids(self) -> list[int]:
        """The server processes working for this run: the bench database's backends and the
        shared writers (WAL writer, checkpointer, background writer); not other databases' backends."""
        with self.connect() as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE (datname = current_database() AND pid <> pg_backend_pid()) "
                "OR backend_type IN ('walwriter', 'checkpointer', 'background writer')"
            ).fetchall()
        return [int(r[0]) for r in rows]

    def postgres_pids_now(self) -> list[int]:
        """The processes of ``postgres_pids``, found in /proc by their titles ("postgres: ... <user> <database>
        <client> <state>", "postgres: ... walwriter"): no connection of its own, so a ``CpuMeter`` can list them
        every second."""
        found = []
        for pid in children_of(self._postmaster()):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    title = f.read().replace(b"\0", b" ").decode(errors="replace").rstrip()
            except OSError:
                continue
            if f" {self.dbname} " in title or title.endswith(("walwriter", "checkpointer", "background writer")):
                found.append(pid)
        return found

    def _postmaster(self) -> int:
        """The PostgreSQL server's main process: the parent of this database's backends."""
        if not self._postmaster_pid:
            backend = self.postgres_pids()[0]
            with open(f"/proc/{backend}/stat") as f:
                self._postmaster_pid = int(f.read().rsplit(")", 1)[1].split()[1])
        return self._postmaster_pid

    def create_api_key(self, name: str = "bench", scopes: tuple[str, ...] = ()) -> str:
        """A key holding ``scopes`` (every scope when none are named)."""
        given = [f"--scope={scope}" for scope in scopes] or ["--all-scopes"]
        return self.manage("create_api_key", name, *given).strip().splitlines()[-1].strip()

    # Redis
    def redis(self) -> Any:
        import redis

        return redis.Redis.from_url(self.redis_url)

    def flush_redis(self) -> None:
        client = self.redis()
        client.flushdb()
        client.close()

    def lock(self, timeout: float = 900) -> None:
        """Hold the machine-wide benchmark lock until this process exits.

        Benchmarks share the bench database and Redis DB, and one running beside another skews both:
        a second one waits here for the first to finish.
        """
        global _LOCK_FILE
        if _LOCK_FILE is not None:
            return
        f = open(LOCK_PATH, "a+")  # noqa: SIM115 - held open until the process exits
        deadline = time.monotonic() + timeout
        waited = False
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not waited:
                    log(f"another benchmark is running (lock {LOCK_PATH}); waiting for it to finish")
                    waited = True
                if time.monotonic() > deadline:
                    raise SystemExit(f"another benchmark still holds {LOCK_PATH} after {timeout:.0f}s") from None
                time.sleep(1)
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()} {' '.join(sys.argv)}\n")
        f.flush()
        _LOCK_FILE = f

    def prepare(self) -> None:
        """Take the benchmark lock; then a fresh database, migrated, and an empty Redis DB."""
        self.lock()
        self.recreate_database()
        self.migrate()
        self.flush_redis()


# --- the server -------------------------------------------------------------------------------


def server_label(worker_class: str, workers: int, threads: int) -> str:
    if worker_class == "granian":
        return f"granian {workers} workers x {threads} blocking threads"
    return f"gunicorn {workers} {worker_class} workers x {threads} threads"


class Server:
    """The app served on a free loopback port by granian (``worker_class="granian"``) or gunicorn with
    that worker class; a context manager."""

    def __init__(
        self,
        bench_env: BenchEnv,
        *,
        workers: int = 2,
        worker_class: str = "sync",
        threads: int = 1,
        extra_env: dict[str, str] | None = None,
        extra_args: Sequence[str] = (),
        ready_path: str = "/readyz",
    ) -> None:
        self.bench_env = bench_env
        self.ready_path = ready_path  # answers 200 once the server serves (/healthz where a dependency is down)
        self.workers = workers
        self.worker_class = worker_class
        self.threads = threads
        self.extra_env = extra_env or {}
        self.extra_args = list(extra_args)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._log = tempfile.NamedTemporaryFile(prefix="bench-server-", suffix=".log", delete=False)  # noqa: SIM115

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        return children_of(self.proc.pid) if self.proc else []

    def cpu_groups(self) -> dict[str, CpuGroup]:
        """What a timed phase's CPU is counted for: the server's workers, PostgreSQL's processes (listed every second:
        connections are reopened every minute) and Redis."""
        return {
            "server": self.worker_pids(),
            "postgres": self.bench_env.postgres_pids_now,
            "redis": pids_named("redis-server"),
        }

    def start(self, timeout: float = 60) -> None:
        self.port = free_port()
        if self.worker_class == "granian":
            # granian: Rust HTTP/1.1 in each worker process, the WSGI app on its blocking threads.
            args = [
                PYTHON,
                "-m",
                "granian",
                "--interface",
                "wsgi",
                "config.wsgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
                "--blocking-threads",
                str(self.threads),
                "--runtime-threads",
                "1",
                "--backlog",
                "256",
                "--no-access-log",
            ]
        else:
            args = [
                PYTHON,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--worker-class",
                self.worker_class,
                "--threads",
                str(self.threads),
                "--keep-alive",
                "30",
                "--timeout",
                "120",
                "--backlog",
                "256",
                "--error-logfile",
                "-",
            ]
        args += self.extra_args
        env = {**self.bench_env.env, **self.extra_env}
        self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                self.dump_log()
                raise SystemExit(f"{args[2]} exited with code {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.base_url + self.ready_path, timeout=5) as resp:
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                self.dump_log()
                self.stop()
                raise SystemExit("the server did not become ready in time")
            time.sleep(0.2)
        # Every worker should be up (each answered or at least booted) before timing starts.
        while len(self.worker_pids()) < self.workers and time.monotonic() < deadline:
            time.sleep(0.1)
        log(f"ready on {self.base_url}: {server_label(self.worker_class, self.workers, self.threads)}")

    def dump_log(self, tail: int = 60) -> None:
        try:
            lines = Path(self._log.name).read_text(errors="replace").splitlines()
        except OSError:
            return
        for line in lines[-tail:]:
            print("  server| " + line, file=sys.stderr)

    def log_text(self) -> str:
        try:
            return Path(self._log.name).read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        with contextlib.suppress(OSError):
            os.unlink(self._log.name)
