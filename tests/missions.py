"""What a mission's payment leaves behind (wallet.missions.mission_pay), read back for the quiz and corporate tests."""

from __future__ import annotations

from dataclasses import dataclass

from activity.models import UserAction, UserReward
from notifications.models import Notification
from tests.wallet.helpers import cached_balance, db_balance
from wallet.models import LedgerEntry


@dataclass(frozen=True)
class Paid:
    grants: list[LedgerEntry]
    rewards: list[UserReward]
    pushes: list[Notification]

    @property
    def counts(self) -> tuple[int, int, int]:
        return len(self.grants), len(self.rewards), len(self.pushes)


def mission_paid(player_id: int, mission: str) -> Paid:
    """The mission's GRANT ledger rows, ``user_rewards`` rows and pushes for the player."""
    grants = list(
        LedgerEntry.objects.filter(
            player_id=player_id, kind=LedgerEntry.Kind.GRANT, idempotency_key__startswith=f"mission:{mission}:"
        ).order_by("id")
    )
    actions = [g.action_id for g in grants]
    rewards = list(UserReward.objects.filter(user_id=player_id, reward_type="mission", trigger_action_id__in=actions))
    pushes = list(Notification.objects.filter(user_id=player_id, type=f"MISSION_REWARD_{mission}").order_by("id"))
    return Paid(grants, rewards, pushes)


def assert_paid_once(player_id: int, mission: str, tokens: int, *, message: str | None = None) -> Paid:
    """Exactly one payment of ``tokens``: the GRANT with its EARN_CYBER_TOKENS action, the ``user_rewards`` row whose
    ``trigger_action_id`` is that action, the push saying the same number (``message`` when given), and Redis' copy of
    the balance equal to the ledger's."""
    paid = mission_paid(player_id, mission)
    assert paid.counts == (1, 1, 1), paid.counts
    grant, reward, push = paid.grants[0], paid.rewards[0], paid.pushes[0]
    assert grant.amount == tokens and grant.source == LedgerEntry.Source.REWARD and grant.action_id is not None
    action = UserAction.objects.get(id=grant.action_id)
    assert action.action_type == "EARN_CYBER_TOKENS" and action.metadata["earned_tokens"] == tokens
    assert (reward.reward_value, reward.trigger_action_id) == (tokens, grant.action_id)
    assert push.payload["reward_tokens"] == tokens and push.payload["mission"] == mission
    assert str(tokens) in push.message
    if message is not None:
        assert push.message == message
    assert cached_balance(player_id) == db_balance(player_id)
    return paid
