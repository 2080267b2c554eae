"""The nightly loop job's statements, run on several database connections at once (``recommendations.attribution``,
``recommendations.weights``). One PostgreSQL backend runs one statement on one core, and an ``INSERT ... SELECT`` gets
no parallel workers from PostgreSQL, so the job splits its work (ranges of action ids; the daily figures and the
uplift's player-days) into statements that commit on their own, and runs up to ``RECOMMENDATION_NIGHTLY_WORKERS`` of
them in threads, each thread on its own connection (closed when it ends). With one worker (the default on SQLite,
whose writers take the file's lock in turn, and in tests, whose rows other connections cannot see) they run one after
another in the caller's thread.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from django.conf import settings
from django.db import connection, transaction

T = TypeVar("T")

# Per transaction on PostgreSQL: no JIT (it compiles each big statement for longer than it saves here) and room to
# hash and sort in memory: an action range's candidates, a week's impressions against their conversions, and the
# uplift's player-days of a week (at 64 MB each of these spilled to disk; docs/performance.md). A node may take this
# much (a hash twice as much: ``hash_mem_multiplier``), so a connection up to about a gigabyte at the largest size.
_PG_SETTINGS = ("SET LOCAL jit = off", "SET LOCAL work_mem = '256MB'")


def _in_transaction(job: Callable[[], T]) -> T:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                for statement in _PG_SETTINGS:
                    cur.execute(statement)
        return job()


def _in_thread(job: Callable[[], T]) -> T:
    try:
        return _in_transaction(job)
    finally:
        connection.close()


def jobs_run(jobs: Sequence[Callable[[], T]], *, on_done: Callable[[int], object] | None = None) -> list[T]:
    """Each job in a transaction of its own, up to ``RECOMMENDATION_NIGHTLY_WORKERS`` at once; their results in
    order. ``on_done(i)`` after job ``i`` commits. A job's error is raised once the others have ended (the committed
    ones stay: every job here may be run again and adds nothing the second time)."""
    workers = max(1, min(settings.RECOMMENDATION_NIGHTLY_WORKERS, len(jobs)))
    if workers == 1:
        results = []
        for i, job in enumerate(jobs):
            results.append(_in_transaction(job))
            if on_done is not None:
                on_done(i)
        return results
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="loop-nightly") as pool:
        futures = [pool.submit(_in_thread, job) for job in jobs]
        out = []
        for i, future in enumerate(futures):
            out.append(future.result())
            if on_done is not None:
                on_done(i)
        return out
