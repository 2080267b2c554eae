"""A closed-loop HTTP load on loopback: N client processes, one keep-alive connection each.

Requests are built before timing and handed to the processes by fork; each process takes the next
request index from a shared counter until the list or the time runs out. Bounded in count and time.
"""

from __future__ import annotations

import http.client
import multiprocessing as mp
import resource
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

_REQUESTS: list[Request] = []  # set before the client processes fork
_CHECK: Check | None = None


def _client(port: int, next_index: Any, go: Any, deadline_s: float, out: Any) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
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
        t0 = time.monotonic()
        try:
            conn.request(req.method, req.path, body=req.body, headers={"Connection": "keep-alive", **req.headers})
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"request {index}: {exc.__class__.__name__}: {exc}")
            conn.close()
            continue
        last = time.monotonic()
        latencies.append(last - t0)
        units += req.units
        problem = _CHECK(resp.status, data, req) if _CHECK else None
        if problem:
            errors.append(f"request {index}: {problem}")
        else:
            ok_units += req.units
    conn.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put({"latencies": latencies, "units": units, "ok_units": ok_units, "errors": errors[:20],
             "n_errors": len(errors), "last": last, "cpu": usage.ru_utime + usage.ru_stime})


def run_load(requests: list[Request], *, port: int, concurrency: int, max_seconds: float, check: Check | None,
             cpu_groups: dict[str, list[int]]) -> dict[str, Any]:
    """Send ``requests`` with ``concurrency`` connections; latencies in seconds, CPU by process group."""
    global _REQUESTS, _CHECK
    _REQUESTS, _CHECK = requests, check
    ctx = mp.get_context("fork")
    next_index = ctx.Value("l", 0)
    go = ctx.Event()
    out = ctx.Queue()
    procs = [ctx.Process(target=_client, args=(port, next_index, go, max_seconds, out), daemon=True)
             for _ in range(concurrency)]
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
        "errors": [e for r in results for e in r["errors"]][:10],
        "cpu": cpu,
        "cpu_seconds": dict(meter.cpu_seconds),
    }
