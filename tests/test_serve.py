"""`make run`'s server (scripts/serve.sh: granian, WEB_WORKERS x WEB_THREADS, the local settings) under 64
concurrent keep-alive clients, against this pass's database and Redis.

On PostgreSQL the server uses the test database; on the embedded default a SQLite file of its own (the test
database lives in memory, where another process cannot open it), migrated first. No Celery worker or beat is
started: they would run against the test database and take tasks from a shared broker, and no route asked here
queues a task.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from django.conf import settings
from django.db import connection

from tests import factories

CLIENTS = 64
ROUNDS = 3  # each client sends every request of ROUTES this many times on its one connection
ROUTES = (
    "/readyz",  # a database round trip and a hot-store ping
    "/api/me/notifications",  # a player's token, a query of their notifications
    "/static/admin/css/base.css",  # a static file through WhiteNoise
)
CONNECT_SECONDS = 0.5
SERVE = Path(settings.BASE_DIR) / "scripts" / "serve.sh"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to serve.sh (it stops granian, which stops its workers); then nothing of its group may be left."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def server(db: None, tmp_path: Path) -> Iterator[str]:
    """scripts/serve.sh on a free loopback port; its base URL once /readyz answers 200."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "CELERY_BROKER_URL"}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.local",  # as `make run`
        PY=sys.executable,
        PORT=str(port),
        PLAYER_JWT_SECRET=settings.PLAYER_JWT_SECRET,
        THROTTLE_PLAYER_RATE="",  # 64 clients as a few players: no per-caller rate (as the test settings)
        THROTTLE_SERVICE_RATE="",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path),
        LOG_LEVEL="WARNING",
    )
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = database_url()
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        env["HOT_CACHE_PATH"] = str(tmp_path / "hot.sqlite3")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "--verbosity", "0"],
            cwd=settings.BASE_DIR,
            env=env,
            check=True,
            timeout=120,
        )
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        ["bash", str(SERVE)],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text(errors="replace")
            try:
                probe = http.client.HTTPConnection(base, timeout=5)
                probe.request("GET", "/readyz")
                if probe.getresponse().status == 200:
                    probe.close()
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text(errors="replace")
            time.sleep(0.2)
        yield base
    finally:
        stop(proc)
        log.close()


def test_make_runs_server_answers_64_concurrent_keep_alive_clients_without_a_connection_error(server):
    # given 64 clients and a player token
    token = factories.player_token(4242)
    headers = {"Authorization": f"Bearer {token}"}
    start = threading.Barrier(CLIENTS)
    answers: list[list[tuple[str, int, bool]]] = [[] for _ in range(CLIENTS)]
    errors: list[BaseException] = []

    def client(i: int) -> None:
        conn = http.client.HTTPConnection(server, timeout=30)
        try:
            start.wait(timeout=30)
            # Accepted at once: a full listen queue drops the SYN, and the client tries again only after a second.
            host, port = server.split(":")
            sock = socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS)
            sock.settimeout(30)
            conn.sock = sock
            for _ in range(ROUNDS):
                for path in ROUTES:
                    conn.request("GET", path, headers=headers)
                    response = conn.getresponse()
                    response.read()
                    # the same socket throughout: no answer closed it and no request needed a new connection
                    answers[i].append((path, response.status, conn.sock is sock and not response.will_close))
        except BaseException as exc:  # noqa: BLE001 - every failure is reported below
            errors.append(exc)
        finally:
            conn.close()

    # when all connect at the same instant, then each sends its requests one after the other on its connection
    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    took = time.monotonic() - began

    # then no connection was refused, reset or closed, and every answer is a 200
    assert errors == [], errors[:5]
    flat = [answer for per_client in answers for answer in per_client]
    assert len(flat) == CLIENTS * ROUNDS * len(ROUTES)
    assert [a for a in flat if a[1] != 200 or not a[2]] == []
    print(f"{len(flat)} requests from {CLIENTS} keep-alive clients in {took:.2f} s")


def test_the_server_refuses_a_10_mb_body_with_413_and_a_chunked_body_with_411(server):
    # given the server and a well-formed ingest batch of just over 10 MB
    item = {
        "event_id": "e",
        "user_id": 1,
        "action_type": "SESSION_START",
        "action_timestamp": "2026-11-25T20:15:00+09:00",
    }
    body = orjson.dumps(
        {"actions": [{**item, "event_id": f"e{i}", "metadata": {"pad": "x" * 1000}} for i in range(10_000)]}
    )
    assert len(body) > 10 * 1024 * 1024
    headers = {"Authorization": "Api-Key tl_unknown", "Content-Type": "application/json"}
    # when it is posted with its Content-Length
    conn = http.client.HTTPConnection(server, timeout=60)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the answer may come before the body is sent
        conn.request("POST", "/api/actions", body=body, headers=headers)
    response = conn.getresponse()
    # then the answer is a 413 JSON error, given before authentication
    assert response.status == 413
    assert orjson.loads(response.read())["error"] == "request_too_large"
    conn.close()
    # when a body is sent chunked (no Content-Length: a WSGI application cannot read it)
    conn = http.client.HTTPConnection(server, timeout=60)
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        conn.request("POST", "/api/actions", body=iter([b'{"actions": []}']), headers=headers, encode_chunked=True)
    response = conn.getresponse()
    # then the answer is a 411 JSON error naming Content-Length
    assert response.status == 411
    assert "Content-Length" in orjson.loads(response.read())["fields"]
    conn.close()
