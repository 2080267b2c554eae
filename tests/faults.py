"""Faults made real for tests (issue 13, item 7): a Redis that hangs."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class HungRedis:
    """A TCP listener on 127.0.0.1 that accepts every connection and never answers: a Redis that hangs (a stopped
    process, a full disk under AOF's fsync, a host gone dark behind a firewall). Each connection is held ``hold``
    seconds and then closed, so a client with no timeout waits that long per call instead of forever."""

    def __init__(self, hold: float = 3.0) -> None:
        self.hold = hold
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=128)
        self._listener.settimeout(0.1)
        self._held: list[tuple[float, socket.socket]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="hung-redis", daemon=True)
        self.connections = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self._listener.getsockname()[1]}/0"

    def _serve(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                conn, _ = self._listener.accept()
                self._held.append((time.monotonic() + self.hold, conn))
                self.connections += 1
            now = time.monotonic()
            for due, conn in [h for h in self._held if h[0] <= now]:
                conn.close()
                self._held.remove((due, conn))

    def __enter__(self) -> HungRedis:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        for _, conn in self._held:
            conn.close()
        self._listener.close()
