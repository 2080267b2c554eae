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

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions

from core.auth import PlayerJWTAuthentication, VerifiedToken
from core.caches import RefreshedSnapshot
from players.selectors import players_tokens_revoked_since


def _recent_revocations() -> dict[int, int]:
    since = timezone.now() - dt.timedelta(seconds=settings.PLAYER_JWT_MAX_LIFETIME_SECONDS)
    return players_tokens_revoked_since(since=since)


# {player id: revocation time, Unix seconds}, per process (core.caches.RefreshedSnapshot).
_revocations = RefreshedSnapshot(
    "token-revocations", _recent_revocations, lambda: settings.PLAYER_TOKEN_REVOCATIONS_REFRESH_SECONDS
)


def revocations() -> dict[int, int]:
    """{player id: Unix seconds before which their tokens are refused}: this process's snapshot, reloaded as the
    module's docstring says."""
    return _revocations.get()


def revocations_forget() -> None:
    """Drop this process's snapshot: the next request reads it again (after a revocation made here)."""
    _revocations.forget()


class PlayerTokenAuthentication(PlayerJWTAuthentication):
    """``Authorization: Bearer <JWT>``, refused when the player's tokens were revoked after this one was issued."""

    def check_not_revoked(self, verified: VerifiedToken) -> None:
        if verified.issued_at < revocations().get(verified.player_id, 0):
            raise exceptions.AuthenticationFailed("Token has been revoked.")
