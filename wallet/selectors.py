"""Reads of balances and the ledger."""

from __future__ import annotations

from dataclasses import dataclass

from wallet.balance_cache import balance_cache_get, balance_cache_set_quietly
from wallet.models import LedgerEntry, Wallet


@dataclass(frozen=True)
class BalanceRead:
    balance: int
    from_cache: bool


def wallet_balance(*, player_id: int) -> BalanceRead:
    """Redis' copy when it has one; else the database, and the copy is rebuilt.

    The rebuild is forced at an equal sequence number: a balance key lost on its own (evicted while
    its ``_seq`` key stayed) comes back too, while a newer value written meanwhile still wins. A player
    with no wallet reads 0 and leaves nothing in Redis (it holds only what the database can rebuild).
    """
    cached = balance_cache_get(player_id)
    if cached is not None:
        return BalanceRead(cached, from_cache=True)
    row = Wallet.objects.filter(player_id=player_id).values_list("balance", "last_entry_id").first()
    if row is None:
        return BalanceRead(0, from_cache=False)
    balance, seq = row
    balance_cache_set_quietly(player_id, balance, seq, force=True)
    return BalanceRead(balance, from_cache=False)


def ledger_recent(*, player_id: int, limit: int = 20) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(player_id=player_id).order_by("-id")[:limit])


def wallet_holders(*, first_player_id: int, last_player_id: int) -> set[int]:
    """The players with an id in [first_player_id, last_player_id] who have a wallet or ledger rows."""
    between = {"player_id__gte": first_player_id, "player_id__lte": last_player_id}
    wallets = Wallet.objects.filter(**between).values_list("player_id", flat=True)
    ledger = LedgerEntry.objects.filter(**between).values_list("player_id", flat=True)
    return set(wallets.union(ledger))
