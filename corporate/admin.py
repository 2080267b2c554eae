from django.contrib import admin

from core.admin import ViewOnlyAdmin
from corporate.models import SiteReward, SiteVisit


class _CompanyAEventAdmin(ViewOnlyAdmin):
    search_fields = ("=user__id", "=webhook_id")


@admin.register(SiteVisit)
class SiteVisitAdmin(_CompanyAEventAdmin):
    list_display = ("id", "user_id", "visit_timestamp", "dwell_seconds", "source")


@admin.register(SiteReward)
class SiteRewardAdmin(_CompanyAEventAdmin):
    list_display = ("id", "user_id", "reward_type", "reward_value", "issued_at")
