from django.contrib import admin
from django.http import HttpRequest

from notifications.messages import message_templates_invalidate
from notifications.models import MessageTemplate, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "user_id", "type", "kind", "status", "status_reason", "attempts", "created_at", "sent_at")
    list_filter = ("status", "kind", "type")
    search_fields = ("=user__id",)
    raw_id_fields = ("user",)
    show_full_result_count = False


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    list_display = ("key", "locale", "text", "updated_at")
    list_filter = ("key", "locale")

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form: object, change: bool) -> None:
        super().save_model(request, obj, form, change)
        message_templates_invalidate(obj.key)
