from __future__ import annotations

from django.contrib import admin

from core.admin import ViewOnlyAdmin
from recommendations.models import PlayerHarmMarker


@admin.register(PlayerHarmMarker)
class PlayerHarmMarkerAdmin(ViewOnlyAdmin):
    list_display = ("user_id", "marker", "detected_at", "as_of", "details")
    list_filter = ("marker",)
    search_fields = ("=user__id",)
    raw_id_fields = ("user",)
    date_hierarchy = "detected_at"
