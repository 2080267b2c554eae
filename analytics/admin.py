"""The rollups are read by the API and the dashboard views (analytics.views); the admin shows how far they reach."""

from __future__ import annotations

from django.contrib import admin

from analytics.models import RollupState


@admin.register(RollupState)
class RollupStateAdmin(admin.ModelAdmin):
    list_display = ("id", "first_day", "last_day", "actions_watermark", "ledger_watermark", "refreshed_at")
    readonly_fields = [f.name for f in RollupState._meta.fields]

    def has_add_permission(self, request: object) -> bool:
        return False

    def has_delete_permission(self, request: object, obj: object = None) -> bool:
        return False
