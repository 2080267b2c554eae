from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from notifications.messages import DEFAULTS, message_templates_invalidate, template_problem
from notifications.models import MessageTemplate, Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("id", "user_id", "type", "kind", "status", "status_reason", "attempts", "created_at", "sent_at")
    list_filter = ("status", "kind", "type")
    search_fields = ("=user__id",)
    raw_id_fields = ("user",)
    show_full_result_count = False


class MessageTemplateForm(forms.ModelForm):
    """An operator's wording: the key must be a known message and the text may use only that message's
    placeholders (a typo would otherwise break every message of that kind, the Company A push included)."""

    key = forms.ChoiceField(choices=[(key, key) for key in sorted(DEFAULTS)])

    class Meta:
        model = MessageTemplate
        fields = ["key", "locale", "text"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        key, text = data.get("key"), data.get("text")
        if key in DEFAULTS and text:
            problem = template_problem(key, text)
            if problem:
                self.add_error("text", problem)
        return data


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ("key", "locale", "text", "updated_at")
    list_filter = ("key", "locale")

    def save_model(self, request: HttpRequest, obj: MessageTemplate, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        keys = {obj.key}
        if change and form.initial.get("key"):
            keys.add(form.initial["key"])  # the key itself may have been changed
        for key in keys:
            message_templates_invalidate(key)

    def delete_model(self, request: HttpRequest, obj: MessageTemplate) -> None:
        super().delete_model(request, obj)
        message_templates_invalidate(obj.key)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[MessageTemplate]) -> None:
        keys = set(queryset.values_list("key", flat=True))
        super().delete_queryset(request, queryset)
        for key in keys:
            message_templates_invalidate(key)
