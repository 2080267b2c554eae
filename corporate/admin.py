from django.contrib import admin

from core.admin import ViewOnlyAdmin
from corporate.models import SiteQuizCompletion, SiteReward, SiteVisit, VisitMissionOffer


class _CompanyAEventAdmin(ViewOnlyAdmin):
    search_fields = ("=user__id", "=webhook_id")


@admin.register(SiteVisit)
class SiteVisitAdmin(_CompanyAEventAdmin):
    list_display = ("id", "user_id", "visit_timestamp", "dwell_seconds", "source")


@admin.register(SiteReward)
class SiteRewardAdmin(_CompanyAEventAdmin):
    list_display = ("id", "user_id", "reward_type", "reward_value", "issued_at")


@admin.register(SiteQuizCompletion)
class SiteQuizCompletionAdmin(_CompanyAEventAdmin):
    list_display = ("id", "user_id", "quiz_id", "completed_at", "reward_tokens")


@admin.register(VisitMissionOffer)
class VisitMissionOfferAdmin(ViewOnlyAdmin):
    list_display = ("user_id", "day", "offered_at", "paid_entry_id")
    search_fields = ("=user__id",)
    date_hierarchy = "offered_at"
