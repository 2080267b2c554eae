from __future__ import annotations

from django.db import models


class UserAction(models.Model):
    """One row per thing a player did (spec 2.6 ``user_actions``). Append-only.

    ``event_id`` is the sender's id for the event: a replay is a duplicate, never a second row.
    Indexes are chosen for hundreds of millions of rows: (user_id, action_timestamp) for
    per-player reads, a BRIN on action_timestamp for time windows (PostgreSQL, see migration 0002),
    and the unique event_id. No foreign-key constraint to players (see docs/decisions/0003).
    """

    id = models.BigAutoField(primary_key=True)
    event_id = models.CharField(max_length=64)
    user = models.ForeignKey(
        "players.Player", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="actions"
    )
    action_type = models.CharField(max_length=40)
    metadata = models.JSONField(default=dict)
    action_timestamp = models.DateTimeField()

    class Meta:
        db_table = "user_actions"
        constraints = [models.UniqueConstraint(fields=["event_id"], name="user_actions_event_id_uniq")]
        indexes = [models.Index(fields=["user", "action_timestamp"], name="user_actions_user_ts")]

    def __str__(self) -> str:
        return f"{self.action_type} by {self.user_id} at {self.action_timestamp:%Y-%m-%d %H:%M:%S}"


class UserReward(models.Model):
    """Every reward given to a player: coins, tokens, content unlocks (spec 2.6 ``user_rewards``)."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="rewards")
    reward_type = models.CharField(max_length=50)
    reward_value = models.BigIntegerField()
    awarded_at = models.DateTimeField()
    trigger_action = models.ForeignKey(
        UserAction, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )

    class Meta:
        db_table = "user_rewards"
        indexes = [models.Index(fields=["user", "awarded_at"], name="user_rewards_user_ts")]

    def __str__(self) -> str:
        return f"{self.reward_type} {self.reward_value} to {self.user_id}"
