"""Reads of balances and the ledger."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Sum

from core.timezones import zone
from wallet.balance_cache import balance_cache_get, balance_cache_set_quietly
from wallet.models import LedgerEntry, Wallet

if TYPE_CHECKING:
    from players.models import PlayerProtection


@dataclass(frozen=True)
class BalanceRead:
    balance: int
    from_cache: bool


def wallet_balance(*, player_id: int) -> BalanceRead:
    """Redis' copy when it has one; else the database, and the copy is rebuilt.

    The rebuild is forced at an equal sequence number: a balance key lost on its own (evicted while
    its ``_seq`` key stayed) comes back too, while a newer value written meanwhile still wins. A player
    with no wallet reads 0 and leaves nothing in Redis (it holds only what the database can rebuild).
    Redis unreachable (down, or hung past its timeout): the database's balance, and no rebuild is tried (it
    would wait for the timeout a second time).
    """
    cached = balance_cache_get(player_id)
    if cached.balance is not None:
        return BalanceRead(cached.balance, from_cache=True)
    row = Wallet.objects.filter(player_id=player_id).values_list("balance", "last_entry_id").first()
    if row is None:
        return BalanceRead(0, from_cache=False)
    balance, seq = row
    if cached.reachable:
        balance_cache_set_quietly(player_id, balance, seq, force=True)
    return BalanceRead(balance, from_cache=False)


def ledger_entry_by_key(*, idempotency_key: str) -> LedgerEntry | None:
    """The ledger row written under ``idempotency_key`` (with its namespace), if any."""
    return LedgerEntry.objects.filter(idempotency_key=idempotency_key).first()


def ledger_recent(*, player_id: int, limit: int = 20) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(player_id=player_id).order_by("-id")[:limit])


def wallet_holders(*, first_player_id: int, last_player_id: int) -> set[int]:
    """The players with an id in [first_player_id, last_player_id] who have a wallet or ledger rows."""
    between = {"player_id__gte": first_player_id, "player_id__lte": last_player_id}
    wallets = Wallet.objects.filter(**between).values_list("player_id", flat=True)
    ledger = LedgerEntry.objects.filter(**between).values_list("player_id", flat=True)
    return set(wallets.union(ledger))


# --- spend limits (design brief section 6): what a player has spent against each limit they set -------------------


def local_midnight(now: dt.datetime, tz: dt.tzinfo, days_back: int = 0) -> dt.datetime:
    """00:00 on ``now``'s date on the clock of ``tz``, ``days_back`` days before."""
    local = now.astimezone(tz).date() - dt.timedelta(days=days_back)
    return dt.datetime.combine(local, dt.time.min, tzinfo=tz)


def spent_since(*, player_id: int, since: dt.datetime) -> int:
    """Tokens the player spent (SPEND ledger rows: buy-ins and content unlocks) since ``since``."""
    total = LedgerEntry.objects.filter(
        player_id=player_id, kind=LedgerEntry.Kind.SPEND, created_at__gte=since
    ).aggregate(s=Sum("amount"))["s"]
    return -(total or 0)


@dataclass(frozen=True)
class SpendLimitState:
    field: str  # daily_spend_limit or weekly_spend_limit
    limit: int
    spent: int

    @property
    def label(self) -> str:
        return "daily" if self.field == "daily_spend_limit" else "weekly"

    @property
    def left(self) -> int:
        return max(self.limit - self.spent, 0)


def spend_limit_states(
    *, player_id: int, protection: PlayerProtection, tz: dt.tzinfo, now: dt.datetime
) -> list[SpendLimitState]:
    """Each limit the player set (``protection`` with its due changes applied), with what they spent against it: the
    day and the week (from Monday) on their own clock. One query per limit set."""
    bounds = (
        ("daily_spend_limit", protection.daily_spend_limit, local_midnight(now, tz)),
        (
            "weekly_spend_limit",
            protection.weekly_spend_limit,
            local_midnight(now, tz, days_back=now.astimezone(tz).weekday()),
        ),
    )
    return [
        SpendLimitState(name, limit, spent_since(player_id=player_id, since=since))
        for name, limit, since in bounds
        if limit is not None
    ]


# --- the monthly purchase limit (docs/decisions/0005): tokens bought for cash per business-timezone month ------------


def business_month_start(now: dt.datetime) -> dt.datetime:
    """00:00 on the first day of ``now``'s calendar month in the business timezone."""
    tz = zone(settings.BUSINESS_TIMEZONE)
    return dt.datetime.combine(now.astimezone(tz).date().replace(day=1), dt.time.min, tzinfo=tz)


def purchased_since(*, player_id: int, since: dt.datetime) -> int:
    """Tokens the player bought for cash (PURCHASE ledger rows) since ``since``. A refund does not make room again."""
    total = LedgerEntry.objects.filter(
        player_id=player_id, kind=LedgerEntry.Kind.PURCHASE, created_at__gte=since
    ).aggregate(s=Sum("amount"))["s"]
    return int(total or 0)


@dataclass(frozen=True)
class PurchaseLimitState:
    limit: int
    bought: int  # this business month

    @property
    def left(self) -> int:
        return max(self.limit - self.bought, 0)


def purchase_limit_state(
    *, player_id: int, protection: PlayerProtection, now: dt.datetime
) -> PurchaseLimitState | None:
    """The player's monthly purchase limit (``protection`` with its due changes applied) and the tokens bought against
    it this business month; None without a limit (and no query)."""
    limit = protection.monthly_purchase_limit
    if limit is None:
        return None
    return PurchaseLimitState(limit, purchased_since(player_id=player_id, since=business_month_start(now)))
