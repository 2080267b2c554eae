"""The one admin for every text a player sees: an operator's wording per message and locale.

The key is chosen from the declared messages; the model's check (``texts.registry.template_problem``: that
message's placeholders only, valid braces, facts only) is shown on the field; every message's default texts and
placeholders are listed beside the form.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from texts.models import MessageTemplate
from texts.registry import LOCALES, message_keys, messages


class MessageTemplateForm(forms.ModelForm):
    """The key is one of the declared messages; the model's ``clean`` checks the text and puts a problem on it."""

    key = forms.ChoiceField(choices=lambda: [(key, key) for key in message_keys()])

    class Meta:
        model = MessageTemplate
        fields = ["key", "locale", "text"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ("key", "locale", "text", "updated_at")
    list_filter = ("key", "locale")
    search_fields = ("key", "text")
    readonly_fields = ("defaults",)
    fields = ("key", "locale", "text", "defaults")

    @admin.display(description="Default texts and placeholders")
    def defaults(self, obj: MessageTemplate | None) -> SafeString:
        rows = [(m.key, locale, m.default(locale), m.placeholders_listed()) for m in messages() for locale in LOCALES]
        return format_html_join("\n", "<div><b>{} [{}]</b> {} <i>({})</i></div>", rows)
