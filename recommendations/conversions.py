"""What converts a proposal (spec 2.5.2; docs/metrics.md "Conversions"): for each proposal type, the events that
fulfil it and how long after the serve they count. One registry, read by attribution (``recommendations.attribution``)
and documented in docs/metrics.md; a pure module (no database).

An event is a kind of player action, found in ``user_actions`` by its type and metadata, except the spend limit set,
which is not an action: it is a ``player_protection`` row changed (``updated_at``) while it holds a daily or weekly
spend limit, in force or waiting (players' protection writes no action; ``attribution`` reads the row's change time).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings

from recommendations.engine import (
    CONTENT_STAGE,
    CONTENT_STAGE_SHORT,
    CORPORATE_ENGAGE,
    CORPORATE_ENGAGE_FIRST,
    CORPORATE_MISSION,
    EARN_MORE,
    HIGH_STAKE,
    LIMIT_SUGGESTION,
    MID_STAKE,
    PROPOSAL_TYPES,
    QUIZ_MISSION,
    RISKY_PLAY,
    SAFE_PLAY,
)

# --- the events ---------------------------------------------------------------------------------------------------

GAME_ROUND = "GAME_ROUND"  # GAME_PLAY or FAIL_GAME; ``metadata.game`` must be the proposal's game
CORPORATE_VISIT = "CORPORATE_VISIT"  # a Company A visit (CORPORATE_VISIT)
CORPORATE_EARN = "CORPORATE_EARN"  # tokens earned at Company A (EARN_CYBER_TOKENS, source corporate)
CORPORATE_QUIZ = (
    "CORPORATE_QUIZ"  # Company A's quiz: its mission paid (EARN_CYBER_TOKENS of a COMPLETE_CORPORATE_QUIZ key)
)
PROFILE_QUIZ = "PROFILE_QUIZ"  # the profile quiz submitted: its QUIZ_ANSWER actions (with a ``submission_id``)
UNLOCK = "UNLOCK"  # UNLOCK_CONTENT; ``metadata.content_id`` must be the proposed stage's (``reason.content_id``)
SPEND_LIMIT_SET = "SPEND_LIMIT_SET"  # not an action: a protection row changed while it holds a spend limit

EVENTS = (GAME_ROUND, CORPORATE_VISIT, CORPORATE_EARN, CORPORATE_QUIZ, PROFILE_QUIZ, UNLOCK, SPEND_LIMIT_SET)

# How the action must match the impression besides its type: the same game, the same content stage, or nothing more.
MATCH_GAME, MATCH_CONTENT, MATCH_NONE = "game", "content", ""

PLAY_WINDOW_HOURS = 24
MISSION_WINDOW_HOURS = 72


@dataclass(frozen=True)
class Conversion:
    """How a proposal type converts: the events that fulfil it, what they must match, and the default window."""

    proposal_type: str
    events: tuple[str, ...]
    match: str
    default_hours: int

    @property
    def window(self) -> dt.timedelta:
        """The window after the serve, inclusive at both ends (settings.RECOMMENDATION_CONVERSION_WINDOW_HOURS)."""
        hours = settings.RECOMMENDATION_CONVERSION_WINDOW_HOURS.get(self.proposal_type, self.default_hours)
        return dt.timedelta(hours=hours)


def _play(proposal_type: str) -> Conversion:
    return Conversion(proposal_type, (GAME_ROUND,), MATCH_GAME, PLAY_WINDOW_HOURS)


REGISTRY: dict[str, Conversion] = {
    c.proposal_type: c
    for c in (
        _play(HIGH_STAKE),
        _play(MID_STAKE),
        _play(RISKY_PLAY),
        _play(SAFE_PLAY),
        Conversion(EARN_MORE, (CORPORATE_VISIT, CORPORATE_EARN), MATCH_NONE, MISSION_WINDOW_HOURS),
        Conversion(CORPORATE_ENGAGE, (CORPORATE_VISIT, CORPORATE_EARN), MATCH_NONE, MISSION_WINDOW_HOURS),
        Conversion(CORPORATE_MISSION, (CORPORATE_QUIZ,), MATCH_NONE, MISSION_WINDOW_HOURS),
        Conversion(QUIZ_MISSION, (PROFILE_QUIZ,), MATCH_NONE, MISSION_WINDOW_HOURS),
        Conversion(CONTENT_STAGE, (UNLOCK,), MATCH_CONTENT, MISSION_WINDOW_HOURS),
        Conversion(LIMIT_SUGGESTION, (SPEND_LIMIT_SET,), MATCH_NONE, MISSION_WINDOW_HOURS),
    )
}
assert set(REGISTRY) == set(PROPOSAL_TYPES), "every proposal type converts somehow"

# The proposal type of each message a proposal is rendered with (the bandit's posteriors are per message).
MESSAGE_PROPOSAL_TYPES: dict[str, str] = {
    **{t: t for t in PROPOSAL_TYPES},
    CORPORATE_ENGAGE_FIRST: CORPORATE_ENGAGE,
    CONTENT_STAGE_SHORT: CONTENT_STAGE,
}


def fulfilled_by(event: str) -> list[Conversion]:
    """The proposal types ``event`` fulfils, in the registry's order."""
    return [c for c in REGISTRY.values() if event in c.events]


def longest_window() -> dt.timedelta:
    """The longest window of any type: how far back a late action can change a day's figures."""
    return max(c.window for c in REGISTRY.values())
