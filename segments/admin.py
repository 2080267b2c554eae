"""Segments in the admin: computed rows are view-only; the rules are the operator's (every edit recorded)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from core.admin import ViewOnlyAdmin, ViewOnlyTabularInline
from segments.models import (
    Group,
    SegmentHistory,
    SegmentRule,
    SegmentRuleChange,
    SegmentRun,
    SegmentRunRange,
    UserSegment,
)
from segments.selectors import segment_distribution, segment_history_of, segment_last_run
from segments.services import segment_rule_update

HISTORY_ROWS = 100


@admin.register(UserSegment)
class UserSegmentAdmin(ViewOnlyAdmin):
    """Segments with their inputs; the list page shows the distribution by group, a player's page their history."""

    list_display = (
        "user_id",
        "rfm_group",
        "risk_profile",
        "as_of",
        "recency_days",
        "frequency",
        "monetary",
        "corporate_tokens_30d",
        "corporate_visits_30d",
        "balance",
        "streak_count",
        "last_updated",
        "history_link",
    )
    list_filter = ("rfm_group", "risk_profile", "as_of")
    search_fields = ("=user__id",)
    ordering = ("user_id",)
    fields = (
        "user",
        "rfm_group",
        "risk_profile",
        "as_of",
        "recency_days",
        "last_action_at",
        "frequency",
        "monetary",
        "corporate_tokens_30d",
        "corporate_visits_30d",
        "balance",
        "streak_count",
        "last_updated",
        "history",
    )
    readonly_fields = ("history",)

    @admin.display(description="history")
    def history_link(self, obj: UserSegment) -> str:
        url = reverse("admin:segments_segmenthistory_changelist") + f"?user__id__exact={obj.user_id}"
        return format_html('<a href="{}">history</a>', url)

    @admin.display(description="segment history (newest first)")
    def history(self, obj: UserSegment) -> str:
        rows = segment_history_of(player_id=obj.user_id, limit=HISTORY_ROWS)
        if not rows:
            return "No change recorded yet."
        cells = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    h.as_of,
                    h.from_group or "-",
                    h.to_group,
                    "-" if h.recency_days is None else h.recency_days,
                    h.frequency,
                    h.monetary,
                    h.get_reward_state_display(),
                    h.reward_tokens or "",
                )
                for h in rows
            ),
        )
        return format_html(
            "<table><thead><tr><th>as of</th><th>from</th><th>to</th><th>R</th><th>F</th><th>M</th><th>reward</th>"
            "<th>tokens</th></tr></thead><tbody>{}</tbody></table>{}",
            cells,
            self.history_link(obj),
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        run = segment_last_run()
        # The rollup the last run wrote; counted live only before any run finished (an empty or small table).
        counts: dict[str, int] = (
            dict(run.distribution) if run is not None and run.distribution else segment_distribution()
        )
        total = sum(counts.values()) or 1
        rows = [(g, counts.get(g, 0), round(100 * counts.get(g, 0) / total, 1)) for g in reversed(Group.values)]
        context = {**(extra_context or {}), "distribution": rows, "distribution_run": run}
        return super().changelist_view(request, extra_context=context)


@admin.register(SegmentHistory)
class SegmentHistoryAdmin(ViewOnlyAdmin):
    list_display = (
        "id",
        "user_id",
        "as_of",
        "from_group",
        "to_group",
        "recency_days",
        "frequency",
        "monetary",
        "corporate_visits_30d",
        "balance",
        "reward_state",
        "reward_tokens",
        "rewarded_at",
    )
    list_filter = ("to_group", "from_group", "reward_state", "as_of")
    search_fields = ("=user__id",)
    ordering = ("-id",)


class SegmentRuleChangeInline(ViewOnlyTabularInline):
    model = SegmentRuleChange
    fields = ("changed_at", "changed_by", "changes")
    readonly_fields = fields
    verbose_name_plural = "changes (newest first)"


@admin.register(SegmentRule)
class SegmentRuleAdmin(admin.ModelAdmin):
    """The spec's groups are fixed; their conditions, order and rewards are edited here. Each save is recorded
    with who changed what, and takes effect at the next run."""

    list_display = (
        "group",
        "position",
        "enabled",
        "min_recency_days",
        "max_recency_days",
        "min_frequency",
        "max_frequency",
        "min_monetary",
        "max_monetary",
        "require_min_balance",
        "min_balance",
        "require_corporate_visits",
        "min_corporate_visits",
        "max_corporate_visits",
        "upgrade_reward_tokens",
        "updated_at",
    )
    readonly_fields = ("group", "updated_at")
    fieldsets = (
        (None, {"fields": ("group", "position", "enabled", "updated_at")}),
        (
            "The spec's conditions (empty: no bound)",
            {
                "fields": (
                    ("min_recency_days", "max_recency_days"),
                    ("min_frequency", "max_frequency"),
                    ("min_monetary", "max_monetary"),
                )
            },
        ),
        (
            "Extra conditions of the spec's prose (off by default)",
            {
                "fields": (
                    ("require_min_balance", "min_balance"),
                    ("require_corporate_visits", "min_corporate_visits", "max_corporate_visits"),
                )
            },
        ),
        ("Upgrade reward", {"fields": ("upgrade_reward_tokens",)}),
    )
    inlines = [SegmentRuleChangeInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: SegmentRule, form: Any, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        actor = getattr(request.user, "get_username", lambda: "")() or "staff"
        segment_rule_update(rule_id=obj.pk, changes=changes, actor=actor)


class SegmentRunRangeInline(ViewOnlyTabularInline):
    model = SegmentRunRange
    fields = (
        "first_id",
        "last_id",
        "players",
        "rows_updated",
        "rows_inserted",
        "changes",
        "rises",
        "rewards_paid",
        "applied_at",
        "done_at",
        "apply_seconds",
        "rewards_seconds",
    )
    readonly_fields = fields


@admin.register(SegmentRun)
class SegmentRunAdmin(ViewOnlyAdmin):
    list_display = (
        "id",
        "as_of",
        "status",
        "trigger",
        "pay_rewards",
        "players",
        "rows_updated",
        "rows_inserted",
        "changes",
        "rises",
        "rewards_paid",
        "rules_version",
        "stage_seconds",
        "apply_seconds",
        "started_at",
        "finished_at",
    )
    list_filter = ("status", "as_of")
    ordering = ("-id",)
    inlines = [SegmentRunRangeInline]
