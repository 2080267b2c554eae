from __future__ import annotations

from django.db import models


class SiteVisit(models.Model):
    """A visit to Company A (spec 2.6 ``site_visits``; source "corporate_site")."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="site_visits", db_index=False)
    source = models.CharField(max_length=50, default="corporate_site")
    visit_timestamp = models.DateTimeField()
    dwell_seconds = models.PositiveIntegerField(default=0)
    actions = models.JSONField(default=list, blank=True)
    webhook_id = models.CharField(max_length=200, unique=True)
    action = models.ForeignKey(
        "activity.UserAction", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )

    class Meta:
        db_table = "site_visits"
        indexes = [models.Index(fields=["user", "visit_timestamp"], name="site_visits_user_ts")]

    def __str__(self) -> str:
        return f"visit by {self.user_id} at {self.visit_timestamp:%Y-%m-%d %H:%M}"


class SiteReward(models.Model):
    """Tokens Company A gave a player (spec 2.6 ``site_rewards``), linked to its EARN_CYBER_TOKENS action
    and ledger row."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="site_rewards", db_index=False)
    reward_type = models.CharField(max_length=50)
    reward_value = models.BigIntegerField()
    issued_at = models.DateTimeField()
    webhook_id = models.CharField(max_length=200, unique=True)
    action = models.ForeignKey(
        "activity.UserAction", null=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    ledger_entry_id = models.BigIntegerField(null=True)

    class Meta:
        db_table = "site_rewards"
        indexes = [models.Index(fields=["user", "issued_at"], name="site_rewards_user_ts")]

    def __str__(self) -> str:
        return f"{self.reward_value} tokens to {self.user_id}"
