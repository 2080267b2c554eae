from django.contrib import admin

from corporate.models import SiteReward, SiteVisit


class _ReadOnly(admin.ModelAdmin):
    show_full_result_count = False
    search_fields = ("=user__id", "=webhook_id")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(SiteVisit)
class SiteVisitAdmin(_ReadOnly):
    list_display = ("id", "user_id", "visit_timestamp", "dwell_seconds", "source")


@admin.register(SiteReward)
class SiteRewardAdmin(_ReadOnly):
    list_display = ("id", "user_id", "reward_type", "reward_value", "issued_at")
