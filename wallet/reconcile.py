"""Nightly reconciliation: every balance recomputed from the ledger, Redis repaired, drift reported.

The spec's "previous balance + earned - spent" made exact: the ledger's sum per player is the
balance. Set-based, one range of player ids at a time.

A balance Redis holds and gets wrong is drift, and is replaced. One it does not hold is no drift: Redis' copy
expires (``WALLET_BALANCE_CACHE_SECONDS``, wallet.balance_cache) and the player's next read refills it, so the
missing ones are only counted (``redis_missing``), never written here (they would expire again unread).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Sum

from core.hotstore import hot_store
from core.metrics import WALLET_DRIFT
from wallet.balance_cache import balance_cache_replace, balance_cache_set, key_balance, key_balance_seq
from wallet.models import LedgerEntry, Wallet

logger = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    players: int = 0
    wallet_drift: int = 0
    redis_drift: int = 0
    redis_missing: int = 0
    drifted_players: list[int] = field(default_factory=list)


class LedgerTotals(NamedTuple):
    ledger_sum: int
    last_ledger_id: int
    wallet_balance: int
    wallet_last_entry_id: int


def _ledger_totals(first_id: int, last_id: int) -> dict[int, LedgerTotals]:
    """player -> what their ledger and wallet row say, for the id range."""
    sql = """
        SELECT l.player_id, SUM(l.amount), MAX(l.id), COALESCE(w.balance, 0), COALESCE(w.last_entry_id, 0)
        FROM token_ledger l LEFT JOIN wallets w ON w.player_id = l.player_id
        WHERE l.player_id BETWEEN %s AND %s
        GROUP BY l.player_id, w.balance, w.last_entry_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [first_id, last_id])
        return {player_id: LedgerTotals(*map(int, figures)) for player_id, *figures in cursor.fetchall()}


def _repair_wallet(player_id: int) -> tuple[int, int]:
    with transaction.atomic():
        wallet = Wallet.objects.select_for_update().get(player_id=player_id)
        agg = LedgerEntry.objects.filter(player_id=player_id).aggregate(s=Sum("amount"))
        balance = int(agg["s"] or 0)
        last = LedgerEntry.objects.filter(player_id=player_id).order_by("-id").values_list("id", flat=True).first()
        wallet.balance, wallet.last_entry_id = balance, int(last or 0)
        wallet.save(update_fields=["balance", "last_entry_id", "updated_at"])
        return wallet.balance, wallet.last_entry_id


def _wallet_id_ranges(size: int) -> list[tuple[int, int]]:
    ids = list(Wallet.objects.order_by("player_id").values_list("player_id", flat=True))
    return [(ids[i], ids[min(i + size, len(ids)) - 1]) for i in range(0, len(ids), size)]


def _repair_ahead(ahead: dict[int, int]) -> int:
    """Redis claims a ledger row newer than the one just read. Usually a commit landed since: the wallet
    row now has it, and Redis is left alone. If the wallet row still has no such row, the number comes
    from no committed row (say PostgreSQL was restored from a backup while Redis kept later values): no
    live write could ever replace it, so it is replaced here, only where Redis still holds that number."""
    if not ahead:
        return 0
    rows = Wallet.objects.filter(player_id__in=list(ahead)).values_list("player_id", "balance", "last_entry_id")
    bogus = {pid: (balance, last, ahead[pid]) for pid, balance, last in rows if last < ahead[pid]}
    for pid, (balance, last, seq) in bogus.items():
        logger.warning(
            "redis balance of player %s claims ledger row %s, the database's last is %s: replaced by %s",
            pid,
            seq,
            last,
            balance,
        )
    return balance_cache_replace(bogus)


def wallet_reconcile(*, chunk_size: int = 10_000) -> ReconcileReport:
    report = ReconcileReport()
    for first_id, last_id in _wallet_id_ranges(chunk_size):
        totals = _ledger_totals(first_id, last_id)
        report.players += len(totals)
        keys = [k for pid in totals for k in (key_balance(pid), key_balance_seq(pid))]
        cached = hot_store.get_many(keys)
        fixes: dict[int, tuple[int, int]] = {}
        ahead: dict[int, int] = {}
        for pid, (ledger_sum, last_id_seen, balance, last_entry) in totals.items():
            if balance != ledger_sum or last_entry != last_id_seen:
                # The wallet row disagrees with its ledger: the ledger wins (should never happen).
                report.wallet_drift += 1
                report.drifted_players.append(pid)
                logger.error("wallet drift: player %s wallet %s, ledger sum %s", pid, balance, ledger_sum)
                ledger_sum, last_id_seen = _repair_wallet(pid)
            have = cached.get(key_balance(pid))
            if have == ledger_sum:
                continue
            seq = cached.get(key_balance_seq(pid), -1)
            if seq > last_id_seen:
                ahead[pid] = seq
            elif have is None:
                report.redis_missing += 1  # expired or never read: the next read refills it
            else:
                report.redis_drift += 1
                fixes[pid] = (ledger_sum, last_id_seen)
        # force: equal sequence numbers with a wrong value are repaired; newer live writes still win.
        balance_cache_set(fixes, force=True)
        report.redis_drift += _repair_ahead(ahead)
    WALLET_DRIFT.labels("wallet").set(report.wallet_drift)
    WALLET_DRIFT.labels("redis").set(report.redis_drift)
    logger.info(
        "wallet reconcile: %d players, wallet drift %d, redis drift %d, redis missing %d",
        report.players,
        report.wallet_drift,
        report.redis_drift,
        report.redis_missing,
    )
    return report
