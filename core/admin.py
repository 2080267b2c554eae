from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.auth import api_key_revoke
from core.models import ApiKey


class ViewOnlyAdmin(admin.ModelAdmin):
    """Staff may look but not add, change or delete: for append-only records (the action log, the
    ledger, Company A's events) and for what belongs to the player (their safeguards)."""

    show_full_result_count = False  # no COUNT(*) over large tables on every list page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ViewOnlyTabularInline(admin.TabularInline):
    """Rows shown under their parent for reading only (a history, a run's parts)."""

    extra = 0
    max_num = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Service keys: listed, and revoked with the action (``api_key_revoke``: refused within a second everywhere).
    Keys are made by ``manage.py create_api_key`` (the plain key is shown once, there), and never deleted: a revoked
    key stays listed."""

    list_display = ["name", "prefix", "scope_list", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix"]
    ordering = ["name"]
    readonly_fields = ["name", "prefix", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at"]
    fields = ("name", "prefix", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at")
    actions = ["revoke"]

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes) or "-"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(permissions=["change"], description="Revoke the selected keys (refused within a second)")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        revoked = [obj.name for obj in queryset if api_key_revoke(key_id=obj.pk)]
        if revoked:
            self.message_user(request, f"Revoked: {', '.join(sorted(revoked))}.", messages.SUCCESS)
        else:
            self.message_user(request, "Nothing to revoke: the selected keys were revoked already.", messages.INFO)
