"""Impressions: every served proposal is recorded, without the request waiting for the write.

Each process keeps a write-behind buffer (``core.writebehind.WriteBehind``). A request appends its proposals (a
list append under a lock, well under a microsecond per row) and returns; a daemon thread writes the buffer in one
bulk upsert (``recommendations.services.impressions_record``) when it holds
``RECOMMENDATION_IMPRESSIONS_BUFFER_SIZE`` rows (500) or every ``RECOMMENDATION_IMPRESSIONS_FLUSH_SECONDS`` (1 s),
and once more when the process exits (``atexit`` and multiprocessing's exit finalizers, which forked server
workers run instead of ``atexit``).

With ``RECOMMENDATION_IMPRESSIONS_FLUSH_SECONDS = 0`` (the embedded default on SQLite, and the tests) every
request writes its own rows at once, in one statement, and no thread is started.

Loss window: a crash or a hard kill (SIGKILL, OOM) loses what the buffer holds, at most one buffer (500 rows or
1 s of impressions) per process; a failed write (database down) drops that batch and logs it. Acceptable for
learning data; nothing a player owns depends on it. A click never depends on its impression being written
(``recommendations.proposal_ids``, ``recommendations.services.proposal_click``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from typing import Any, NamedTuple

from django.conf import settings

from core.writebehind import WriteBehind


class ImpressionRow(NamedTuple):
    proposal_id: str
    player_id: int
    proposal_type: str
    rule: str
    position: int
    game: str | None
    action: str | None
    reason: Mapping[str, Any]
    served_at: dt.datetime


_buffer: WriteBehind[ImpressionRow] | None = None
_buffer_lock = threading.Lock()


def impression_buffer_new(*, max_rows: int, max_age: float) -> WriteBehind[ImpressionRow]:
    """A buffer that writes impressions with ``impressions_record`` (this process's, or a test's own)."""
    from recommendations.services import impressions_record

    return WriteBehind(
        lambda rows: impressions_record(rows=rows),
        name="recommendation-impressions",
        max_rows=max_rows,
        max_age=max_age,
    )


def impression_buffer() -> WriteBehind[ImpressionRow]:
    """This process's buffer, configured from settings on first use."""
    global _buffer
    if _buffer is None:
        with _buffer_lock:
            if _buffer is None:
                _buffer = impression_buffer_new(
                    max_rows=settings.RECOMMENDATION_IMPRESSIONS_BUFFER_SIZE,
                    max_age=settings.RECOMMENDATION_IMPRESSIONS_FLUSH_SECONDS,
                )
    return _buffer


def impression_buffer_set(buffer: WriteBehind[ImpressionRow] | None) -> WriteBehind[ImpressionRow] | None:
    """Put ``buffer`` in place of this process's (tests, benches; None: configured again from settings on next use).
    Returns the buffer it replaces."""
    global _buffer
    with _buffer_lock:
        previous, _buffer = _buffer, buffer
    return previous
