"""Mission rewards: what a proposal promises is what the granting code pays (design brief section 6).

Both sides read ``settings.MISSION_REWARDS`` through ``mission_reward``: the recommender to state the
number in a message, and any code that grants a mission's tokens (e.g. ``wallet.services.wallet_grant``
with ``amount=mission_reward(VISIT_CORPORATE_SITE)``).
"""

from __future__ import annotations

from django.conf import settings

from recommendations.engine import COMPLETE_CORPORATE_QUIZ, COMPLETE_PROFILE_QUIZ, VISIT_CORPORATE_SITE

MISSION_ACTIONS = (VISIT_CORPORATE_SITE, COMPLETE_CORPORATE_QUIZ, COMPLETE_PROFILE_QUIZ)


def mission_rewards() -> dict[str, int]:
    """``{mission action: tokens}`` for every mission action; a missing or non-positive reward is an error."""
    configured = settings.MISSION_REWARDS
    rewards: dict[str, int] = {}
    for action in MISSION_ACTIONS:
        value = configured.get(action)
        if type(value) is not int or value <= 0:
            raise ValueError(
                f"settings.MISSION_REWARDS[{action!r}] must be a positive whole number of tokens, got {value!r}"
            )
        rewards[action] = value
    return rewards


def mission_reward(action: str) -> int:
    """The tokens the mission ``action`` pays (KeyError for an action that is not a mission)."""
    return mission_rewards()[action]
