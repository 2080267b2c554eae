"""Missions that pay (issue 14; docs/decisions/0015): what a proposal promises is what this pays, once per player and
mission period.

``mission_rewards`` reads ``settings.MISSION_REWARDS`` for the recommender (``recommendations.missions``, which states
the number in its messages) and for ``mission_pay`` (which pays it): one source for both. ``mission_pay`` is the one
way a mission is paid, by whichever app sees it done (the quiz app for the profile quiz; corporate for Company A's
quiz and the visit): a GRANT through the wallet's one write path (``wallet_grant``: the ledger row, its
``EARN_CYBER_TOKENS`` action, Redis' copy after commit) keyed ``mission:<MISSION>:<player>:<period>``, and in the same
transaction the ``user_rewards`` row (``trigger_action_id``: the grant's action) and the push in the player's locale
(``MISSION_REWARD_<MISSION>``, the same number). The key makes it once: a replay, a race or a second completion in the
same period pays nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from activity.services import reward_record
from notifications.services import Kind, notification_create
from texts.catalog import text_render
from texts.registry import FALLBACK_LOCALE
from wallet.errors import IdempotencyKeyReused
from wallet.services import LedgerResult, wallet_grant

VISIT_CORPORATE_SITE = "VISIT_CORPORATE_SITE"  # period: the business day of the visit
COMPLETE_CORPORATE_QUIZ = "COMPLETE_CORPORATE_QUIZ"  # period: the business month of the completion
COMPLETE_PROFILE_QUIZ = "COMPLETE_PROFILE_QUIZ"  # period: the quiz version
MISSION_ACTIONS = (VISIT_CORPORATE_SITE, COMPLETE_CORPORATE_QUIZ, COMPLETE_PROFILE_QUIZ)
REWARD_TYPE = "mission"  # user_rewards.reward_type; reward_value is the tokens paid


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


def mission_key(*, mission: str, player_id: int, period: str) -> str:
    """The one ledger key of a mission's payment: a player is paid once per mission and period."""
    return f"mission:{mission}:{player_id}:{period}"


@dataclass(frozen=True)
class MissionPayment:
    mission: str
    tokens: int
    entry_id: int
    action_id: int | None
    reward_id: int


def mission_pay(*, player_id: int, mission: str, period: str) -> MissionPayment | None:
    """Pay ``mission`` to the player for ``period`` unless it was paid for that period: the payment (see the module
    docstring), or None when it was paid already (by this call's twin, a replay, or another completion). Runs in the
    caller's transaction when there is one (the caller's own rows and the payment commit or roll back together)."""
    tokens = mission_reward(mission)
    paid: list[MissionPayment] = []

    def record(result: LedgerResult) -> None:
        entry = result.entry
        reward_id = reward_record(
            player_id=player_id,
            reward_type=REWARD_TYPE,
            reward_value=tokens,
            awarded_at=entry.created_at,
            trigger_action_id=entry.action_id,
        )
        key = f"MISSION_REWARD_{mission}"
        locale = result.player.locale if result.player is not None else FALLBACK_LOCALE
        message = text_render(key, locale, reward_tokens=tokens)
        notification_create(
            player_id=player_id,
            type=key,
            kind=Kind.TRANSACTIONAL,
            message=message,
            payload={
                "type": key,
                "user_id": player_id,
                "mission": mission,
                "period": period,
                "reward_tokens": tokens,
                "message": message,
            },
            dedupe_key=entry.idempotency_key,
            player=result.player,
            now=entry.created_at,
        )
        paid.append(MissionPayment(mission, tokens, entry.id, entry.action_id, reward_id))

    try:
        result = wallet_grant(
            player_id=player_id,
            amount=tokens,
            idempotency_key=mission_key(mission=mission, player_id=player_id, period=period),
            reason=f"mission {mission} {period}",
            actor="missions",
            on_recorded=record,
        )
    except IdempotencyKeyReused:  # paid already for this period, with another amount (the setting changed since)
        return None
    return None if result.replayed else paid[0]
