from django.contrib import admin

from activity.models import UserAction, UserReward
from core.admin import ViewOnlyAdmin


@admin.register(UserAction)
class UserActionAdmin(ViewOnlyAdmin):
    """Read-only: the log is append-only."""

    list_display = ("id", "user_id", "action_type", "action_timestamp", "event_id")
    list_filter = ("action_type",)
    search_fields = ("=user__id", "=event_id")
    ordering = ("-id",)


@admin.register(UserReward)
class UserRewardAdmin(admin.ModelAdmin):
    list_display = ("id", "user_id", "reward_type", "reward_value", "awarded_at")
    list_filter = ("reward_type",)
    search_fields = ("=user__id",)
    raw_id_fields = ("user",)
    show_full_result_count = False
