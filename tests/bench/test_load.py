"""bench/load.py's open loop: each request's outcome by its index, and its progress while it runs."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.load import Request, run_open, schedule


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        status = int(self.path.rsplit("/", 1)[1])
        body = b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_run_open_reports_each_requests_outcome_by_its_index(port):
    # given requests answered 200, 201 or 503, and a check that wants a 2xx
    statuses = [200, 503, 201, 200, 503, 200]
    requests = [Request("GET", f"/status/{s}") for s in statuses]
    seen: list[dict[str, int]] = []

    def check(status: int, body: bytes, request: Request) -> str | None:
        return None if status < 300 else f"HTTP {status}"

    # when they are sent open loop on a schedule built beforehand, in two generator processes
    offsets = schedule(len(requests), 50.0, "constant", 0)
    run = run_open(
        requests,
        port=port,
        rate=50.0,
        processes=2,
        check=check,
        cpu_groups={},
        offsets=offsets,
        progress=seen.append,
        progress_every=0.02,
    )
    # then each request's status, latency and failure are reported at its own index
    assert run["status_by_request"] == statuses
    assert list(run["failed_by_request"]) == [0, 1, 0, 0, 1, 0]
    assert all(not math.isnan(x) and x >= 0 for x in run["latency_by_request"])
    assert run["n_errors"] == 2 and run["ok_requests"] == 4
    # and the progress was told while it ran, never counting more than was sent
    assert seen and all(p["answered"] <= p["sent"] <= len(requests) for p in seen)


def test_run_open_wants_one_offset_per_request(port):
    with pytest.raises(ValueError, match="one offset per request"):
        run_open([Request("GET", "/status/200")], port=port, rate=1.0, check=None, cpu_groups={}, offsets=[])
