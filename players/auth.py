"""Player tokens, revocable: ``core.auth``'s Bearer authentication plus "all of this player's tokens issued before a
time are refused" (issue 13, item 5; docs/decisions/0017).

The truth is ``players.tokens_valid_after``, set by ``services.player_tokens_revoke`` (the admin's "Revoke tokens"
action, ``manage.py revoke_player_tokens``). Only revocations of the last ``PLAYER_JWT_MAX_LIFETIME_SECONDS`` can
matter (every token issued before an older one has expired), and they are few; so each process keeps all of them, a
snapshot read in one indexed query (``selectors.players_tokens_revoked_since``, the partial index
``players_tokens_revoked``), and a request compares its token's ``iat`` with a dict entry.

What it costs: per request, a dict lookup, no database or Redis round trip. Per process, one query of the recent
revocations every ``PLAYER_TOKEN_REVOCATIONS_REFRESH_SECONDS`` (1 s) while it serves: a request that finds the
snapshot older than that starts the reload on a thread of its own and answers from the snapshot, so no request waits
for it; a request that finds it older than twice that (an idle process, the first request after start) reloads it
first, and pays that one query. A revocation is therefore refused in every process within about the refresh interval
(two at most), and at once in the process that made it (its snapshot is dropped after commit). No writer has to
remember anything: the snapshot is always read from the database.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from django.conf import settings
from django.db import connections
from django.utils import timezone
from rest_framework import exceptions

from core.auth import PlayerJWTAuthentication, VerifiedToken
from core.caches import LocalCache
from players.selectors import players_tokens_revoked_since

logger = logging.getLogger(__name__)

# "snapshot" -> (time it was read, monotonic; {player id: revocation time, Unix seconds}); kept for twice the refresh
# interval, emptied by local_caches_clear() like every per-process cache.
_snapshot: LocalCache[str, tuple[float, dict[int, int]]] = LocalCache("token-revocations", max_entries=1)
_reloading = threading.Lock()  # held while a thread reloads: one reload at a time


def _load() -> tuple[float, dict[int, int]]:
    started = time.monotonic()
    since = timezone.now() - dt.timedelta(seconds=settings.PLAYER_JWT_MAX_LIFETIME_SECONDS)
    loaded = (started, players_tokens_revoked_since(since=since))
    _snapshot.set("snapshot", loaded, ttl=2 * settings.PLAYER_TOKEN_REVOCATIONS_REFRESH_SECONDS)
    return loaded


def _reload_in_background() -> None:
    try:
        _load()
    except Exception:  # the next request tries again (inline once the snapshot is too old)
        logger.exception("token revocations: reload failed")
    finally:
        connections.close_all()  # this thread's own connection
        _reloading.release()


def revocations() -> dict[int, int]:
    """{player id: Unix seconds before which their tokens are refused}: this process's snapshot, reloaded as the
    module's docstring says."""
    found = _snapshot.get("snapshot")
    if found is None:
        return _load()[1]
    loaded_at, times = found
    if time.monotonic() - loaded_at >= settings.PLAYER_TOKEN_REVOCATIONS_REFRESH_SECONDS and _reloading.acquire(
        blocking=False
    ):
        try:
            threading.Thread(target=_reload_in_background, name="token-revocations", daemon=True).start()
        except Exception:
            _reloading.release()
            raise
    return times


def revocations_forget() -> None:
    """Drop this process's snapshot: the next request reads it again (after a revocation made here)."""
    _snapshot.clear()


class PlayerTokenAuthentication(PlayerJWTAuthentication):
    """``Authorization: Bearer <JWT>``, refused when the player's tokens were revoked after this one was issued."""

    def check_not_revoked(self, verified: VerifiedToken) -> None:
        if verified.issued_at < revocations().get(verified.player_id, 0):
            raise exceptions.AuthenticationFailed("Token has been revoked.")
