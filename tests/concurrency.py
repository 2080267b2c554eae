"""Running calls at the same time against the real database (the PostgreSQL + Redis pass)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection


def skip_unless_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL's row locks and concurrent connections; SQLite's in-memory test database serializes "
            "writers (runs in the PostgreSQL + Redis pass)"
        )


def run_concurrently(calls: list[Callable[[], Any]], *, threads: int = 32) -> list[Any]:
    """Every call on a pool of up to ``threads`` threads; each answer is the result or the exception raised. Each call
    closes its thread's database connection when done."""

    def run(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - every outcome is returned and counted by the test
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=min(threads, len(calls))) as pool:
        return list(pool.map(run, calls))
