from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.html import format_html_join

from core.admin import ViewOnlyAdmin
from recommendations.messages import DEFAULTS, LOCALES, PLACEHOLDERS
from recommendations.models import PlayerHarmMarker, RecommendationTemplate


class RecommendationTemplateForm(forms.ModelForm):
    """The model's ``clean`` checks the text: that message's placeholders only, facts only."""

    class Meta:
        model = RecommendationTemplate
        fields = ["key", "locale", "text"]


@admin.register(RecommendationTemplate)
class RecommendationTemplateAdmin(admin.ModelAdmin):
    form = RecommendationTemplateForm
    list_display = ("key", "locale", "text", "updated_at")
    list_filter = ("key", "locale")
    readonly_fields = ("defaults",)
    fields = ("key", "locale", "text", "defaults")

    @admin.display(description="Default texts and placeholders")
    def defaults(self, obj: RecommendationTemplate | None) -> str:
        rows = [
            (key, locale, DEFAULTS[key][locale], ", ".join("{" + p + "}" for p in sorted(PLACEHOLDERS[key])))
            for key in sorted(DEFAULTS)
            for locale in LOCALES
        ]
        return format_html_join("\n", "<div><b>{} [{}]</b> {} <i>({})</i></div>", rows)


@admin.register(PlayerHarmMarker)
class PlayerHarmMarkerAdmin(ViewOnlyAdmin):
    list_display = ("user_id", "marker", "detected_at", "as_of", "details")
    list_filter = ("marker",)
    search_fields = ("=user__id",)
    raw_id_fields = ("user",)
    date_hierarchy = "detected_at"
