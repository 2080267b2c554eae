from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ViewOnlyAdmin
from wallet.models import LedgerEntry, Refund, Wallet


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


class _UnrecoveredFilter(admin.SimpleListFilter):
    title = "tokens spent already"
    parameter_name = "unrecovered"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "some not taken back"), ("no", "all taken back")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Refund]) -> QuerySet[Refund]:
        if self.value() == "yes":
            return queryset.filter(unrecovered__gt=0)
        if self.value() == "no":
            return queryset.filter(unrecovered=0)
        return queryset


@admin.register(Refund)
class RefundAdmin(ViewOnlyAdmin):
    """Purchases reversed (refunds, chargebacks; docs/decisions/0024), with the tokens the player had spent already
    and so kept (``unrecovered``). Read-only: recorded by the payment service through ``POST /api/wallet/refund``."""

    list_display = ("payment_id", "player_id", "kind", "tokens", "recovered", "unrecovered", "created_at", "actor")
    list_filter = ("kind", _UnrecoveredFilter)
    search_fields = ("=payment_id", "=player__id")
    raw_id_fields = ("player", "purchase_entry", "entry")
    date_hierarchy = "created_at"
    ordering = ("-id",)
