"""The standing holdout (spec 2.5.2, issue 18; docs/decisions/0034): a stable share of players served no optional
proposal, so that what the proposals change (each conversion's uplift) is measured against players who got none.

Membership is a pure function of the player's id and two settings, ``RECOMMENDATION_HOLDOUT_SALT`` and
``RECOMMENDATION_HOLDOUT_SHARE`` (default 5%): the id and the salt are hashed with BLAKE2b (not Python's ``hash``,
which changes with each process's ``PYTHONHASHSEED``) to a position in [0, 1), and a player whose position is below
the share is in. So a player is in or out the same way in every process and on every day; a larger share keeps
everyone already in; another salt draws another holdout. Nothing is stored, nothing is read.

What a holdout player is not shown: every proposal but the limit suggestion (``LIMIT_SUGGESTION`` is protection, and
protection messages still go out). The recommended game and the usage window are answered as to anyone (they are the
spec's description of the player, not an offer the loop measures). The proposals withheld are still recorded, as
impressions with ``holdout = True`` whose ids are never given to the player, so the attribution can count what the
holdout did anyway (``recommendations.services.recommendation_serve``).
"""

from __future__ import annotations

import hashlib

from django.conf import settings

from recommendations.engine import LIMIT_SUGGESTION

# Shown to a holdout player all the same: protection, not an offer.
HOLDOUT_SHOWN = frozenset({LIMIT_SUGGESTION})

_SCALE = float(2**64)


def holdout_position(player_id: int, *, salt: str) -> float:
    """The player's place in [0, 1) for the holdout drawn with ``salt``: the first 8 bytes of BLAKE2b of
    ``"<salt>:<player_id>"``, read as an unsigned integer and scaled."""
    digest = hashlib.blake2b(f"{salt}:{player_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def holdout_member(player_id: int, *, share: float | None = None, salt: str | None = None) -> bool:
    """Whether the player is in the standing holdout (the settings' share and salt unless given)."""
    share = settings.RECOMMENDATION_HOLDOUT_SHARE if share is None else share
    salt = settings.RECOMMENDATION_HOLDOUT_SALT if salt is None else salt
    return share > 0 and holdout_position(player_id, salt=salt) < share
