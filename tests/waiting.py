"""Waiting for what a background thread does (write-behind buffers)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    """True as soon as ``condition()`` is; its last answer after ``seconds``.

    Wait on what the thread reports (a buffer's ``written``), not by polling a table it writes: SQLite's in-memory
    test database (shared cache) refuses a writer at once while another connection reads that table.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()
