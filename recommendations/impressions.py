"""Impressions and suppressions: every served proposal, and every proposal player protection removed from a served
recommendation, is recorded without the request waiting for the write.

Each process keeps a write-behind buffer (``core.writebehind.WriteBehind``) of both kinds of rows
(``ImpressionRow``, ``SuppressionRow``). A request appends its rows (a list append under a lock, well under a
microsecond per row) and returns; a daemon thread writes the buffer (``recommendations.services.impressions_record``:
one bulk upsert of the impressions and, when the buffer holds any, one bulk insert of the suppressions) when it holds
``RECOMMENDATION_IMPRESSIONS_BUFFER_SIZE`` rows (500) or every ``RECOMMENDATION_IMPRESSIONS_FLUSH_SECONDS`` (1 s),
and once more when the process exits (``atexit`` and multiprocessing's exit finalizers, which forked server
workers run instead of ``atexit``).

With ``RECOMMENDATION_IMPRESSIONS_FLUSH_SECONDS = 0`` (the embedded default on SQLite, and the tests) every
request writes its own rows at once, and no thread is started.

Loss window, for both kinds: a crash or a hard kill (SIGKILL, OOM) loses what the buffer holds, at most one buffer
(500 rows or 1 s of rows) per process; a failed write (database down) drops that batch and logs it. Acceptable for
learning data and for the protection figures built from the suppressions (docs/metrics.md, "Protection": they can
fall short by that much; the Prometheus counter ``tokenloop_proposals_suppressed_total``, counted in the request,
does not); nothing a player owns, and no protection decision, depends on them. A click never depends on its
impression being written (``recommendations.proposal_ids``, ``recommendations.services.proposal_click``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from typing import Any, NamedTuple, TypeAlias

from django.conf import settings

from core.writebehind import WriteBehind


class ImpressionRow(NamedTuple):
    """A proposal served (or, for a player in the standing holdout, withheld: ``holdout``) and what the adaptive loop
    learns from: the message rendered (``message_key``), the variant shown (``variant``, "" for the default text),
    the player's RFM group ("" without a segment) and locale, and whether the bandit counts it (``learning``: False
    for a protected, harm-marked or holdout player)."""

    proposal_id: str
    player_id: int
    proposal_type: str
    rule: str
    position: int
    game: str | None
    action: str | None
    reason: Mapping[str, Any]
    served_at: dt.datetime
    message_key: str = ""
    variant: str = ""
    rfm_group: str = ""
    locale: str = ""
    holdout: bool = False
    learning: bool = True


class SuppressionRow(NamedTuple):
    """A proposal protection removed (``recommendations.engine.Suppressed``): its type, the rule (``reason["rule"]``)
    and, for a harm rule, the names of the live signals and nightly markers that fired."""

    player_id: int
    proposal_type: str
    rule: str
    signals: tuple[str, ...]
    served_at: dt.datetime


ServedRow: TypeAlias = ImpressionRow | SuppressionRow

_buffer: WriteBehind[ServedRow] | None = None
_buffer_lock = threading.Lock()


def impression_buffer_new(*, max_rows: int, max_age: float) -> WriteBehind[ServedRow]:
    """A buffer that writes impressions and suppressions with ``impressions_record`` (this process's, or a test's
    own)."""
    from recommendations.services import impressions_record

    return WriteBehind(
        lambda rows: impressions_record(rows=rows),
        name="recommendation-impressions",
        max_rows=max_rows,
        max_age=max_age,
    )


def impression_buffer() -> WriteBehind[ServedRow]:
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


def impression_buffer_set(buffer: WriteBehind[ServedRow] | None) -> WriteBehind[ServedRow] | None:
    """Put ``buffer`` in place of this process's (tests, benches; None: configured again from settings on next use).
    Returns the buffer it replaces."""
    global _buffer
    with _buffer_lock:
        previous, _buffer = _buffer, buffer
    return previous
