from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class PlayerPlayHours(models.Model):
    """Rollup for the usage window (spec 2.3.3): a player's game rounds (``GAME_PLAY`` and ``FAIL_GAME``) in
    the 30 days before ``as_of``, by hour of day in the player's own timezone.

    Filled by the nightly ``recommendations.tasks.rollup_play_hours`` (set-based, player-id range by range), so
    a recommendation reads one row instead of scanning ``user_actions``. ``hours`` is a JSON list of 24 counts
    (index 0 = 00:00-01:00 local). Players without a round in the window have no row.
    """

    user = models.OneToOneField("players.Player", on_delete=models.CASCADE, primary_key=True, related_name="play_hours")
    hours = models.JSONField(help_text="24 counts of game rounds, by local hour (0-23).")
    rounds = models.PositiveIntegerField(help_text="Rounds in the window (the sum of hours).")
    as_of = models.DateTimeField(help_text="The run that wrote this row; its window is the 30 days before.")

    class Meta:
        db_table = "player_play_hours"

    def __str__(self) -> str:
        return f"play hours of player {self.user_id} as of {self.as_of:%Y-%m-%d %H:%M}"


class PopulationPlayHours(models.Model):
    """One row (id 1), written by the same nightly job: every player's rounds summed by the player's local hour.
    ``peak_hour`` (the hour with the most rounds; ties to the earlier hour) is the usage window's fallback for a
    player with no play and no Company A visit (``recommendations.engine.usage_window``)."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID)
    hours = models.JSONField(help_text="24 counts: every player's rounds by their local hour.")
    peak_hour = models.PositiveSmallIntegerField()
    players = models.PositiveIntegerField(help_text="Players with at least one round in the window.")
    rounds = models.BigIntegerField()
    as_of = models.DateTimeField()

    class Meta:
        db_table = "play_hours_population"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="play_hours_population_one_row")]

    def __str__(self) -> str:
        return f"population peak {self.peak_hour:02d}:00 as of {self.as_of:%Y-%m-%d %H:%M}"


class RecommendationImpression(models.Model):
    """One proposal served to a player (learning data for adaptive tuning, spec 2.5.2), and its click.

    Written in bulk from an in-process buffer (``recommendations.impressions``), not by the request that served
    it; a click may arrive before its impression is written, in which case the click writes the row (with an
    empty ``proposal_type``) and the buffer's later upsert fills the rest, keeping ``clicked_at``.
    """

    proposal_id = models.UUIDField(
        primary_key=True, help_text="The id returned with the proposal (UUID v8, time-ordered, signed for its player)."
    )
    user = models.ForeignKey(
        "players.Player", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    proposal_type = models.CharField(max_length=40, blank=True)
    rule = models.CharField(max_length=40, blank=True, help_text="The rule that produced the proposal.")
    position = models.PositiveSmallIntegerField(null=True, help_text="0-based place in the answer's list.")
    game = models.CharField(max_length=40, blank=True)
    action = models.CharField(max_length=40, blank=True)
    reason = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    served_at = models.DateTimeField()
    clicked_at = models.DateTimeField(null=True, blank=True)
    # What the adaptive loop learns from (spec 2.5.2, docs/metrics.md "Conversions"): which text was shown, to whom.
    message_key = models.CharField(
        max_length=50, blank=True, help_text="The message rendered (e.g. CORPORATE_ENGAGE_FIRST for CORPORATE_ENGAGE)."
    )
    variant = models.CharField(
        max_length=40,
        blank=True,
        help_text="The message variant shown (texts.MessageVariant.name); empty: the default.",
    )
    rfm_group = models.CharField(max_length=20, blank=True, help_text="The player's RFM group when served.")
    locale = models.CharField(max_length=5, blank=True, help_text="The locale the message was rendered in.")
    holdout = models.BooleanField(
        default=False,
        help_text="Withheld: the player is in the standing holdout, so this proposal was not shown (kept to measure "
        "uplift against).",
    )
    learning = models.BooleanField(
        default=True,
        help_text="Counted by the bandit. False for a protected or harm-marked player (served the default text).",
    )

    class Meta:
        db_table = "recommendation_impressions"
        indexes = [models.Index(fields=["user", "served_at"], name="rec_impressions_user_ts")]

    def __str__(self) -> str:
        return f"{self.proposal_type or '?'} to player {self.user_id} at {self.served_at:%Y-%m-%d %H:%M:%S}"


class RecommendationSuppression(models.Model):
    """One proposal player protection removed from a served recommendation (``engine.Suppressed``): which type,
    the protection rule that removed it (``reason["rule"]``: ``cool_off``, ``self_exclusion``,
    ``spend_limit_reached``, ``spend_limit_left``, ``harm_markers``, ``live_harm_signals``) and, for a harm rule, the
    names of what fired (the live signals, then the nightly markers). Counted by analytics (docs/metrics.md,
    "Protection").

    Written in bulk from the impressions' in-process buffer (``recommendations.impressions``), with the same loss
    window; append-only. No id of the proposal: a suppressed proposal was never served, so none was made.
    """

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(
        "players.Player", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    proposal_type = models.CharField(max_length=40)
    rule = models.CharField(max_length=40, help_text="The protection rule that removed the proposal.")
    signals = models.JSONField(
        default=list, blank=True, help_text="For a harm rule: the live signals and nightly markers that fired."
    )
    served_at = models.DateTimeField(help_text="When the recommendation it was removed from was served.")

    class Meta:
        db_table = "recommendation_suppressions"
        indexes = [
            # The analytics rollup reads a range of days; the flush counts a player's rows of the day (the bound).
            models.Index(fields=["served_at"], name="rec_suppressions_ts"),
            models.Index(fields=["user", "served_at"], name="rec_suppressions_user_ts"),
        ]

    def __str__(self) -> str:
        return f"{self.proposal_type} held back ({self.rule}) from {self.user_id} at {self.served_at:%Y-%m-%d %H:%M}"


class VariantPosterior(models.Model):
    """The bandit's belief about one message variant for one RFM group and locale (spec 2.5.2): written by the
    nightly "recalculate recommendation weights" job from the impressions counted for learning, read at serve time
    (Thompson sampling picks the variant). ``alpha`` and ``beta`` are the Beta posterior of the conversion rate:
    1 + conversions and 1 + impressions - conversions (a fair start for a new variant: Beta(1, 1))."""

    proposal_type = models.CharField(max_length=40)
    message_key = models.CharField(max_length=50)
    variant = models.CharField(max_length=40, blank=True, help_text="Empty: the message's default text.")
    rfm_group = models.CharField(max_length=20, blank=True, help_text="Empty: players without a segment.")
    locale = models.CharField(max_length=5)
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)
    conversions = models.PositiveIntegerField(default=0)
    alpha = models.FloatField(default=1.0)
    beta = models.FloatField(default=1.0)
    computed_at = models.DateTimeField()

    class Meta:
        db_table = "recommendation_variant_posteriors"
        constraints = [
            models.UniqueConstraint(
                fields=["message_key", "variant", "rfm_group", "locale"], name="rec_variant_posteriors_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.message_key}/{self.variant or 'default'} [{self.rfm_group or '-'}, {self.locale}]"


class ProposalConversion(models.Model):
    """One action that fulfilled a served proposal (spec 2.5.2; docs/metrics.md "Conversions"), attributed to one
    impression: the latest one served to the same player at or before the action, within its type's window, of a type
    the action fulfils (``recommendations.conversions``). Holdout impressions are attributed like the others (what the
    holdout would have converted). Written by ``recommendations.attribution`` from a watermark on ``user_actions.id``;
    one row per action at most (``action_id`` unique), so a re-run or a replayed action adds nothing.

    A spend limit set is not an action: its row has no ``action_id`` and is unique on the player and its time.
    """

    id = models.BigAutoField(primary_key=True)
    action_id = models.BigIntegerField(null=True, blank=True, help_text="The user_actions row; empty: a limit set.")
    user = models.ForeignKey(
        "players.Player", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    impression = models.ForeignKey(  # no index: nothing reads conversions by impression, and the night writes them
        RecommendationImpression,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="conversions",
    )
    proposal_type = models.CharField(max_length=40)
    event = models.CharField(max_length=20, help_text="What fulfilled it (recommendations.conversions.EVENTS).")
    acted_at = models.DateTimeField(help_text="The action's time (a limit set: the protection row's change).")
    served_at = models.DateTimeField(help_text="The impression's serve time (the day its figures count on).")
    click_through = models.BooleanField(help_text="The impression was clicked at or before the action.")
    attributed_at = models.DateTimeField()

    class Meta:
        db_table = "recommendation_conversions"
        constraints = [
            models.UniqueConstraint(
                fields=["action_id"], condition=models.Q(action_id__isnull=False), name="rec_conversions_action_uniq"
            ),
            models.UniqueConstraint(
                fields=["user", "acted_at"],
                condition=models.Q(action_id__isnull=True),
                name="rec_conversions_limit_set_uniq",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} by {self.user_id} converts {self.proposal_type} at {self.acted_at:%Y-%m-%d %H:%M:%S}"


class AttributionState(models.Model):
    """How far attribution has read (one row, id 1): every action up to ``last_action_id`` is attributed, and limit
    sets changed up to ``limit_sets_through``."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID)
    last_action_id = models.BigIntegerField(default=0)
    limit_sets_through = models.DateTimeField(null=True, blank=True)
    ran_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "recommendation_attribution_state"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="rec_attribution_state_one_row")]

    def __str__(self) -> str:
        return f"attributed up to action {self.last_action_id}"


class ProposalDailyStat(models.Model):
    """The loop's daily figures (spec 2.5.2): per business day of the serve, proposal type, message, variant, RFM
    group, locale, holdout and learning flag, the impressions, clicks and converted impressions (click-through and
    view-through apart). Re-computed nightly for the days late actions can still change (``recommendations.weights``);
    the dashboard and the posteriors read it, never the impressions."""

    day = models.DateField()
    proposal_type = models.CharField(max_length=40)
    message_key = models.CharField(max_length=50, blank=True)
    variant = models.CharField(max_length=40, blank=True)
    rfm_group = models.CharField(max_length=20, blank=True)
    locale = models.CharField(max_length=5, blank=True)
    holdout = models.BooleanField()
    learning = models.BooleanField()
    impressions = models.PositiveIntegerField()
    clicks = models.PositiveIntegerField()
    conversions = models.PositiveIntegerField(help_text="Impressions with at least one conversion.")
    click_conversions = models.PositiveIntegerField(help_text="Of those, clicked at or before a converting action.")

    class Meta:
        db_table = "recommendation_daily_stats"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "proposal_type", "message_key", "variant", "rfm_group", "locale", "holdout", "learning"],
                name="rec_daily_stats_uniq",
            )
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.proposal_type}/{self.variant or 'default'} [{self.rfm_group}, {self.locale}]"


class ProposalUpliftDay(models.Model):
    """Per business day, proposal type and arm (shown, or the standing holdout), the player-days that had the type
    served (or withheld) and those of them that converted: the unit of the uplift (docs/metrics.md "Uplift")."""

    day = models.DateField()
    proposal_type = models.CharField(max_length=40)
    holdout = models.BooleanField()
    player_days = models.PositiveIntegerField()
    converted = models.PositiveIntegerField()

    class Meta:
        db_table = "recommendation_uplift_days"
        constraints = [models.UniqueConstraint(fields=["day", "proposal_type", "holdout"], name="rec_uplift_days_uniq")]

    def __str__(self) -> str:
        return f"{self.day} {self.proposal_type} {'holdout' if self.holdout else 'shown'}"
