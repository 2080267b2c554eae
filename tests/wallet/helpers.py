"""Small builders and readers shared by the wallet tests (the wallet's own, so they stay beside them)."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.db.models import Sum

from activity.models import UserAction
from core.hotstore import hot_store
from wallet import services
from wallet.balance_cache import key_balance, key_balance_seq
from wallet.models import LedgerEntry, Wallet

_seq = itertools.count(1)
GAME = "SlotMachine"


def fund(player_id: int, amount: int) -> services.LedgerResult:
    """Credit ``amount`` tokens through the wallet's own write path (an in-app earn)."""
    return services.wallet_earn(
        player_id=player_id,
        amount=amount,
        source="in_app",
        idempotency_key=f"test-fund:{player_id}:{next(_seq)}",
        details={},
    )


def spend(player_id: int, amount: int, key: str | None = None, game: str = GAME) -> services.LedgerResult:
    return services.wallet_spend(
        player_id=player_id, amount=amount, game=game, idempotency_key=key or f"test-spend:{next(_seq)}"
    )


def spend_at(player_id: int, amount: int, at: dt.datetime, key: str | None = None) -> services.LedgerResult:
    """A spend decided at the instant ``at``: the same posting and rule check as ``wallet_spend``, with
    the clock fixed, so day and week boundaries can be placed exactly."""
    key = key or f"test-spend-at:{next(_seq)}"
    payload = {"user_id": player_id, "amount": amount, "game": GAME}
    return services.ledger_post(
        services.Posting(
            player_id=player_id,
            kind=LedgerEntry.Kind.SPEND,
            source=LedgerEntry.Source.IN_APP,
            amount=-amount,
            idempotency_key=f"spend:{key}",
            fingerprint=services.request_fingerprint(payload),
            action_type="SPEND_CYBER_TOKENS",
            action_metadata={"spent_tokens": amount, "game": GAME},
            occurred_at=at,
            details={"game": GAME},
        ),
        check=services.protection_check_spend(player_id, amount),
    )


def purchase_at(player_id: int, tokens: int, at: dt.datetime, payment_id: str | None = None) -> services.LedgerResult:
    """A purchase decided at the instant ``at``: the same posting and rule check as ``wallet_purchase``, with the clock
    fixed, so month boundaries can be placed exactly."""
    payment_id = payment_id or f"test-pay-at:{next(_seq)}"
    details = {"amount_paid": "1.00", "currency": "USD", "payment_id": payment_id}
    return services.ledger_post(
        services.Posting(
            player_id=player_id,
            kind=LedgerEntry.Kind.PURCHASE,
            source=LedgerEntry.Source.CASH,
            amount=tokens,
            idempotency_key=f"purchase:{payment_id}",
            fingerprint=services.request_fingerprint({"user_id": player_id, "tokens": tokens}),
            action_type="PURCHASE_CYBER_TOKENS",
            action_metadata={"tokens": tokens, **details},
            occurred_at=at,
            details=details,
            key_field="payment_id",
        ),
        check=services.protection_check_purchase(player_id, tokens),
    )


def ledger_sum(player_id: int) -> int:
    return int(LedgerEntry.objects.filter(player_id=player_id).aggregate(s=Sum("amount"))["s"] or 0)


def db_balance(player_id: int) -> int | None:
    return Wallet.objects.filter(player_id=player_id).values_list("balance", flat=True).first()


def cached_balance(player_id: int) -> int | None:
    """What the hot store (Redis, or local memory on the embedded default) holds for the player."""
    return hot_store.get_many([key_balance(player_id)]).get(key_balance(player_id))


def cached_seq(player_id: int) -> int | None:
    return hot_store.get_many([key_balance_seq(player_id)]).get(key_balance_seq(player_id))


def counts(player_id: int) -> dict[str, Any]:
    """Everything a wallet write leaves behind for a player: to assert that a refusal wrote nothing."""
    return {
        "ledger": LedgerEntry.objects.filter(player_id=player_id).count(),
        "token_actions": UserAction.objects.filter(user_id=player_id, action_type__endswith="_CYBER_TOKENS").count(),
        "balance": db_balance(player_id),
    }
