from __future__ import annotations

from django.db import models

# The webhook-id is Company A's idempotency key: the same id again must carry the same event (a redelivery), and the
# fingerprint is how a different one is told apart (corporate.services.event_fingerprint; docs/decisions/0029).
FINGERPRINT_HELP = "sha256 (hex) of the event as applied: its type and data, times in UTC. Empty: stored before 0029."


class SiteVisit(models.Model):
    """A visit to Company A (spec 2.6 ``site_visits``; source "corporate_site")."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="site_visits", db_index=False)
    source = models.CharField(max_length=50, default="corporate_site")
    visit_timestamp = models.DateTimeField()
    dwell_seconds = models.PositiveIntegerField(default=0)
    actions = models.JSONField(default=list, blank=True)
    webhook_id = models.CharField(max_length=200, unique=True)
    fingerprint = models.CharField(max_length=64, null=True, blank=True, help_text=FINGERPRINT_HELP)
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


class SiteQuizCompletion(models.Model):
    """Company A's quiz completed by a player (the ``quiz.completed`` event), one row per webhook id. The first
    completion of a business month pays the ``COMPLETE_CORPORATE_QUIZ`` mission (``reward_entry_id``: its GRANT);
    later ones that month are recorded and pay nothing (docs/decisions/0015)."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="+", db_index=False)
    quiz_id = models.CharField(max_length=100, help_text="Company A's id of the quiz.")
    completed_at = models.DateTimeField()
    webhook_id = models.CharField(max_length=200, unique=True)
    fingerprint = models.CharField(max_length=64, null=True, blank=True, help_text=FINGERPRINT_HELP)
    reward_tokens = models.PositiveIntegerField(null=True, blank=True)
    reward_entry_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "site_quiz_completions"
        indexes = [models.Index(fields=["user", "completed_at"], name="site_quiz_completions_user_ts")]

    def __str__(self) -> str:
        return f"Company A quiz {self.quiz_id} by {self.user_id}"


class VisitMissionOffer(models.Model):
    """A ``VISIT_CORPORATE_SITE`` proposal served to a player on a business day (written by the recommender with its
    impressions, through ``corporate.services.visit_mission_offers_record``): the player's first Company A visit after
    it that day pays the mission (``paid_entry_id``: its GRANT), whichever of the two is written second."""

    id = models.BigAutoField(primary_key=True)
    # No constraint: a proposal may be served to an id before its first action makes the players row.
    user = models.ForeignKey(
        "players.Player", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False
    )
    day = models.DateField(help_text="The business day (BUSINESS_TIMEZONE) it was served.")
    offered_at = models.DateTimeField(help_text="The first time it was served that day.")
    paid_entry_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "corporate_visit_offers"
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="corporate_visit_offers_user_day")]

    def __str__(self) -> str:
        return f"visit mission offered to {self.user_id} on {self.day}"
