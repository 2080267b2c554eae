"""A per-process write-behind buffer: callers append rows and go on; a daemon thread writes them in bulk.

The rows are written by ``write(rows)`` (one statement for many) when the buffer holds ``max_rows`` or every
``max_age`` seconds, and once more when the process exits (``atexit``, and multiprocessing's exit finalizers,
which forked server workers run instead). ``max_age <= 0``: no thread, each ``add`` writes at once.

Loss window: a hard kill (SIGKILL, OOM) loses what the buffer holds, at most ``max_rows`` rows or ``max_age``
seconds of them per process; a failed write drops that batch and logs it. Use it only for rows whose loss the
system repairs or tolerates, and say how where it is used (today: recommendation impressions, measured in
docs/performance.md).
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing.util
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

Row = TypeVar("Row")


class WriteBehind(Generic[Row]):
    def __init__(
        self,
        write: Callable[[list[Row]], object],
        *,
        name: str,
        max_rows: int = 500,
        max_age: float = 1.0,
    ) -> None:
        self.write = write
        self.name = name
        self.max_rows = max_rows
        self.max_age = max_age
        self._rows: list[Row] = []
        self._lock = threading.Lock()  # guards _rows and the thread's start
        self._flush_lock = threading.Lock()  # one writer at a time, in order
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._stopping = False
        self.written = 0  # rows written by this process
        self.dropped = 0  # rows lost to failed writes

    def add(self, rows: Iterable[Row]) -> None:
        if self.max_age <= 0 or self._stopping:
            self._write(list(rows))
            return
        with self._lock:
            if self._pid != os.getpid() or self._thread is None or not self._thread.is_alive():
                self._start()
            self._rows.extend(rows)
            full = len(self._rows) >= self.max_rows
        if full:
            self._wake.set()

    def pending(self) -> int:
        with self._lock:
            return len(self._rows)

    def flush(self) -> int:
        """Write whatever is buffered now, in one call of ``write``; returns the rows written."""
        with self._flush_lock:
            with self._lock:
                rows, self._rows = self._rows, []
            return self._write(rows)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread after a last flush (tests, shutdown hooks)."""
        self._stopping = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread.is_alive() and thread is not threading.current_thread():
            thread.join(timeout)
        self.flush()

    def _write(self, rows: list[Row]) -> int:
        if not rows:
            return 0
        try:
            self.write(rows)
        except Exception:
            self.dropped += len(rows)
            logger.exception("%s: %d rows could not be written and are dropped", self.name, len(rows))
            return 0
        self.written += len(rows)
        return len(rows)

    def _start(self) -> None:
        """Called with ``_lock`` held: a fresh thread for this process (after a fork the buffered rows belong to
        the parent, which writes them itself)."""
        if self._pid != os.getpid():
            if self._pid:
                self._rows = []
                self._flush_lock = threading.Lock()
            self._pid = os.getpid()
            atexit.register(self.flush)
            multiprocessing.util.Finalize(None, self.flush, exitpriority=10)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            while True:
                self._wake.wait(self.max_age)
                self._wake.clear()
                if self._stopping:  # the caller of stop() writes what is left, in its own thread
                    return
                started = time.monotonic()
                try:
                    close_old_connections()  # this thread's connection: renewed when broken or past CONN_MAX_AGE
                except Exception:  # the database is down: the write below fails, is logged, and the thread goes on
                    logger.exception("%s: could not check this thread's database connection", self.name)
                self.flush()
                if time.monotonic() - started > self.max_age:
                    logger.warning("%s: a write took %.1f s", self.name, time.monotonic() - started)
        finally:
            connections.close_all()  # this thread's own connections
