from __future__ import annotations

from django.contrib import admin

from notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "user_id", "type", "kind", "status", "status_reason", "attempts", "created_at", "sent_at")
    list_filter = ("status", "kind", "type")
    search_fields = ("=user__id",)
    raw_id_fields = ("user",)
    show_full_result_count = False
