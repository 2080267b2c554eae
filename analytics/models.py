"""Daily rollups of the raw log for the KPI figures (spec 2.5.1; docs/metrics.md defines each figure).

Every table here is written only by ``analytics.services`` (set-based SQL in ``analytics.sql``) and can be rebuilt
for any date range from the raw tables (``manage.py rollup_analytics --from --to``). Days are business-timezone
calendar days (``BUSINESS_TIMEZONE``). ``RollupState`` records how far the log has been folded in: the next refresh
recomputes every day that received an action, a ledger row or a segment change since.
"""

from __future__ import annotations

from django.db import models


class PlayerDay(models.Model):
    """One row per player and business day with at least one app-activity or Company A action: the base of DAU, WAU,
    MAU, retention, churn and the Company A loop."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    user_id = models.BigIntegerField()
    app_actions = models.IntegerField(help_text="Actions of types the registry marks as app activity.")
    corporate_actions = models.IntegerField(help_text="Company A visits and Company A token earns.")
    spends = models.IntegerField(help_text="Token spends (game buy-ins and content unlocks).")
    purchases = models.IntegerField(help_text="Cash purchases of tokens.")
    first_corporate_earn_at = models.DateTimeField(null=True, help_text="The day's first Company A earn.")
    last_spend_at = models.DateTimeField(null=True, help_text="The day's last spend.")

    class Meta:
        db_table = "analytics_player_days"
        constraints = [models.UniqueConstraint(fields=["day", "user_id"], name="analytics_player_days_uniq")]
        indexes = [models.Index(fields=["user_id", "day"], name="analytics_player_days_user")]

    def __str__(self) -> str:
        return f"player {self.user_id} on {self.day}"


class PlayerSpan(models.Model):
    """A player's first and last active day (app activity), and whether they were active on the days retention looks
    at: their cohort's figures, counted without reading a player-day."""

    user_id = models.BigIntegerField(primary_key=True)
    first_active_day = models.DateField()
    last_active_day = models.DateField()
    active_day_1 = models.PositiveSmallIntegerField(default=0, help_text="1 if active on the day after the first.")
    active_day_7 = models.PositiveSmallIntegerField(default=0, help_text="1 if active on the first day + 7.")
    active_day_14 = models.PositiveSmallIntegerField(default=0, help_text="1 if active on the first day + 14.")
    active_day_30 = models.PositiveSmallIntegerField(default=0, help_text="1 if active on the first day + 30.")

    class Meta:
        db_table = "analytics_players"
        indexes = [models.Index(fields=["first_active_day"], name="analytics_players_first")]

    def __str__(self) -> str:
        return f"player {self.user_id}: {self.first_active_day}..{self.last_active_day}"


class Day(models.Model):
    """The day's figures (the daily endpoint reads one row per day)."""

    day = models.DateField(primary_key=True)
    dau = models.IntegerField(default=0)
    wau = models.IntegerField(default=0)
    mau = models.IntegerField(default=0)
    new_players = models.IntegerField(default=0)
    corporate_only_players = models.IntegerField(default=0, help_text="Company A actions that day, no app activity.")
    corporate_players = models.IntegerField(default=0, help_text="Players with Company A actions that day.")
    active_14d = models.IntegerField(default=0, help_text="Active in the 14 days ending that day.")
    paying_players_30d = models.IntegerField(default=0)
    whale_players = models.IntegerField(default=0, help_text="MAU players whose RFM group that day is Whale.")
    earned_corporate = models.BigIntegerField(default=0)
    earned_in_app = models.BigIntegerField(default=0)
    earned_reward = models.BigIntegerField(default=0)
    earned_purchase = models.BigIntegerField(default=0)
    spent_games = models.BigIntegerField(default=0)
    spent_content = models.BigIntegerField(default=0)
    refunded_purchase = models.BigIntegerField(
        default=0, help_text="Tokens taken back by refunds and chargebacks (REFUND ledger rows, by the row's day)."
    )
    ledger_net = models.BigIntegerField(default=0, help_text="Sum of the day's ledger amounts (net issuance).")
    outstanding_balance = models.BigIntegerField(default=0, help_text="Sum of every ledger amount up to the day's end.")
    corporate_earners = models.IntegerField(default=0, help_text="Players with a Company A earn that day.")
    corporate_earners_spent_7d = models.IntegerField(default=0, help_text="Of them, spent in the app within 7 days.")
    computed_at = models.DateTimeField()

    class Meta:
        db_table = "analytics_days"

    def __str__(self) -> str:
        return f"figures of {self.day}"


class Cohort(models.Model):
    """A cohort's retention (the players whose first active day is ``day``), kept by every refresh for the cohorts of
    the players it saw act: the unfiltered retention panel reads a row per cohort instead of counting every player of
    the range (a million rows in bench/dashboard.py)."""

    day = models.DateField(primary_key=True, help_text="The cohort's first active day.")
    size = models.IntegerField()
    retained_1 = models.IntegerField(help_text="Active on the day after the first.")
    retained_7 = models.IntegerField()
    retained_14 = models.IntegerField()
    retained_30 = models.IntegerField()
    on_or_after_1 = models.IntegerField(help_text="Last active on or after the day after the first.")
    on_or_after_7 = models.IntegerField()
    on_or_after_14 = models.IntegerField()
    on_or_after_30 = models.IntegerField()

    class Meta:
        db_table = "analytics_cohorts"

    def __str__(self) -> str:
        return f"cohort of {self.day}: {self.size}"


class MonthChurn(models.Model):
    """Monthly churn of a business calendar month: of the players active in the month before, those not active in
    it. Kept by every refresh for the months its dirty days touch (a day counts for its month and the next)."""

    month = models.DateField(primary_key=True, help_text="The month's first day.")
    active_previous_month = models.IntegerField()
    churned = models.IntegerField()

    class Meta:
        db_table = "analytics_month_churn"

    def __str__(self) -> str:
        return f"{self.month:%Y-%m}: {self.churned} of {self.active_previous_month}"


class TokenFlow(models.Model):
    """Tokens earned by source and spent by game and by content, per day (from the action log)."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    direction = models.CharField(max_length=6, help_text="earned or spent")
    category = models.CharField(max_length=10, help_text="source (earned), game or content (spent)")
    key = models.CharField(max_length=100, help_text="corporate, in_app, reward, purchase; a game; a content id")
    tokens = models.BigIntegerField()
    actions = models.IntegerField()

    class Meta:
        db_table = "analytics_token_flows"
        constraints = [
            models.UniqueConstraint(fields=["day", "direction", "category", "key"], name="analytics_token_flows_uniq")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.direction} {self.category}:{self.key} {self.tokens}"


class HourCell(models.Model):
    """App-activity actions of one business day by weekday and hour on the player's own clock."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    weekday = models.PositiveSmallIntegerField(help_text="ISO: 1 Monday .. 7 Sunday, on the player's clock.")
    hour = models.PositiveSmallIntegerField(help_text="0..23 on the player's clock.")
    actions = models.IntegerField()

    class Meta:
        db_table = "analytics_hour_cells"
        constraints = [models.UniqueConstraint(fields=["day", "weekday", "hour"], name="analytics_hour_cells_uniq")]

    def __str__(self) -> str:
        return f"{self.day} weekday {self.weekday} {self.hour:02d}h: {self.actions}"


class RfmMix(models.Model):
    """Players per RFM group as of a day (the group of the latest segment change on or before it)."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    rfm_group = models.CharField(max_length=20)
    players = models.IntegerField()

    class Meta:
        db_table = "analytics_rfm_mix"
        indexes = [models.Index(fields=["day"], name="analytics_rfm_mix_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.rfm_group}: {self.players}"


class RfmTransition(models.Model):
    """Players by (group the day before, group on the day): the night's transition matrix. ``from_group`` is empty
    for a player's first group."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    from_group = models.CharField(max_length=20, blank=True)
    to_group = models.CharField(max_length=20)
    players = models.IntegerField()

    class Meta:
        db_table = "analytics_rfm_transitions"
        indexes = [models.Index(fields=["day"], name="analytics_rfm_transitions_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.from_group or '-'} -> {self.to_group}: {self.players}"


class RfmCoverage(models.Model):
    """The rules' coverage for one RFM run's date: its Low players split into ``at_risk`` (the spec's Low: R > 15 or
    F < 5, or no action) and, for the others, the gap between the groups they fell through (a label naming the
    conditions of the nearest groups they miss). A snapshot of the run's inputs, taken when the run is seen."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    bucket = models.CharField(max_length=300)
    players = models.IntegerField()
    run_id = models.BigIntegerField()

    class Meta:
        db_table = "analytics_rfm_coverage"
        indexes = [models.Index(fields=["day"], name="analytics_rfm_coverage_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.bucket}: {self.players}"


class ProposalDay(models.Model):
    """Proposals served on a day by type, the player's RFM group that day and locale, and how many were clicked."""

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    proposal_type = models.CharField(max_length=40)
    rfm_group = models.CharField(max_length=20)
    locale = models.CharField(max_length=5)
    impressions = models.IntegerField()
    clicks = models.IntegerField()

    class Meta:
        db_table = "analytics_proposals"
        indexes = [models.Index(fields=["day"], name="analytics_proposals_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.proposal_type} {self.rfm_group} {self.locale}: {self.impressions}"


class ProtectionDay(models.Model):
    """Player protection on a business day (docs/metrics.md, "Protection"): one row per (day, figure, key).

    ``figure`` is one of ``FIGURES``. What protection removed (``proposals*``, ``live_signal``, ``pushes*``) is
    counted from the raw tables by day, by the refresh and by a rebuild. The state (``state``: limits, cool-offs,
    exclusions) and the nightly markers in force (``nightly_marker``) are snapshots: tables that hold only the present
    say nothing of a past day, so the refresh writes today's rows each time it runs (the day's last refresh stays) and
    nothing recomputes a past day's."""

    STATE = "state"  # key: a STATE_KEYS entry
    NIGHTLY_MARKER = "nightly_marker"  # key: the marker
    LIVE_SIGNAL = "live_signal"  # key: the live signal (players whose proposals it held back)
    PROPOSALS = "proposals"  # key: "" (every proposal held back)
    PROPOSALS_BY_TYPE = "proposals_by_type"  # key: the proposal type
    PROPOSALS_BY_RULE = "proposals_by_rule"  # key: the protection rule
    PUSHES = "pushes"  # key: "" (every push suppressed)
    PUSHES_BY_REASON = "pushes_by_reason"  # key: "kind:reason"
    SNAPSHOTS = (STATE, NIGHTLY_MARKER)
    COUNTED = (LIVE_SIGNAL, PROPOSALS, PROPOSALS_BY_TYPE, PROPOSALS_BY_RULE, PUSHES, PUSHES_BY_REASON)
    FIGURES = SNAPSHOTS + COUNTED
    STATE_KEYS = ("daily_spend_limit", "weekly_spend_limit", "cool_off", "self_exclusion", "limit_raise_pending")

    id = models.BigAutoField(primary_key=True)
    day = models.DateField()
    figure = models.CharField(max_length=30)
    key = models.CharField(max_length=100, blank=True)
    players = models.IntegerField(help_text="Distinct players.")
    events = models.IntegerField(help_text="Proposals or pushes held back; for a snapshot, the players again.")
    computed_at = models.DateTimeField(help_text="For a snapshot: the moment it shows.")

    class Meta:
        db_table = "analytics_protection"
        constraints = [
            models.UniqueConstraint(fields=["day", "figure", "key"], name="analytics_protection_uniq"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.figure}:{self.key} {self.players}"


class RollupState(models.Model):
    """How far the raw tables are folded in (one row, id 1): ids up to these watermarks are counted; a row above
    them marks its business day dirty for the next refresh."""

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID)
    actions_watermark = models.BigIntegerField(default=0)
    ledger_watermark = models.BigIntegerField(default=0)
    history_watermark = models.BigIntegerField(default=0)
    coverage_run_id = models.BigIntegerField(default=0, help_text="The RFM run whose coverage was taken last.")
    pending_pushes_from = models.DateField(
        null=True, help_text="The business day of the oldest push pending at the last refresh (it may be suppressed)."
    )
    first_day = models.DateField(null=True, help_text="The first day rolled up (the earliest action's).")
    last_day = models.DateField(null=True, help_text="The last day rolled up (today when the last refresh ran).")
    refreshed_at = models.DateTimeField(null=True)
    business_timezone = models.CharField(max_length=64, blank=True)

    class Meta:
        db_table = "analytics_rollup_state"

    def __str__(self) -> str:
        return f"analytics rolled up to {self.last_day}"
