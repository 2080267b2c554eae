"""Waiting for what a background thread does (write-behind buffers)."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.db import OperationalError


def wait_for(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    """True as soon as ``condition()`` is; its last answer after ``seconds``.

    A read refused because the thread is writing that table right now counts as "not yet": SQLite's in-memory test
    database (shared cache) refuses a reader at once while another connection writes, instead of waiting.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if _holds(condition):
            return True
        time.sleep(0.01)
    return condition()


def _holds(condition: Callable[[], bool]) -> bool:
    try:
        return condition()
    except OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False
