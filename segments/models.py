"""RFM segments (spec 2.2, 2.6 ``user_segments``; design brief section 4).

``UserSegment`` is one row per player: the group and the inputs behind it, written by the nightly
batch (``segments.services``) and read through ``UserService`` only (spec 2.8).
``SegmentHistory`` is one row per change of group. ``SegmentRule`` holds the thresholds an operator
edits; every edit leaves a ``SegmentRuleChange``. ``SegmentRun`` records each batch run: the date,
the rules it used, what it changed.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone


class Group(models.TextChoices):
    """The spec's groups, spelled as the spec spells them. Lowest first."""

    LOW = "Low"
    MEDIUM = "Medium"
    HIGH_ENGAGED = "High Engaged"
    WHALE = "Whale"


# A group's tier: a rise is a move to a higher tier (Low < Medium < High Engaged < Whale).
GROUP_RANK: dict[str, int] = {Group.LOW: 0, Group.MEDIUM: 1, Group.HIGH_ENGAGED: 2, Group.WHALE: 3}


class RiskProfile(models.TextChoices):
    """Spec 2.4's quiz outcome (written by ``UserService.set_risk_profile``, never by the batch)."""

    HIGH = "High-Risk"
    MODERATE = "Moderate-Risk"
    LOW = "Low-Risk"


class UserSegment(models.Model):
    """A player's segment (spec 2.6 ``user_segments``) and the inputs behind its group, as of ``as_of``.

    ``as_of`` is null for a row ``UserService.get_or_create_segment`` made before any batch computed the
    player: such a row is Low with empty inputs, and its group is not a "previous group" (no reward).
    ``recency_days`` is null when the player has no action before ``as_of``.
    """

    user = models.OneToOneField("players.Player", on_delete=models.CASCADE, primary_key=True, related_name="segment")
    rfm_group = models.CharField(max_length=20, choices=Group.choices, default=Group.LOW)
    risk_profile = models.CharField(max_length=20, choices=RiskProfile.choices, null=True, blank=True)
    streak_count = models.IntegerField(default=0, help_text="Copy of Redis user:{id}:streak_count at the last run.")
    last_updated = models.DateTimeField(default=timezone.now)
    as_of = models.DateField(null=True, blank=True, help_text="Business date the inputs were computed for.")
    recency_days = models.IntegerField(null=True, blank=True)
    frequency = models.IntegerField(default=0, help_text="Actions in [as_of - 30 days, as_of).")
    monetary = models.BigIntegerField(
        default=0, help_text="Tokens spent in the window (spent_tokens of SPEND_CYBER_TOKENS and UNLOCK_CONTENT)."
    )
    corporate_tokens_30d = models.BigIntegerField(default=0, help_text="Tokens earned from Company A in the window.")
    corporate_visits_30d = models.IntegerField(default=0, help_text="Company A visits in the window.")
    balance = models.BigIntegerField(default=0, help_text="Wallet balance when the batch ran.")
    last_action_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "user_segments"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.rfm_group}"


class SegmentRun(models.Model):
    """One run of the RFM batch for an as-of date. At most one runs at a time (partial unique constraint).

    A run counts the actions with ids up to its ``watermark`` (every id at or below it had committed when the
    run began). A ``full`` run aggregates its whole window; an ``incremental`` one starts from the rows its
    ``base_run`` left and adds or removes only the actions that entered or left the window since
    (docs/decisions/0008).
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    class Mode(models.TextChoices):
        FULL = "full"
        INCREMENTAL = "incremental"

    id = models.BigAutoField(primary_key=True)
    as_of = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.FULL)
    mode_reason = models.CharField(max_length=200, blank=True, help_text="Why this mode (why not incremental).")
    base_run = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Incremental: the run whose rows this one starts from.",
    )
    watermark = models.BigIntegerField(
        null=True, blank=True, help_text="The highest user_actions id counted (all below had committed)."
    )
    business_timezone = models.CharField(max_length=64, blank=True, help_text="The window's time zone.")
    rows_as_of = models.BigIntegerField(
        null=True, blank=True, help_text="user_segments rows as of this date when the run ended."
    )
    trigger = models.CharField(max_length=30, blank=True, help_text="beat, command, ...")
    pay_rewards = models.BooleanField(default=True, help_text="False for a backfill: rises are recorded, not paid.")
    rules = models.JSONField(default=list, help_text="The rules this run used, in evaluation order.")
    rules_version = models.BigIntegerField(default=0, help_text="The last rule change this run saw.")
    figures_version = models.PositiveSmallIntegerField(
        default=1, help_text="What R, F and M meant for this run (segments.rfm_sql.FIGURES_VERSION)."
    )
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    players = models.BigIntegerField(default=0, help_text="Players covered (every players row).")
    ranges_total = models.IntegerField(default=0)
    range_players = models.BigIntegerField(default=0, help_text="Players in the ranges (the progress bar's total).")
    rows_updated = models.BigIntegerField(default=0)
    rows_inserted = models.BigIntegerField(default=0)
    changes = models.BigIntegerField(default=0, help_text="History rows written (group changes).")
    rises = models.BigIntegerField(default=0, help_text="Rises with a reward to pay.")
    rewards_paid = models.BigIntegerField(default=0)
    distribution = models.JSONField(default=dict, blank=True, help_text="Players per group after the run.")
    stage_seconds = models.FloatField(default=0)
    apply_seconds = models.FloatField(default=0)
    rewards_seconds = models.FloatField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        db_table = "segment_runs"
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="running"), name="segment_runs_one_running"
            )
        ]
        indexes = [models.Index(fields=["as_of"], name="segment_runs_as_of")]

    def __str__(self) -> str:
        return f"RFM run {self.id} as of {self.as_of} ({self.status})"

    @property
    def stage_table(self) -> str:
        """The run's scratch table: a full run's computed rows (one per covered player), an incremental run's
        changes of the window per player. Dropped when the run ends."""
        return f"segment_stage_{int(self.id)}"


class SegmentRunRange(models.Model):
    """A user-id range of a run: one Celery task applies it, then pays its rewards."""

    id = models.BigAutoField(primary_key=True)
    run = models.ForeignKey(SegmentRun, on_delete=models.CASCADE, related_name="ranges")
    first_id = models.BigIntegerField()
    last_id = models.BigIntegerField()
    players = models.BigIntegerField(default=0, help_text="Players in the range (the progress bar counts these).")
    covered = models.BigIntegerField(default=0, help_text="Of them, applied (every one, once the range is applied).")
    applied_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    rows_updated = models.BigIntegerField(default=0)
    rows_inserted = models.BigIntegerField(default=0)
    changes = models.BigIntegerField(default=0)
    rises = models.BigIntegerField(default=0)
    rewards_paid = models.BigIntegerField(default=0)
    apply_seconds = models.FloatField(default=0)
    rewards_seconds = models.FloatField(default=0)

    class Meta:
        db_table = "segment_run_ranges"
        constraints = [models.UniqueConstraint(fields=["run", "first_id"], name="segment_run_ranges_uniq")]

    def __str__(self) -> str:
        return f"run {self.run_id} players {self.first_id}..{self.last_id}"


class SegmentHistory(models.Model):
    """One row per change of a player's group: from (null for the first group), to, when, and the inputs
    that caused it. A rise with a reward to pay is ``pending`` until paid (exactly once, see services)."""

    class RewardState(models.TextChoices):
        NONE = "none", "no reward"
        PENDING = "pending"
        PAID = "paid"
        SKIPPED = "skipped", "already paid for this group and date"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey("players.Player", on_delete=models.CASCADE, related_name="segment_history", db_index=False)
    as_of = models.DateField()
    from_group = models.CharField(max_length=20, choices=Group.choices, null=True, blank=True)
    to_group = models.CharField(max_length=20, choices=Group.choices)
    recency_days = models.IntegerField(null=True, blank=True)
    frequency = models.IntegerField()
    monetary = models.BigIntegerField()
    corporate_tokens_30d = models.BigIntegerField()
    corporate_visits_30d = models.IntegerField()
    balance = models.BigIntegerField()
    last_action_at = models.DateTimeField(null=True, blank=True)
    run = models.ForeignKey(SegmentRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    reward_state = models.CharField(max_length=10, choices=RewardState.choices, default=RewardState.NONE)
    reward_tokens = models.BigIntegerField(null=True, blank=True, help_text="What the rise pays (set when pending).")
    rewarded_at = models.DateTimeField(null=True, blank=True)
    user_reward = models.OneToOneField(
        "activity.UserReward", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        db_table = "user_segment_history"
        verbose_name_plural = "segment history"
        indexes = [
            models.Index(fields=["user", "as_of"], name="segment_history_user_as_of"),
            models.Index(fields=["user"], condition=models.Q(reward_state="pending"), name="segment_history_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.from_group or '-'} -> {self.to_group} as of {self.as_of}"

    @property
    def is_rise(self) -> bool:
        return self.from_group is not None and GROUP_RANK[self.to_group] > GROUP_RANK[self.from_group]


class SegmentRule(models.Model):
    """The conditions for one group, evaluated in ``position`` order; the first that holds wins, else Low.

    Null bounds are open. The prose's extra conditions (minimum balance, Company A visits per month, counted
    over the 30-day window) apply only when switched on. Edits take effect at the next run and each one is
    recorded (``SegmentRuleChange``); the run records the rules it used.
    """

    group = models.CharField(max_length=20, choices=[c for c in Group.choices if c[0] != Group.LOW], unique=True)
    position = models.PositiveSmallIntegerField(help_text="Evaluation order: lower first.")
    enabled = models.BooleanField(default=True, help_text="Off: nobody is put in this group.")
    min_recency_days = models.PositiveIntegerField(null=True, blank=True)
    max_recency_days = models.PositiveIntegerField(null=True, blank=True)
    min_frequency = models.PositiveIntegerField(null=True, blank=True)
    max_frequency = models.PositiveIntegerField(null=True, blank=True)
    min_monetary = models.PositiveBigIntegerField(null=True, blank=True)
    max_monetary = models.PositiveBigIntegerField(null=True, blank=True)
    require_min_balance = models.BooleanField(default=False, help_text="Also require a wallet balance >= min_balance.")
    min_balance = models.PositiveBigIntegerField(null=True, blank=True)
    require_corporate_visits = models.BooleanField(
        default=False, help_text="Also require Company A visits (in the 30-day window) within the bounds."
    )
    min_corporate_visits = models.PositiveIntegerField(null=True, blank=True)
    max_corporate_visits = models.PositiveIntegerField(null=True, blank=True)
    upgrade_reward_tokens = models.PositiveIntegerField(
        default=0, help_text="Tokens granted when a player rises into this group (0: no reward)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "segment_rules"
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.group} (#{self.position})"

    def clean(self) -> None:
        problems: dict[str, str] = {}
        for low, high in (
            ("min_recency_days", "max_recency_days"),
            ("min_frequency", "max_frequency"),
            ("min_monetary", "max_monetary"),
            ("min_corporate_visits", "max_corporate_visits"),
        ):
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and a > b:
                problems[high] = f"Must be at least {low} ({a})."
        if self.require_min_balance and self.min_balance is None:
            problems["min_balance"] = "Required when the balance condition is on."
        if self.require_corporate_visits and self.min_corporate_visits is None and self.max_corporate_visits is None:
            problems["min_corporate_visits"] = "Give a bound when the Company A visits condition is on."
        if problems:
            raise ValidationError(problems)


class SegmentRuleChange(models.Model):
    """Who changed which rule when, field by field (``changes``: {field: [before, after]})."""

    id = models.BigAutoField(primary_key=True)
    rule = models.ForeignKey(SegmentRule, on_delete=models.CASCADE, related_name="changes")
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.CharField(max_length=150)
    changes = models.JSONField()

    class Meta:
        db_table = "segment_rule_changes"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.rule.group} changed by {self.changed_by} at {self.changed_at:%Y-%m-%d %H:%M}"
