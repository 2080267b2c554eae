from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from wallet.services import wallet_adjust


class Command(BaseCommand):
    help = "Correct a balance with a new ADJUST ledger row recording who and why."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user_id", type=int)
        parser.add_argument("amount", type=int, help="Signed number of tokens.")
        parser.add_argument("--reason", required=True)
        parser.add_argument("--actor", required=True, help="Staff member making the correction.")
        parser.add_argument("--key", default=None, help="Idempotency key (default: a new one).")

    def handle(
        self, *args: Any, user_id: int, amount: int, reason: str, actor: str, key: str | None, **options: Any
    ) -> None:
        result = wallet_adjust(
            player_id=user_id, amount=amount, reason=reason, actor=actor, idempotency_key=key or uuid.uuid4().hex
        )
        self.stdout.write(
            f"ledger row {result.entry.id}: balance now {result.entry.balance_after}"
            + (" (replayed)" if result.replayed else "")
        )
