"""The adaptive loop's records, for reading only (issue 18 item 5): the conversions attribution found, the daily
figures, the uplift's player-days, the bandit's posteriors and how far attribution has read. All are written by the
nightly job (``recommendations.weights``); nothing is edited here. (Harm markers moved to players, read-only there.)"""

from __future__ import annotations

from django.contrib import admin

from core.admin import ViewOnlyAdmin
from recommendations.models import (
    AttributionState,
    ProposalConversion,
    ProposalDailyStat,
    ProposalUpliftDay,
    VariantPosterior,
)


@admin.register(ProposalConversion)
class ProposalConversionAdmin(ViewOnlyAdmin):
    list_display = ("acted_at", "user_id", "event", "proposal_type", "served_at", "click_through", "action_id")
    list_filter = ("proposal_type", "event", "click_through")
    search_fields = ("=user_id", "=action_id")
    date_hierarchy = "acted_at"


@admin.register(ProposalDailyStat)
class ProposalDailyStatAdmin(ViewOnlyAdmin):
    list_display = (
        "day",
        "proposal_type",
        "message_key",
        "variant",
        "rfm_group",
        "locale",
        "holdout",
        "learning",
        "impressions",
        "clicks",
        "conversions",
        "click_conversions",
    )
    list_filter = ("proposal_type", "rfm_group", "locale", "holdout", "learning")
    date_hierarchy = "day"


@admin.register(ProposalUpliftDay)
class ProposalUpliftDayAdmin(ViewOnlyAdmin):
    list_display = ("day", "proposal_type", "holdout", "player_days", "converted")
    list_filter = ("proposal_type", "holdout")
    date_hierarchy = "day"


@admin.register(VariantPosterior)
class VariantPosteriorAdmin(ViewOnlyAdmin):
    list_display = (
        "message_key",
        "variant",
        "rfm_group",
        "locale",
        "impressions",
        "clicks",
        "conversions",
        "alpha",
        "beta",
        "computed_at",
    )
    list_filter = ("proposal_type", "rfm_group", "locale")
    search_fields = ("message_key", "variant")


@admin.register(AttributionState)
class AttributionStateAdmin(ViewOnlyAdmin):
    list_display = ("id", "last_action_id", "limit_sets_through", "ran_at")
