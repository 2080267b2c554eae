from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from wallet.reconcile import wallet_reconcile


class Command(BaseCommand):
    help = "Recompute every balance from the token ledger, repair Redis' copy and report drift."

    def handle(self, *args: Any, **options: Any) -> None:
        report = wallet_reconcile()
        self.stdout.write(
            f"players {report.players}, wallet drift {report.wallet_drift}, "
            f"redis drift {report.redis_drift}, redis missing {report.redis_missing}"
        )
        if report.drifted_players:
            self.stdout.write("drifted players: " + ", ".join(map(str, report.drifted_players[:50])))
