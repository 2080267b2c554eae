from django.contrib import admin

from core.admin import ViewOnlyAdmin
from wallet.models import LedgerEntry, Wallet


@admin.register(Wallet)
class WalletAdmin(ViewOnlyAdmin):
    """View only: saving the form would write back a balance read outside the wallet's row lock,
    undoing a spend committed meanwhile. Balances change only through ledger rows."""

    list_display = ("player_id", "balance", "updated_at")
    search_fields = ("=player__id",)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ViewOnlyAdmin):
    """Read-only: ledger rows are never edited or deleted; corrections are ADJUST rows
    (``python manage.py adjust_balance``)."""

    list_display = ("id", "player_id", "kind", "source", "amount", "balance_after", "created_at", "actor")
    list_filter = ("kind", "source")
    search_fields = ("=player__id", "=idempotency_key")
    ordering = ("-id",)
