from __future__ import annotations

from django.contrib import admin
from django.db import models

from content.models import AdultContent, ContentUnlock
from core.admin import ViewOnlyAdmin


@admin.register(AdultContent)
class AdultContentAdmin(admin.ModelAdmin):
    """The catalog, edited by staff: one global order of stages (``stage``, unique), each with its price, the segment
    level it needs and whether it is offered. A stage someone unlocked cannot be deleted (deactivate it instead)."""

    list_display = ("stage", "name", "token_price", "required_segment_level", "is_active", "updated_at")
    list_display_links = ("stage", "name")
    list_filter = ("is_active", "required_segment_level")
    search_fields = ("name",)
    ordering = ("stage",)
    readonly_fields = ("created_at", "updated_at")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # a URL typed without a scheme is https


@admin.register(ContentUnlock)
class ContentUnlockAdmin(ViewOnlyAdmin):
    """Unlocks are written with their ledger row, action and reward by ``content.services``: staff look only."""

    list_display = ("user_id", "stage", "content", "spent_tokens", "unlocked_at", "ledger_entry_id")
    list_filter = ("stage",)
    search_fields = ("=user__id",)
    raw_id_fields = ("user", "content", "ledger_entry")
    date_hierarchy = "unlocked_at"
