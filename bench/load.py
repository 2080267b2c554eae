"""HTTP load on loopback, two ways; requests are built before timing and handed to the processes by fork.

- Closed loop (``run_load``), for the saturation rate: N client processes, one keep-alive connection each;
  each process takes the next request index from a shared counter as soon as its last answer is in, until the
  list or the time runs out. Its latencies are those of a queue kept full (about N / rate), not of a load.
- Open loop (``run_open``), for latency at a fixed offered rate: the requests' send times are fixed before the
  start (Poisson arrivals at the mean rate, seeded, or evenly spaced) and each is sent at its time whether or not
  earlier ones are answered. One generator process (by default) multiplexes non-blocking keep-alive connections
  on one select loop, opening another whenever a request is due and none is idle (up to a bound, 256 by default),
  and closing one that has been idle for a second (a server may hold few connections at once: granian takes at
  most its backpressure, backlog / workers per worker, and leaves the next connection waiting unanswered).
  Each latency runs from the request's scheduled send time to the end of its answer, so a server that stalls,
  a connection that is not free and a generator that wakes late all count as latency (no coordinated
  omission). Reported apart: requests that waited for a connection, and the generator's own lateness (actual
  minus scheduled send time of the others). The generator runs at the lowest real-time priority where the
  system allows it, as a client on another machine would not wait for this one's CPU.

Both share the light client below (the answer parsed by its Content-Length or chunks), so the clients, which
share the machine's cores with the server they measure, take little CPU. Bounded in count and time.
"""

from __future__ import annotations

import collections
import gc
import http.client
import math
import multiprocessing as mp
import os
import queue
import random
import resource
import selectors
import socket
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.common import CpuGroup, CpuMeter, load_average, log, percentile


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


def parse_response(buf: bytes) -> tuple[int, bytes, int, bool] | None:
    """The first whole HTTP/1.1 answer in ``buf``: (status, body, bytes it took, whether the server closes the
    connection after it); None while it is incomplete. The body is found by its Content-Length (or chunks)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = buf[:end].decode("latin-1").split("\r\n")
    status = int(head[0].split(" ", 2)[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
    close = headers.get("connection", "").lower() == "close"
    start = end + 4
    if "content-length" in headers:
        stop = start + int(headers["content-length"])
        return (status, buf[start:stop], stop, close) if len(buf) >= stop else None
    if headers.get("transfer-encoding", "").lower() != "chunked":
        raise http.client.HTTPException("answer without a length on a keep-alive connection")
    parts: list[bytes] = []
    at = start
    while True:
        line_end = buf.find(b"\r\n", at)
        if line_end < 0:
            return None
        size = int(buf[at:line_end].split(b";")[0], 16)
        if size == 0:  # the last chunk, then the empty line that ends the (absent) trailers
            return (status, b"".join(parts), line_end + 4, close) if len(buf) >= line_end + 4 else None
        if len(buf) < line_end + 2 + size + 2:
            return None
        parts.append(buf[line_end + 2 : line_end + 2 + size])
        at = line_end + 2 + size + 2


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

    def exchange(self, wire: bytes) -> tuple[int, bytes]:
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=120)
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.sendall(wire)
        while (answer := parse_response(self.buf)) is None:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            self.buf += data
        status, body, used, close = answer
        self.buf = self.buf[used:]
        if close:
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
    cpu_groups: dict[str, CpuGroup],
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


# --- the open loop ------------------------------------------------------------------------------------------------

ARRIVALS = ("poisson", "constant")
IDLE_CLOSE_S = 1.0  # an open-loop connection idle this long is closed


def schedule(count: int, rate: float, arrivals: str, seed: int) -> list[float]:
    """The send times of ``count`` requests at a mean of ``rate`` a second, in seconds from the start: evenly
    spaced (``constant``) or Poisson arrivals (independent exponential gaps, ``poisson``; seeded, so every run
    offers the same schedule)."""
    if arrivals == "constant":
        return [i / rate for i in range(count)]
    if arrivals != "poisson":
        raise ValueError(arrivals)
    rng = random.Random(seed)
    offsets, at = [], 0.0
    for _ in range(count):
        offsets.append(at)
        at += rng.expovariate(rate)
    return offsets


class _Slot:
    """One connection of the open loop, non-blocking: the request it carries (index, scheduled and actual send
    time), the bytes still to send and the answer read so far."""

    __slots__ = ("buf", "idle_since", "index", "out", "sent_at", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.index = -1  # idle
        self.out = memoryview(b"")
        self.buf = b""
        self.sent_at = 0.0
        self.idle_since = 0.0


def _open_client(
    process: int,
    port: int,
    indices: list[int],
    offsets: list[float],
    t0: float,
    max_connections: int,
    drain_s: float,
    keep_errors: int,
    progress: Any,
    out: Any,
) -> None:
    """One generator process: sends its requests at their scheduled times (``t0`` + offset) on as many keep-alive
    connections as are busy at once, all multiplexed on one select loop. A connection is opened when a request is
    due and none is idle (up to ``max_connections``), and closed after ``IDLE_CLOSE_S`` idle (the most recently
    used is reused first). A request due while every connection is busy waits for one (a late start).

    Besides the pooled figures it returns each request's outcome (status, 0 for none; latency, NaN for none; whether
    it failed), and keeps its counts of requests sent, answered and failed in ``progress`` (three slots from
    ``3 * process``, written by this process alone) for the parent to read while it runs."""
    # A client on another machine is not delayed by this one's load: where allowed, the generator (a few percent
    # of a core, asleep in select between sends) takes the lowest real-time priority, so a busy machine does not
    # make it send late (measured under load: p99 lateness 0.7 ms instead of 2 to 4, the worst 1 ms instead of
    # 5 to 20). The kernel keeps 5% of each second for other processes whatever happens. Reported either way.
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))
        scheduling = "SCHED_FIFO 1"
    except (OSError, AttributeError):
        scheduling = "normal"
    gc.freeze()  # the parent's objects are never scanned by this process's collections
    gc.disable()  # and no collection pauses the loop (it allocates little)
    wires = [_wire(_REQUESTS[i]) for i in indices]
    # select(2), not epoll: its timeout is in microseconds where epoll's is rounded up to the next millisecond
    # (which made the median request start 0.6 ms late); the connections are few.
    sel = selectors.SelectSelector()
    idle: list[_Slot] = []
    slots: set[_Slot] = set()
    waiting: collections.deque[int] = collections.deque()  # due, no connection free
    waited = bytearray(len(indices))  # 1: found no connection free when due
    started = bytearray(len(indices))  # 1: sent (or being sent)
    latencies: list[float] = []  # answer read - scheduled send
    answered: list[int] = []  # the request (its index in the list) of each latency
    service: list[float] = []  # answer read - actual send
    delays: list[float] = []  # actual send - scheduled send, for requests that found a connection free
    units = ok_units = ok_requests = 0
    errors: list[str] = []
    opened = max_busy = 0
    n = len(indices)
    status_of = array("H", bytes(2 * n))  # each request's HTTP status; 0: no answer
    latency_of = array("d", [math.nan]) * n  # each request's latency from its scheduled send time
    failed = bytearray(n)  # 1: no answer, a connection error, or the check found a problem
    at = 3 * process
    while time.monotonic() < t0:
        time.sleep(min(0.05, max(0.0, t0 - time.monotonic())))
    deadline = t0 + (offsets[-1] if offsets else 0.0) + drain_s
    nxt = 0  # the next request to become due
    done = 0
    last = t0

    def fail(slot: _Slot, problem: str) -> None:
        """Close the connection; the request it carries (if any) fails with ``problem``."""
        nonlocal done
        if slot.index >= 0:
            errors.append(f"request {indices[slot.index]}: {problem}")
            failed[slot.index] = 1
            done += 1
            progress[at + 1] += 1
            progress[at + 2] += 1
        sel.unregister(slot.sock)
        slot.sock.close()
        slots.discard(slot)
        if slot in idle:
            idle.remove(slot)

    def write(slot: _Slot) -> bool:
        """Send what the socket takes of the request's rest; False when the connection failed."""
        try:
            sent = slot.sock.send(slot.out)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            fail(slot, f"{exc.__class__.__name__}: {exc}")
            return False
        slot.out = slot.out[sent:]
        return True

    def send(slot: _Slot, k: int, now: float) -> None:
        slot.index, slot.out, slot.buf, slot.sent_at = k, memoryview(wires[k]), b"", now
        started[k] = 1
        progress[at] += 1
        if write(slot) and slot.out:
            sel.modify(slot.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, slot)

    while done < n and time.monotonic() < deadline:
        now = time.monotonic()
        while idle and now - idle[0].idle_since > IDLE_CLOSE_S:  # the longest idle first
            fail(idle[0], "")
        while nxt < n and t0 + offsets[nxt] <= now:
            waiting.append(nxt)
            nxt += 1
        while waiting:
            if idle:
                slot = idle.pop()
            elif len(slots) < max_connections:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setblocking(False)
                sock.connect_ex(("127.0.0.1", port))  # on loopback: done, or done by the first write
                slot = _Slot(sock)
                slots.add(slot)
                sel.register(sock, selectors.EVENT_READ, slot)
                opened += 1
            else:
                for k in waiting:
                    waited[k] = 1
                break
            k = waiting.popleft()
            if not waited[k]:
                delays.append(now - t0 - offsets[k])
            send(slot, k, now)
            now = time.monotonic()
        max_busy = max(max_busy, len(slots) - len(idle))
        # Sleep until the next request is due, or (nothing to send now) until an answer comes.
        timeout = min(deadline - now, 0.1) if waiting or nxt >= n else t0 + offsets[nxt] - now
        for key, mask in sel.select(max(timeout, 0.0)):
            slot = key.data
            if mask & selectors.EVENT_WRITE and slot.out:
                if not write(slot):
                    continue
                if not slot.out:
                    sel.modify(slot.sock, selectors.EVENT_READ, slot)
            if not mask & selectors.EVENT_READ:
                continue
            try:
                data = slot.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as exc:
                fail(slot, f"{exc.__class__.__name__}: {exc}")
                continue
            if not data:  # closed by the server: an idle connection is dropped, a busy one fails its request
                fail(slot, "ConnectionError: server closed the connection")
                continue
            slot.buf += data
            try:
                answer = parse_response(slot.buf)
            except (ValueError, IndexError, http.client.HTTPException) as exc:
                fail(slot, f"{exc.__class__.__name__}: {exc}")
                continue
            if answer is None:
                continue
            last = time.monotonic()
            k = slot.index
            status, body, _used, close = answer
            latencies.append(last - t0 - offsets[k])
            answered.append(indices[k])
            service.append(last - slot.sent_at)
            status_of[k], latency_of[k] = status, latencies[-1]
            progress[at + 1] += 1
            req = _REQUESTS[indices[k]]
            units += req.units
            problem = _CHECK(status, body, req) if _CHECK else None
            if problem:
                errors.append(f"request {indices[k]}: {problem}")
                failed[k] = 1
                progress[at + 2] += 1
            else:
                ok_units += req.units
                ok_requests += 1
            done += 1
            slot.index, slot.buf = -1, b""
            if close:
                fail(slot, "")
            else:
                slot.idle_since = last
                idle.append(slot)
    in_flight = {s.index for s in slots if s.index >= 0}
    unanswered = [k for k in range(n) if not started[k] or k in in_flight]
    for k in unanswered:
        failed[k] = 1
    for slot in list(slots):
        slot.sock.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put(
        {
            "latencies": latencies,
            "answered": answered,
            "failed_requests": [indices[k] for k in range(n) if failed[k]],  # wrong, broken or unanswered
            "service": service,
            "delays": delays,
            "units": units,
            "ok_units": ok_units,
            "ok_requests": ok_requests,
            "process": process,
            "status_of": status_of,
            "latency_of": latency_of,
            "failed": failed,
            "errors": (errors + [f"request {indices[k]}: no answer by the end" for k in unanswered[:keep_errors]])[
                :keep_errors
            ],
            "n_errors": len(errors) + len(unanswered),
            "unanswered": len(unanswered),
            "waited": sum(waited),
            "opened": opened,
            "max_busy": max_busy,
            "last": last,
            "cpu": usage.ru_utime + usage.ru_stime,
            "counted": COUNTED[0],
            "scheduling": scheduling,
        }
    )


def run_open(
    requests: list[Request],
    *,
    port: int,
    rate: float,
    arrivals: str = "poisson",
    seed: int = 0,
    processes: int = 1,
    max_connections: int = 256,
    drain_seconds: float = 60.0,
    check: Check | None,
    cpu_groups: dict[str, CpuGroup],
    error_samples: int = 10,
    progress: Callable[[dict[str, int]], object] | None = None,
    progress_every: float = 10.0,
    offsets: list[float] | None = None,
    lead_seconds: float = 1.0,
) -> dict[str, Any]:
    """Send ``requests`` on a schedule: ``rate`` a second on average (``arrivals``: Poisson or constant), whether
    or not earlier answers have come; each latency counted from the request's scheduled send time, so a stalled
    server (or a late generator) shows as latency. ``processes`` generator processes share the schedule
    (request i goes to process i mod P). Requests not answered ``drain_seconds`` after the last one's scheduled
    time count as errors.

    ``offsets``: the schedule (seconds from the start, ``schedule``'s answer), when the caller built it to put the
    send times into the requests (a signature's timestamp); by default ``schedule(len(requests), rate, arrivals,
    seed)``. The schedule starts ``lead_seconds`` after the call: the time the processes have to build their
    requests' bytes (about a second for 300,000); ``started_at`` in the result is that start's wall-clock time.
    Each request's outcome is in the result by its index: ``status_by_request`` (0: no answer),
    ``latency_by_request`` (NaN: none), ``failed_by_request`` (1: no answer, a connection error or a problem its
    check found). ``progress``, if given, is called every ``progress_every`` seconds while the load runs with the
    counts so far (sent, answered, failed). Up to ``error_samples`` errors are kept as samples."""
    global _REQUESTS, _CHECK
    _REQUESTS, _CHECK = requests, check
    COUNTED[0] = 0
    if offsets is None:
        offsets = schedule(len(requests), rate, arrivals, seed)
    if len(offsets) != len(requests):
        raise ValueError("one offset per request")
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    counts = ctx.RawArray("q", 3 * processes)  # per process: sent, answered, failed (each written by its process)
    keep = max(20, error_samples)
    t0 = time.monotonic() + lead_seconds  # every process has built its requests' bytes by then
    started_at = time.time() + lead_seconds
    procs = []
    for i in range(processes):
        indices = list(range(i, len(requests), processes))
        procs.append(
            ctx.Process(
                target=_open_client,
                args=(
                    i,
                    port,
                    indices,
                    [offsets[i] for i in indices],
                    t0,
                    max_connections,
                    drain_seconds,
                    keep,
                    counts,
                    out,
                ),
                daemon=True,
            )
        )
    for p in procs:
        p.start()
    meter = CpuMeter({**cpu_groups, "client": [p.pid for p in procs if p.pid]})
    time.sleep(max(0.0, t0 - time.monotonic()))
    meter.start()
    results: list[dict[str, Any]] = []
    give_up = time.monotonic() + (offsets[-1] if offsets else 0) + drain_seconds + 60
    while len(results) < len(procs):
        wait = max(0.0, give_up - time.monotonic())
        try:
            results.append(out.get(timeout=min(wait, progress_every) if progress is not None else wait))
        except queue.Empty:
            if time.monotonic() >= give_up:
                raise
            if progress is not None:
                progress(
                    {
                        "sent": sum(counts[3 * i] for i in range(processes)),
                        "answered": sum(counts[3 * i + 1] for i in range(processes)),
                        "failed": sum(counts[3 * i + 2] for i in range(processes)),
                    }
                )
    cpu = meter.stop()
    for p in procs:
        p.join(timeout=10)
    _REQUESTS, _CHECK = [], None
    status_by_request = [0] * len(requests)
    latency_by_request = [math.nan] * len(requests)
    failed_by_request = bytearray(len(requests))
    for r in results:
        for j, k in enumerate(range(r["process"], len(requests), processes)):
            status_by_request[k] = r["status_of"][j]
            latency_by_request[k] = r["latency_of"][j]
            failed_by_request[k] = r["failed"][j]
    return {
        "started_at": started_at,
        "status_by_request": status_by_request,
        "latency_by_request": latency_by_request,
        "failed_by_request": failed_by_request,
        "arrivals": arrivals,
        "offered_per_s": rate,
        "scheduled": len(requests),
        "schedule_seconds": offsets[-1] if offsets else 0.0,
        "elapsed": max(r["last"] for r in results) - t0,
        "requests": sum(len(r["latencies"]) for r in results),
        "units": sum(r["units"] for r in results),
        "ok_units": sum(r["ok_units"] for r in results),
        "ok_requests": sum(r["ok_requests"] for r in results),
        "latencies": [x for r in results for x in r["latencies"]],
        "answered_indices": [i for r in results for i in r["answered"]],  # the request of each latency, in order
        "failed_indices": sorted(i for r in results for i in r["failed_requests"]),
        "service_latencies": [x for r in results for x in r["service"]],
        "start_delays": [x for r in results for x in r["delays"]],
        "late_no_connection": sum(r["waited"] for r in results),
        "connections_opened": sum(r["opened"] for r in results),
        "max_in_flight": sum(r["max_busy"] for r in results),
        "n_errors": sum(r["n_errors"] for r in results),
        "unanswered": sum(r["unanswered"] for r in results),
        "counted": sum(r["counted"] for r in results),
        "errors": [e for r in results for e in r["errors"]][:error_samples],
        "processes": processes,
        "scheduling": sorted({r["scheduling"] for r in results}),
        "cpu": cpu,
        "cpu_seconds": dict(meter.cpu_seconds),
    }


LATE_S = 0.001  # a start this much after its scheduled time counts as late


def open_summary(run: dict[str, Any]) -> dict[str, Any]:
    """The figures of a ``run_open`` for a bench's JSON: offered and achieved rates (requests answered rightly a
    second, from the first scheduled send to the last answer), latency percentiles from the scheduled send time
    (and, for comparison, from the actual send), errors, late starts, connections."""
    lat, delays = run["latencies"], run["start_delays"]

    def ms(values: list[float], p: float) -> float:
        return round(percentile(values, p) * 1000, 2) if values else 0.0

    return {
        "arrivals": run["arrivals"],
        "offered_per_s": run["offered_per_s"],
        "scheduled": run["scheduled"],
        "scheduled_per_s": round(run["scheduled"] / run["schedule_seconds"], 1) if run["schedule_seconds"] else 0.0,
        "achieved_per_s": round(run["ok_requests"] / run["elapsed"], 1) if run["elapsed"] > 0 else 0.0,
        "answered": run["requests"],
        "ok": run["ok_requests"],
        "errors": run["n_errors"],
        "unanswered": run["unanswered"],
        "error_samples": run["errors"][:3],
        "elapsed_s": round(run["elapsed"], 2),
        "p50_ms": ms(lat, 50),
        "p90_ms": ms(lat, 90),
        "p99_ms": ms(lat, 99),
        "p99_9_ms": ms(lat, 99.9),
        "max_ms": round(max(lat) * 1000, 2) if lat else 0.0,
        "p99_from_actual_send_ms": ms(run["service_latencies"], 99),
        "late_starts": {
            "no_connection_free": run["late_no_connection"],
            "generator_late_over_1ms": sum(1 for d in delays if d > LATE_S),
            "generator_lateness_p99_ms": ms(delays, 99),
            "generator_lateness_max_ms": round(max(delays) * 1000, 2) if delays else 0.0,
        },
        "connections_opened": run["connections_opened"],
        "max_in_flight": run["max_in_flight"],
        "generator_processes": run["processes"],
        "generator_scheduling": run["scheduling"],
        "cpu": run["cpu"],
        # CPU per answered request, by process group: what a request costs, steadier than latency on a shared machine
        "cpu_ms_per_request": {
            group: round(seconds * 1000 / run["requests"], 3) if run["requests"] else 0.0
            for group, seconds in run["cpu_seconds"].items()
        },
    }


def load_merge(loads: list[dict[str, Any]]) -> dict[str, Any]:
    """Several ``run_load`` results as one: counts and times added, latencies pooled, CPU in cores over the whole."""
    elapsed = sum(x["elapsed"] for x in loads)
    seconds: dict[str, float] = {}
    for x in loads:
        for group, used in x["cpu_seconds"].items():
            seconds[group] = seconds.get(group, 0.0) + used
    cpu = {f"{group}_cores": round(used / max(elapsed, 1e-9), 3) for group, used in seconds.items()}
    cpu["machine_busy_fraction"] = round(
        sum(x["cpu"]["machine_busy_fraction"] * x["elapsed"] for x in loads) / max(elapsed, 1e-9), 3
    )
    cpu["other_cores"] = round(sum(x["cpu"]["other_cores"] * x["elapsed"] for x in loads) / max(elapsed, 1e-9), 3)
    return {
        "elapsed": elapsed,
        "requests": sum(x["requests"] for x in loads),
        "ok_units": sum(x["ok_units"] for x in loads),
        "n_errors": sum(x["n_errors"] for x in loads),
        "errors": [e for x in loads for e in x["errors"]][:10],
        "counted": sum(x["counted"] for x in loads),
        "latencies": [t for x in loads for t in x["latencies"]],
        "cpu": cpu,
        "cpu_seconds": seconds,
    }


def load_summary(run: dict[str, Any]) -> dict[str, Any]:
    """A closed loop's figures as the benches print them: rate, latencies, CPU in cores and per request."""
    rate = run["ok_units"] / run["elapsed"] if run["elapsed"] > 0 else 0.0
    return {
        "requests": run["requests"],
        "ok": run["ok_units"],
        "errors": run["n_errors"],
        "error_samples": run["errors"][:3],
        "elapsed_s": round(run["elapsed"], 2),
        "requests_per_s": round(rate, 1),
        "p50_ms": round(percentile(run["latencies"], 50) * 1000, 2),
        "p99_ms": round(percentile(run["latencies"], 99) * 1000, 2),
        "max_ms": round(max(run["latencies"]) * 1000, 2) if run["latencies"] else None,
        "cpu": run["cpu"],
        "cpu_ms_per_request": {
            group: round(seconds * 1000 / run["requests"], 3) if run["requests"] else 0.0
            for group, seconds in run["cpu_seconds"].items()
        },
    }


def alternate_rounds(
    phases: list[tuple[str, list[Request], Check | None]],
    *,
    port: int,
    rounds: int,
    concurrency: int,
    max_seconds: float,
    cpu_groups: dict[str, CpuGroup],
) -> list[list[dict[str, Any]]]:
    """Each phase's requests ``(name, requests, check)`` in ``rounds`` closed-loop rounds, the phases alternating
    (in order in even rounds, reversed in odd ones), so that a slow drift of the machine weighs on each alike. Returns
    each phase's ``run_load`` results, in the phases' order."""
    loads: list[list[dict[str, Any]]] = [[] for _ in phases]
    rounds = max(1, rounds)
    order = list(range(len(phases)))
    for i in range(rounds):
        for k in order if i % 2 == 0 else order[::-1]:
            name, requests, check = phases[k]
            chunk = requests[i * len(requests) // rounds : (i + 1) * len(requests) // rounds]
            log(f"round {i + 1}/{rounds}, {name}: {len(chunk)} requests, {concurrency} clients")
            loads[k].append(
                run_load(
                    chunk,
                    port=port,
                    concurrency=concurrency,
                    max_seconds=max_seconds,
                    check=check,
                    cpu_groups=cpu_groups,
                )
            )
    return loads


def open_phase(
    requests: list[Request],
    *,
    what: str,
    port: int,
    rate: float,
    arrivals: str,
    seed: int,
    check: Check | None,
    cpu_groups: dict[str, CpuGroup],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The open loop after a closed one: a second for the closed loop's last answers to clear, then ``requests`` sent
    at ``rate`` (``run_open``). Returns the run and its summary (``open_summary`` and the load average before)."""
    time.sleep(1.0)
    load_before = load_average()
    log(f"open loop: {len(requests)} {what} at {rate:g}/s ({arrivals}); load average {load_before}")
    opened = run_open(requests, port=port, rate=rate, arrivals=arrivals, seed=seed, check=check, cpu_groups=cpu_groups)
    summary = {**open_summary(opened), "load_average_before": load_before}
    log(
        f"open loop: p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, errors {summary['errors']}, "
        f"late starts {summary['late_starts']}"
    )
    return opened, summary


@dataclass
class Phase:
    """A kind of request to time: its name, the timed requests, the check of each answer and a warm-up's requests."""

    name: str
    requests: list[Request]
    check: Check | None
    warm_up: list[Request]


@dataclass
class Compared:
    """``against_baseline``'s results: each phase's rounds and their summary, the open loop's run and summary."""

    baseline_rounds: list[dict[str, Any]]
    subject_rounds: list[dict[str, Any]]
    baseline: dict[str, Any]
    subject: dict[str, Any]
    opened: dict[str, Any]
    open_loop: dict[str, Any]
    load_before: list[float]
    names: tuple[str, str]

    def round_rates(self) -> list[dict[str, float]]:
        """Per round: each phase's rate (``<name>_per_s``) and the subject's as a share of the baseline's."""
        base_name, subject_name = self.names
        rates = []
        for base, subject in zip(self.baseline_rounds, self.subject_rounds, strict=True):
            b, s = load_summary(base)["requests_per_s"], load_summary(subject)["requests_per_s"]
            rates.append({f"{base_name}_per_s": b, f"{subject_name}_per_s": s, "ratio": round(s / max(b, 1e-9), 3)})
        return rates


def against_baseline(
    server: Any,
    cpu_groups: dict[str, CpuGroup],
    baseline: Phase,
    subject: Phase,
    *,
    scheduled: list[Request],
    rounds: int,
    concurrency: int,
    max_seconds: float,
    open_rate: float,
    arrivals: str,
    seed: int,
) -> Compared:
    """A request's saturation rate against a baseline's on the same server (``bench.common.Server``), then its open
    loop: both warmed up (4 clients; an error there stops the run with the server's log), then ``rounds``
    alternating closed-loop rounds (``alternate_rounds``), then ``scheduled`` sent at ``open_rate``
    (``open_phase``)."""
    for phase in (baseline, subject):
        run = run_load(phase.warm_up, port=server.port, concurrency=4, max_seconds=60, check=phase.check, cpu_groups={})
        if run["n_errors"]:
            server.dump_log()
            raise SystemExit(f"warm-up errors: {run['errors']}")
    load_before = load_average()
    base_loads, subject_loads = alternate_rounds(
        [(baseline.name, baseline.requests, baseline.check), (subject.name, subject.requests, subject.check)],
        port=server.port,
        rounds=rounds,
        concurrency=concurrency,
        max_seconds=max_seconds,
        cpu_groups=cpu_groups,
    )
    base_run, subject_run = load_summary(load_merge(base_loads)), load_summary(load_merge(subject_loads))
    log(f"{baseline.name}: {base_run['requests_per_s']}/s, {subject.name}: {subject_run['requests_per_s']}/s")
    opened, open_loop = open_phase(
        scheduled,
        what=subject.name,
        port=server.port,
        rate=open_rate,
        arrivals=arrivals,
        seed=seed,
        check=subject.check,
        cpu_groups=cpu_groups,
    )
    return Compared(
        base_loads, subject_loads, base_run, subject_run, opened, open_loop, load_before, (baseline.name, subject.name)
    )


def add_comparison_arguments(parser: Any, *, baseline: str, subject: str, open_rate: float) -> None:
    """The command-line options of a bench built on ``against_baseline``."""
    parser.add_argument("--quick", action="store_true", help="a small run that ends within a minute")
    parser.add_argument("--requests", type=int, default=None, help="timed requests of each kind (default 20,000)")
    parser.add_argument("--rounds", type=int, default=4, help=f"alternating rounds of {baseline} and {subject}")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (granian: blocking threads)")
    parser.add_argument("--worker-class", default="granian", choices=["granian", "gthread", "sync"])
    parser.add_argument("--max-seconds", type=float, default=120, help="time bound of each timed round")
    parser.add_argument("--open-rate", type=float, default=open_rate, help=f"offered {subject} a second")
    parser.add_argument("--open-seconds", type=float, default=None, help="the open loop's length (30; quick 8)")
    parser.add_argument("--arrivals", choices=ARRIVALS, default="poisson", help="the open loop's schedule")
    parser.add_argument("--seed", type=int, default=1)
