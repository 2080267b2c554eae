"""Every change of a token balance goes through here (design brief section 3).

One transaction per change: the wallet row is locked, the idempotency key is checked, the rule
checks run, then the ledger row, the wallet's new balance and the matching ``user_actions`` row are
written together. After commit Redis' copy of the balance follows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from activity.models import UserAction
from core.exceptions import InvalidInput
from players.models import Player
from players.selectors import protection_of
from wallet.balance_cache import balance_cache_set_quietly
from wallet.errors import (
    IdempotencyKeyReused,
    InsufficientBalance,
    PlayerCoolingOff,
    PlayerSelfExcluded,
    SpendLimitReached,
)
from wallet.models import LedgerEntry, Wallet

Kind = LedgerEntry.Kind
Source = LedgerEntry.Source
MAX_AMOUNT = 1_000_000_000


@dataclass(frozen=True)
class LedgerResult:
    entry: LedgerEntry
    replayed: bool
    # The player, with their protection loaded, as read under the wallet lock (None for a replay).
    player: Player | None = None


def request_fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _event_id_for(key: str) -> str:
    return "ledger:" + hashlib.sha256(key.encode()).hexdigest()[:56]


def _locked_wallets() -> Any:
    # The player and their protection come along in the same query (the rule checks and the caller
    # need them); only the wallet row is locked.
    return Wallet.objects.select_for_update(of=("self",)).select_related("player", "player__protection")


def _lock_wallet(player_id: int) -> Wallet:
    """The player's wallet row, locked for this transaction; the player and wallet are made on first use."""
    wallet = _locked_wallets().filter(player_id=player_id).first()
    if wallet is None:
        Player.objects.get_or_create(id=player_id)
        Wallet.objects.get_or_create(player_id=player_id)
        wallet = _locked_wallets().get(player_id=player_id)
    return wallet


def _replay(key: str, fingerprint: str, key_field: str) -> LedgerEntry | None:
    entry = LedgerEntry.objects.filter(idempotency_key=key).first()
    if entry is not None and entry.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            f"This {key_field} was used with a different request.",
            fields={key_field: ["Already used with a different request body."]},
        )
    return entry


@dataclass(frozen=True)
class Posting:
    """What one ledger row records. ``action_type``/``action_metadata`` describe the matching action.

    ``key_field`` names the request field the idempotency key came from (``payment_id`` for a
    purchase), so a reused key is reported against the field the caller sent.
    """

    player_id: int
    kind: str
    source: str
    amount: int
    idempotency_key: str
    fingerprint: str
    action_type: str | None = None
    action_metadata: dict[str, Any] | None = None
    occurred_at: dt.datetime | None = None
    actor: str = ""
    reason: str = ""
    details: dict[str, Any] | None = None
    event_id: str | None = None  # the action's event_id; default derived from the idempotency key
    key_field: str = "idempotency_key"


def ledger_post(posting: Posting, *, check: Any = None) -> LedgerResult:
    """Record one balance change exactly once (the shared path of every wallet write).

    Idempotent by ``idempotency_key``: a retry returns the first row (``replayed``); the same key with
    another request raises IdempotencyKeyReused. ``check(wallet, now)`` runs under the lock before
    writing (protection rules). A balance never goes below zero.
    """
    now = posting.occurred_at or timezone.now()
    try:
        with transaction.atomic():
            wallet = _lock_wallet(posting.player_id)
            existing = _replay(posting.idempotency_key, posting.fingerprint, posting.key_field)
            if existing is not None:
                return LedgerResult(existing, replayed=True)
            if check is not None:
                check(wallet, now)
            new_balance = wallet.balance + posting.amount
            if new_balance < 0:
                raise InsufficientBalance(
                    f"Balance is {wallet.balance} tokens; {-posting.amount} are needed.",
                    fields={"amount": [f"Exceeds the balance of {wallet.balance} tokens."]},
                )
            action = None
            if posting.action_type is not None:
                action = UserAction.objects.create(
                    event_id=posting.event_id or _event_id_for(posting.idempotency_key),
                    user_id=posting.player_id,
                    action_type=posting.action_type,
                    metadata=posting.action_metadata or {},
                    action_timestamp=now,
                )
            entry = LedgerEntry.objects.create(
                player_id=posting.player_id,
                idempotency_key=posting.idempotency_key,
                request_hash=posting.fingerprint,
                kind=posting.kind,
                source=posting.source,
                amount=posting.amount,
                balance_after=new_balance,
                created_at=now,
                action=action,
                actor=posting.actor,
                reason=posting.reason,
                details=posting.details or {},
            )
            Wallet.objects.filter(player_id=posting.player_id).update(
                balance=new_balance, last_entry_id=entry.id, updated_at=timezone.now())
            transaction.on_commit(lambda: balance_cache_set_quietly(posting.player_id, new_balance, entry.id))
            return LedgerResult(entry, replayed=False, player=wallet.player)
    except IntegrityError:
        # A concurrent request with the same key committed first (possible where row locks are not
        # taken, e.g. the first write of a new wallet): answer as a retry.
        existing = _replay(posting.idempotency_key, posting.fingerprint, posting.key_field)
        if existing is None:
            raise
        return LedgerResult(existing, replayed=True)


def _local_midnight(now: dt.datetime, tz: Any, days_back: int = 0) -> dt.datetime:
    local = now.astimezone(tz).date() - dt.timedelta(days=days_back)
    return dt.datetime.combine(local, dt.time.min, tzinfo=tz)


def _spent_since(player_id: int, since: dt.datetime) -> int:
    total = LedgerEntry.objects.filter(player_id=player_id, kind=Kind.SPEND, created_at__gte=since).aggregate(
        s=Sum("amount"))["s"]
    return -(total or 0)


def protection_check_spend(player_id: int, amount: int) -> Any:
    """The rule check for a spend: self-exclusion, cool-off, then daily and weekly limits."""

    def check(wallet: Wallet, now: dt.datetime) -> None:
        protection = protection_of(wallet.player)
        if protection is None:
            return
        protection.apply_due(now)
        if protection.is_self_excluded(now):
            raise PlayerSelfExcluded(f"Self-excluded until {protection.self_excluded_until:%Y-%m-%d %H:%M} UTC: "
                                     "no spending until then.")
        if protection.is_cooling_off(now):
            raise PlayerCoolingOff(f"Cooling off until {protection.cool_off_until:%Y-%m-%d %H:%M} UTC: "
                                   "no spending until then.")
        tz = wallet.player.tzinfo
        limits = (
            ("daily_spend_limit", protection.daily_spend_limit, _local_midnight(now, tz)),
            ("weekly_spend_limit", protection.weekly_spend_limit,
             _local_midnight(now, tz, days_back=now.astimezone(tz).weekday())),
        )
        for name, limit, since in limits:
            if limit is None:
                continue
            spent = _spent_since(player_id, since)
            if spent + amount > limit:
                label = "daily" if name == "daily_spend_limit" else "weekly"
                raise SpendLimitReached(
                    f"This spend of {amount} would pass the player's {label} limit of {limit} tokens "
                    f"({spent} spent so far, {max(limit - spent, 0)} left).",
                    fields={"amount": [f"{label.capitalize()} limit {limit}, {max(limit - spent, 0)} left."]},
                )

    return check


def protection_check_purchase(player_id: int) -> Any:
    def check(wallet: Wallet, now: dt.datetime) -> None:
        protection = protection_of(wallet.player)
        if protection is None:
            return
        if protection.is_self_excluded(now):
            raise PlayerSelfExcluded("The player is self-excluded: no purchases until "
                                     f"{protection.self_excluded_until:%Y-%m-%d %H:%M} UTC.")
        if protection.is_cooling_off(now):
            raise PlayerCoolingOff("The player is cooling off: no purchases until "
                                   f"{protection.cool_off_until:%Y-%m-%d %H:%M} UTC.")

    return check


def _require_tokens(value: int, field: str, *, signed: bool = False) -> None:
    """A number of tokens is a whole number from 1 to MAX_AMOUNT (or its negative, ``signed``): a service
    called with 0, -10 or 1.5 refuses as the API does, instead of turning a spend into a credit."""
    ok = type(value) is int and 0 < (abs(value) if signed else value) <= MAX_AMOUNT
    if not ok:
        size = "a non-zero whole number" if signed else "a whole number from 1"
        raise InvalidInput(f"{field} must be {size} up to {MAX_AMOUNT:,} tokens.",
                           fields={field: [f"Must be {size} up to {MAX_AMOUNT:,}."]})


def wallet_spend(*, user_id: int, amount: int, game: str, idempotency_key: str, actor: str = "") -> LedgerResult:
    _require_tokens(amount, "amount")
    payload = {"user_id": user_id, "amount": amount, "game": game}
    return ledger_post(
        Posting(
            player_id=user_id, kind=Kind.SPEND, source=Source.IN_APP, amount=-amount,
            idempotency_key=f"spend:{idempotency_key}", fingerprint=request_fingerprint(payload),
            action_type="SPEND_CYBER_TOKENS", action_metadata={"spent_tokens": amount, "game": game},
            actor=actor, details={"game": game},
        ),
        check=protection_check_spend(user_id, amount),
    )


def wallet_purchase(*, user_id: int, tokens: int, amount_paid: str, currency: str, payment_id: str,
                    actor: str = "") -> LedgerResult:
    """Tokens bought for cash (spec 2.7); idempotent by the payment provider's ``payment_id``."""
    _require_tokens(tokens, "tokens")
    payload = {"user_id": user_id, "tokens": tokens, "amount_paid": amount_paid, "currency": currency}
    return ledger_post(
        Posting(
            player_id=user_id, kind=Kind.PURCHASE, source=Source.CASH, amount=tokens,
            idempotency_key=f"purchase:{payment_id}", fingerprint=request_fingerprint(payload),
            action_type="PURCHASE_CYBER_TOKENS",
            action_metadata={"tokens": tokens, "amount_paid": amount_paid, "currency": currency,
                             "payment_id": payment_id},
            actor=actor, details={"amount_paid": amount_paid, "currency": currency, "payment_id": payment_id},
            key_field="payment_id",
        ),
        check=protection_check_purchase(user_id),
    )


def wallet_earn(*, user_id: int, amount: int, source: str, idempotency_key: str, details: dict[str, Any],
                occurred_at: dt.datetime | None = None, actor: str = "") -> LedgerResult:
    """Tokens earned (Company A, in-app). The caller owns the key's namespace (``corporate:<webhook-id>``)."""
    _require_tokens(amount, "amount")
    return ledger_post(Posting(
        player_id=user_id, kind=Kind.EARN, source=source, amount=amount,
        idempotency_key=idempotency_key, fingerprint=request_fingerprint({"user_id": user_id, "amount": amount,
                                                                         "source": source, **details}),
        action_type="EARN_CYBER_TOKENS", action_metadata={"earned_tokens": amount, "source": source, **details},
        occurred_at=occurred_at, actor=actor, details=details,
    ))


def wallet_grant(*, user_id: int, amount: int, idempotency_key: str, reason: str, actor: str = "") -> LedgerResult:
    """A reward paid by TokenLoop itself (upgrade rewards, missions)."""
    _require_tokens(amount, "amount")
    return ledger_post(Posting(
        player_id=user_id, kind=Kind.GRANT, source=Source.REWARD, amount=amount,
        idempotency_key=idempotency_key,
        fingerprint=request_fingerprint({"user_id": user_id, "amount": amount, "reason": reason}),
        action_type="EARN_CYBER_TOKENS", action_metadata={"earned_tokens": amount, "source": "reward"},
        actor=actor, reason=reason,
    ))


def wallet_adjust(*, user_id: int, amount: int, reason: str, actor: str, idempotency_key: str) -> LedgerResult:
    """A correction by staff: a new ADJUST row recording who and why (the ledger is never edited)."""
    if not reason.strip() or not actor.strip():
        raise InvalidInput("An adjustment needs a reason and an actor.",
                           fields={"reason": ["Required."]} if not reason.strip() else {"actor": ["Required."]})
    _require_tokens(amount, "amount", signed=True)
    return ledger_post(Posting(
        player_id=user_id, kind=Kind.ADJUST, source=Source.IN_APP, amount=amount,
        idempotency_key=f"adjust:{idempotency_key}",
        fingerprint=request_fingerprint({"user_id": user_id, "amount": amount, "reason": reason, "actor": actor}),
        actor=actor, reason=reason,
    ))


_HISTORY_KINDS = {
    "EARN_CYBER_TOKENS": (Kind.EARN, "earned_tokens", 1),
    "SPEND_CYBER_TOKENS": (Kind.SPEND, "spent_tokens", -1),
    "PURCHASE_CYBER_TOKENS": (Kind.PURCHASE, "tokens", 1),
}


def wallet_record_history(*, event_id: str, user_id: int, action_type: str, action_timestamp: dt.datetime,
                          metadata: dict[str, Any]) -> LedgerResult:
    """A token-moving action from an import of history, with its ledger row, at its own time.

    Idempotent by the action's event_id (a re-import replays). Player protection does not apply to
    the past; a balance still never goes below zero (InsufficientBalance).
    """
    kind, amount_key, sign = _HISTORY_KINDS[action_type]
    if kind == Kind.EARN:
        source = {"corporate": Source.CORPORATE, "reward": Source.REWARD}.get(metadata.get("source", ""), Source.IN_APP)
    else:
        source = Source.CASH if kind == Kind.PURCHASE else Source.IN_APP
    return ledger_post(Posting(
        player_id=user_id, kind=kind, source=source, amount=sign * int(metadata[amount_key]),
        idempotency_key=f"import:{event_id}",
        fingerprint=request_fingerprint({"user_id": user_id, "action_type": action_type, "metadata": metadata,
                                         "action_timestamp": action_timestamp.isoformat()}),
        action_type=action_type, action_metadata=metadata, occurred_at=action_timestamp, event_id=event_id,
        actor="import", details={"imported": True},
    ))
