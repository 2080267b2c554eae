from django.contrib import admin

from wallet.models import LedgerEntry, Wallet


@admin.register(Wallet)
class WalletAdmin(admin.ModelAdmin):
    list_display = ("player_id", "balance", "updated_at")
    search_fields = ("=player__id",)
    readonly_fields = ("player", "balance", "last_entry_id", "updated_at")
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # View only: saving the form would write back a balance read outside the wallet's row lock,
        # undoing a spend committed meanwhile. Balances change only through ledger rows.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """Read-only: ledger rows are never edited or deleted; corrections are ADJUST rows
    (``python manage.py adjust_balance``)."""

    list_display = ("id", "player_id", "kind", "source", "amount", "balance_after", "created_at", "actor")
    list_filter = ("kind", "source")
    search_fields = ("=player__id", "=idempotency_key")
    show_full_result_count = False
    ordering = ("-id",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
