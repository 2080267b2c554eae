"""Player tokens, revocable: ``core.auth``'s Bearer authentication plus "all of this player's tokens issued before a
time are refused" (issue 13, item 5; docs/decisions/0017).

The truth is ``players.tokens_valid_after`` (set by ``services.player_tokens_revoke``: the admin's "Revoke tokens"
action, ``manage.py revoke_player_tokens``). Each request compares the token's ``iat`` with a copy of it in the hot
store, ``user:{id}:tokens_valid_after`` (Unix seconds, 0 for none), so the check needs no database round trip.

What it costs: one hot-store GET per player request (a Redis round trip in production, well under a millisecond on
the same network; a SQLite read on the embedded default), on the authentication path before the view. On a miss (the
player's first request since the copy expired, ``PLAYER_TOKEN_REVOCATION_CACHE_SECONDS``, or since Redis was
flushed): one indexed primary-key read of ``players`` and an ``ADD`` (SET NX) of the copy. A hot store that fails
costs the database read on each request, never an answer.

Why the copy cannot stay stale: the revocation overwrites it after its transaction commits, and a reader only ever
*adds* it where it is missing, so a reader that read the database before the revocation cannot put the old value
back over the new one.
"""

from __future__ import annotations

import logging

from django.conf import settings
from rest_framework import exceptions

from core.auth import PlayerJWTAuthentication, VerifiedToken
from core.hotstore import hot_store, key_tokens_valid_after
from players.selectors import player_tokens_valid_after, tokens_valid_after_seconds

logger = logging.getLogger(__name__)


def tokens_valid_after(player_id: int) -> int:
    """The player's revocation time in Unix seconds (0: none): the hot store's copy, else the database's value."""
    key = key_tokens_valid_after(player_id)
    cache = hot_store.cache
    try:
        cached = cache.get(key)
    except Exception:  # the hot store is down: the database answers
        logger.warning("token revocation: the hot store cannot be read; reading the database", exc_info=True)
        return tokens_valid_after_seconds(player_tokens_valid_after(player_id=player_id))
    if cached is not None:
        return int(cached)
    seconds = tokens_valid_after_seconds(player_tokens_valid_after(player_id=player_id))
    try:
        cache.add(key, seconds, timeout=settings.PLAYER_TOKEN_REVOCATION_CACHE_SECONDS)
    except Exception:
        logger.warning("token revocation: the hot store cannot be written", exc_info=True)
    return seconds


class PlayerTokenAuthentication(PlayerJWTAuthentication):
    """``Authorization: Bearer <JWT>``, refused when the player revoked their tokens after this one was issued."""

    def check_not_revoked(self, verified: VerifiedToken) -> None:
        if verified.issued_at < tokens_valid_after(verified.player_id):
            raise exceptions.AuthenticationFailed("Token has been revoked.")
