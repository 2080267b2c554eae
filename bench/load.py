"""A closed-loop HTTP load on loopback: N client processes, one keep-alive connection each.

Requests are built before timing and handed to the processes by fork; each process takes the next
request index from a shared counter until the list or the time runs out. Bounded in count and time.
"""

from __future__ import annotations

import http.client
import multiprocessing as mp
import resource
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.common import CpuMeter


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    units: int = 1  # what one request counts for (actions in a batch, grants, ...)


# (status, body, request) -> a problem, or None when the answer is right
Check = Callable[[int, bytes, Request], "str | None"]

# What a check counts in its client process (say, the proposals served), without a lock: each client process has
# its own copy after the fork and reports it with its results; run_load sums them as "counted".
COUNTED = [0]

_REQUESTS: list[Request] = []  # set before the client processes fork
_CHECK: Check | None = None


class _Connection:
    """A minimal HTTP/1.1 keep-alive client: the request bytes are built before timing, the answer is read
    by its Content-Length (or chunks). Much lighter than http.client, so the clients, which share the
    machine with the server they measure, take little of its CPU."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.buf = b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buf = None, b""

    def _recv(self) -> bytes:
        assert self.sock is not None
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the connection")
        return data

    def _until(self, marker: bytes) -> bytes:
        while (at := self.buf.find(marker)) < 0:
            self.buf += self._recv()
        head, self.buf = self.buf[:at], self.buf[at + len(marker) :]
        return head

    def _exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.buf += self._recv()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def exchange(self, wire: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=120)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(wire)
        head = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(head[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
        if "content-length" in headers:
            body = self._exactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while size := int(self._until(b"\r\n").split(b";")[0], 16):
                parts.append(self._exactly(size))
                self._until(b"\r\n")
            self._until(b"\r\n")
            body = b"".join(parts)
        else:
            raise http.client.HTTPException("answer without a length on a keep-alive connection")
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body


def _wire(req: Request) -> bytes:
    headers = {"Host": "127.0.0.1", "Connection": "keep-alive", **req.headers}
    if req.body is not None:
        headers["Content-Length"] = str(len(req.body))
    head = f"{req.method} {req.path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return head.encode("latin-1") + b"\r\n" + (req.body or b"")


def _client(port: int, next_index: Any, go: Any, deadline_s: float, out: Any) -> None:
    conn = _Connection(port)
    latencies: list[float] = []
    units = ok_units = 0
    errors: list[str] = []
    go.wait()
    t_end = time.monotonic() + deadline_s
    last = time.monotonic()
    while time.monotonic() < t_end:
        with next_index.get_lock():
            index = next_index.value
            next_index.value += 1
        if index >= len(_REQUESTS):
            break
        req = _REQUESTS[index]
        wire = _wire(req)
        t0 = time.monotonic()
        try:
            status, data = conn.exchange(wire)
        except (OSError, ValueError, IndexError, http.client.HTTPException) as exc:
            errors.append(f"request {index}: {exc.__class__.__name__}: {exc}")
            conn.close()
            continue
        last = time.monotonic()
        latencies.append(last - t0)
        units += req.units
        problem = _CHECK(status, data, req) if _CHECK else None
        if problem:
            errors.append(f"request {index}: {problem}")
        else:
            ok_units += req.units
    conn.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put(
        {
            "latencies": latencies,
            "units": units,
            "ok_units": ok_units,
            "errors": errors[:20],
            "n_errors": len(errors),
            "last": last,
            "cpu": usage.ru_utime + usage.ru_stime,
            "counted": COUNTED[0],
        }
    )


def run_load(
    requests: list[Request],
    *,
    port: int,
    concurrency: int,
    max_seconds: float,
    check: Check | None,
    cpu_groups: dict[str, list[int]],
) -> dict[str, Any]:
    """Send ``requests`` with ``concurrency`` connections; latencies in seconds, CPU by process group."""
    global _REQUESTS, _CHECK
    _REQUESTS, _CHECK = requests, check
    COUNTED[0] = 0  # the client processes start from 0
    ctx = mp.get_context("fork")
    next_index = ctx.Value("l", 0)
    go = ctx.Event()
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_client, args=(port, next_index, go, max_seconds, out), daemon=True)
        for _ in range(concurrency)
    ]
    for p in procs:
        p.start()
    time.sleep(0.3)  # let every client reach the start line
    meter = CpuMeter({**cpu_groups, "client": [p.pid for p in procs if p.pid]})
    meter.start()
    t0 = time.monotonic()
    go.set()
    results = [out.get(timeout=max_seconds + 180) for _ in procs]
    cpu = meter.stop()
    for p in procs:
        p.join(timeout=10)
    _REQUESTS, _CHECK = [], None
    latencies = [x for r in results for x in r["latencies"]]
    return {
        "elapsed": max(r["last"] for r in results) - t0,
        "requests": len(latencies),
        "units": sum(r["units"] for r in results),
        "ok_units": sum(r["ok_units"] for r in results),
        "latencies": latencies,
        "n_errors": sum(r["n_errors"] for r in results),
        "counted": sum(r["counted"] for r in results),
        "errors": [e for r in results for e in r["errors"]][:10],
        "cpu": cpu,
        "cpu_seconds": dict(meter.cpu_seconds),
    }
