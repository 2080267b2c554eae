from __future__ import annotations

from celery import shared_task

from wallet.reconcile import wallet_reconcile


@shared_task(name="wallet.tasks.reconcile_balances")
def reconcile_balances() -> dict[str, int]:
    report = wallet_reconcile()
    return {
        "players": report.players,
        "wallet_drift": report.wallet_drift,
        "redis_drift": report.redis_drift,
        "redis_missing": report.redis_missing,
    }
