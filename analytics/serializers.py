"""The analytics API's input (a date range) and the documented shape of its answers (docs/metrics.md)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from rest_framework import serializers

DATE_FORMAT = "%Y-%m-%d"
# The dates a range may name: far outside any log, and far enough from the calendar's ends that the figures' own
# windows (30 days back, cohorts' 30 days on) stay dates.
EARLIEST_DATE, LATEST_DATE = dt.date(2000, 1, 1), dt.date(2999, 12, 31)


def _date_field() -> serializers.DateField:
    return serializers.DateField(
        input_formats=[DATE_FORMAT],
        validators=[_within_calendar],
        help_text=f"YYYY-MM-DD, from {EARLIEST_DATE} to {LATEST_DATE}.",
    )


def _within_calendar(value: dt.date) -> None:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise serializers.ValidationError(f"Must be from {EARLIEST_DATE} to {LATEST_DATE}.")


class DateRangeInput(serializers.Serializer):
    """``from`` and ``to``, both YYYY-MM-DD and inclusive; ``to`` not before ``from``; at most
    ``ANALYTICS_MAX_RANGE_DAYS`` days."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "from": _date_field(),
            "to": _date_field(),
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start: dt.date = attrs["from"]
        end: dt.date = attrs["to"]
        if end < start:
            raise serializers.ValidationError({"to": ["Must be on or after from."]})
        limit = settings.ANALYTICS_MAX_RANGE_DAYS
        if (end - start).days + 1 > limit:
            raise serializers.ValidationError({"to": [f"The range may cover at most {limit} days."]})
        return attrs


# --- the answers, for the OpenAPI document (the views send plain dicts of this shape) -------------------------------


class EarnedOutput(serializers.Serializer):
    corporate = serializers.IntegerField()
    in_app = serializers.IntegerField()
    reward = serializers.IntegerField()
    purchase = serializers.IntegerField()


class SpentOutput(serializers.Serializer):
    games = serializers.IntegerField()
    content = serializers.IntegerField()


class LoopOutput(serializers.Serializer):
    earners = serializers.IntegerField(help_text="Players with a Company A earn that day.")
    spent_within_7d = serializers.IntegerField(help_text="Of them, those who spent in the app within 7 days.")
    share = serializers.FloatField(allow_null=True)


class DayOutput(serializers.Serializer):
    date = serializers.DateField()
    dau = serializers.IntegerField()
    wau = serializers.IntegerField()
    mau = serializers.IntegerField()
    stickiness = serializers.FloatField(allow_null=True, help_text="DAU / MAU; null when MAU is 0.")
    new_players = serializers.IntegerField()
    corporate_only_players = serializers.IntegerField(help_text="Company A actions that day and no app activity.")
    paying_players_30d = serializers.IntegerField()
    paying_ratio = serializers.FloatField(allow_null=True)
    whale_players = serializers.IntegerField()
    whale_share = serializers.FloatField(allow_null=True)
    tokens_earned = EarnedOutput()
    tokens_spent = SpentOutput()
    tokens_refunded = serializers.IntegerField(
        help_text="Tokens taken back by refunds and chargebacks (counted apart: tokens_earned.purchase stays gross)."
    )
    net_issuance = serializers.IntegerField()
    outstanding_balance = serializers.IntegerField()
    corporate_loop = LoopOutput()


class DailyOutput(serializers.Serializer):
    days = DayOutput(many=True)


class RetainedOutput(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {n: serializers.IntegerField(allow_null=True) for n in ("1", "7", "14", "30")}


class CohortOutput(serializers.Serializer):
    date = serializers.DateField(help_text="The cohort's first active day.")
    size = serializers.IntegerField()
    retained = RetainedOutput(help_text="Active on day c+N; null when c+N is not reached yet.")
    retained_on_or_after = RetainedOutput(help_text="Active on some day from c+N on; null when not reached yet.")


class RetentionOutput(serializers.Serializer):
    cohorts = CohortOutput(many=True)


class ChurnDayOutput(serializers.Serializer):
    date = serializers.DateField()
    active_30d = serializers.IntegerField()
    churned_14d = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)


class ChurnMonthOutput(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    active_previous_month = serializers.IntegerField()
    churned = serializers.IntegerField()
    rate = serializers.FloatField(allow_null=True)
    complete = serializers.BooleanField()


class ChurnOutput(serializers.Serializer):
    days = ChurnDayOutput(many=True)
    months = ChurnMonthOutput(many=True)


class TokenDayOutput(serializers.Serializer):
    date = serializers.DateField()
    earned = EarnedOutput()
    spent_by_game = serializers.DictField(child=serializers.IntegerField())
    spent_by_content = serializers.DictField(child=serializers.IntegerField())
    refunded = serializers.IntegerField(
        help_text="Tokens taken back by refunds and chargebacks (counted apart: earned purchase stays gross)."
    )
    net_issuance = serializers.IntegerField()
    outstanding_balance = serializers.IntegerField()


class TokenMonthOutput(serializers.Serializer):
    month = serializers.CharField(help_text="YYYY-MM")
    days = serializers.IntegerField(help_text="Days of the range in this month.")
    earned = EarnedOutput()
    spent_by_game = serializers.DictField(child=serializers.IntegerField())
    spent_by_content = serializers.DictField(child=serializers.IntegerField())
    refunded = serializers.IntegerField(
        help_text="Tokens taken back by refunds and chargebacks (counted apart: earned purchase stays gross)."
    )
    net_issuance = serializers.IntegerField()


class TokensOutput(serializers.Serializer):
    days = TokenDayOutput(many=True)
    months = TokenMonthOutput(many=True)


class HourCellOutput(serializers.Serializer):
    weekday = serializers.IntegerField(help_text="ISO weekday on the player's clock: 1 Monday .. 7 Sunday.")
    hour = serializers.IntegerField(help_text="0..23 on the player's clock.")
    actions = serializers.IntegerField()


class PeakHoursOutput(serializers.Serializer):
    clock = serializers.CharField(help_text="Always `player`: each action on its player's own clock.")
    cells = HourCellOutput(many=True)


class TransitionOutput(serializers.Serializer):
    from_ = serializers.CharField(allow_null=True, help_text="The group the day before; null for a first group.")
    to = serializers.CharField()
    players = serializers.IntegerField()

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields


class GapOutput(serializers.Serializer):
    gap = serializers.CharField(help_text="The nearest groups' conditions missed, e.g. `High Engaged: M < 2000`.")
    players = serializers.IntegerField()


class CoverageOutput(serializers.Serializer):
    low_at_risk = serializers.IntegerField(help_text="Low by the spec's own definition: R > 15, F < 5 or no action.")
    low_in_gaps = serializers.IntegerField(help_text="Low only because no group's conditions hold.")
    gaps = GapOutput(many=True)


class RfmDayOutput(serializers.Serializer):
    date = serializers.DateField()
    mix = serializers.DictField(child=serializers.IntegerField())
    transitions = TransitionOutput(many=True)
    coverage = CoverageOutput(allow_null=True)


class RfmOutput(serializers.Serializer):
    days = RfmDayOutput(many=True)


class ProposalRowOutput(serializers.Serializer):
    type = serializers.CharField()
    segment = serializers.CharField(help_text="The player's RFM group on the serving day.")
    locale = serializers.CharField()
    impressions = serializers.IntegerField()
    clicks = serializers.IntegerField()
    ctr = serializers.FloatField(allow_null=True)


class ProposalsOutput(serializers.Serializer):
    rows = ProposalRowOutput(many=True)


class ProtectionStateOutput(serializers.Serializer):
    daily_spend_limit = serializers.IntegerField(help_text="Players with a daily spend limit in force.")
    weekly_spend_limit = serializers.IntegerField(help_text="Players with a weekly spend limit in force.")
    cool_off = serializers.IntegerField(help_text="Players in a cool-off.")
    self_exclusion = serializers.IntegerField(help_text="Players in a self-exclusion.")
    limit_raise_pending = serializers.IntegerField(
        help_text="Players with a looser limit waiting out its delay (the only future-dated change there is)."
    )


class HeldBackOutput(serializers.Serializer):
    players = serializers.IntegerField()
    proposals = serializers.IntegerField(help_text="Proposals held back (one per recommendation served).")


class ProposalsSuppressedOutput(serializers.Serializer):
    players = serializers.IntegerField(help_text="Players with at least one proposal held back.")
    proposals = serializers.IntegerField()
    by_type = serializers.DictField(child=HeldBackOutput(), help_text="By proposal type.")
    by_rule = serializers.DictField(
        child=HeldBackOutput(),
        help_text="By protection rule: cool_off, self_exclusion, spend_limit_reached, spend_limit_left, harm_markers, "
        "live_harm_signals.",
    )


class PushReasonOutput(serializers.Serializer):
    kind = serializers.CharField(help_text="marketing or transactional")
    reason = serializers.CharField(
        help_text="self_excluded, cooling_off, harm_marker, live_harm_signal; frequency_cap (the marketing cap)."
    )
    players = serializers.IntegerField()
    pushes = serializers.IntegerField()


class PushesSuppressedOutput(serializers.Serializer):
    players = serializers.IntegerField()
    pushes = serializers.IntegerField()
    by_reason = PushReasonOutput(many=True)


class ProtectionFiguresDayOutput(serializers.Serializer):
    date = serializers.DateField()
    snapshot_at = serializers.DateTimeField(
        allow_null=True, help_text="When `players` and `nightly_markers` were taken: the day's last refresh."
    )
    players = ProtectionStateOutput(
        allow_null=True, help_text="The protection state at `snapshot_at`; null for a day no refresh ran on."
    )
    nightly_markers = serializers.DictField(
        child=serializers.IntegerField(),
        allow_null=True,
        help_text="Players per nightly harm marker in force at `snapshot_at`; null for a day no refresh ran on.",
    )
    live_signals = serializers.DictField(
        child=HeldBackOutput(), help_text="Per live harm signal: the players and proposals it held back."
    )
    proposals_suppressed = ProposalsSuppressedOutput()
    pushes_suppressed = PushesSuppressedOutput()


class ProtectionFiguresOutput(serializers.Serializer):
    days = ProtectionFiguresDayOutput(many=True)
