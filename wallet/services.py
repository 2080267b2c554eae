"""Every change of a token balance goes through here (design brief section 3).

One transaction per change: the wallet row is locked, the idempotency key is checked, the rule
checks run, then the ledger row, the wallet's new balance and the matching ``user_actions`` row are
written together. After commit Redis' copy of the balance follows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from activity.services import (
    action_insert_params,
    action_insert_sql,
    action_record,
    activity_updates,
    hot_metrics_apply,
)
from activity.validation import ParsedAction
from core.bulk import bulk_insert, reserve_ids
from core.exceptions import DomainError, InvalidInput, NotFound
from core.metrics import LEDGER_ENTRIES, REFUND_UNRECOVERED_TOKENS, REFUNDS
from players.selectors import player_from_row, player_get, player_with_protection_columns, protection_of
from players.services import player_ensure_many, player_get_or_create
from wallet.balance_cache import balance_cache_set, balance_cache_set_quietly
from wallet.errors import (
    IdempotencyKeyReused,
    InsufficientBalance,
    PlayerCoolingOff,
    PlayerSelfExcluded,
    PurchaseLimitReached,
    SpendLimitReached,
)
from wallet.models import LedgerEntry, Refund, Wallet
from wallet.selectors import business_month_start, ledger_entry_by_key, purchase_limit_state, spend_limit_states

if TYPE_CHECKING:
    from players.models import Player, PlayerProtection

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


# Rule check run under the wallet lock before writing; raises a domain error to refuse.
Check = Callable[[Wallet, dt.datetime], None]
# A caller's writes that belong with a new ledger row, run in its transaction (see ``ledger_post``).
OnRecorded = Callable[["LedgerResult"], None]


def _locked_wallets() -> Any:
    # The player and their protection come along in the same query (the rule checks and the caller
    # need them); only the wallet row is locked.
    return Wallet.objects.select_for_update(of=("self",)).select_related("player", "player__protection")


_WALLET_FIELDS = ["player_id", "balance", "last_entry_id", "updated_at"]
_LOCK_SQL = (
    f"SELECT w.player_id, w.balance, w.last_entry_id, w.updated_at, {player_with_protection_columns('p', 'pp')} "  # noqa: S608 (names from code, values bound)
    "FROM wallets w JOIN players p ON p.id = w.player_id LEFT JOIN player_protection pp ON pp.player_id = p.id "
    "WHERE w.player_id = %s FOR UPDATE OF w"
)


def _lock_wallet_pg(player_id: int) -> Wallet | None:
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, [player_id])
        row = cursor.fetchone()
    if row is None:
        return None
    wallet = Wallet.from_db(connection.alias, _WALLET_FIELDS, row[:4])
    Wallet.player.field.set_cached_value(wallet, player_from_row(row[4:], using=connection.alias))
    return wallet


def _lock_wallet(player_id: int, now: dt.datetime) -> Wallet:
    """The player's wallet row, locked for this transaction (with the player and their protection loaded);
    the player and wallet are made on first use."""
    if connection.vendor == "postgresql":
        wallet = _lock_wallet_pg(player_id)
        if wallet is None:  # first use: the player and the wallet are made (concurrent first uses wait here)
            player_ensure_many(first_seen={player_id: now})
            Wallet.objects.bulk_create([Wallet(player_id=player_id, updated_at=now)], ignore_conflicts=True)
            wallet = _lock_wallet_pg(player_id)
        assert wallet is not None
        return wallet
    # SQLite: BEGIN IMMEDIATE (settings) already holds the database's write lock.
    wallet = _locked_wallets().filter(player_id=player_id).first()
    if wallet is None:
        player_get_or_create(player_id=player_id)
        Wallet.objects.get_or_create(player_id=player_id)
        wallet = _locked_wallets().get(player_id=player_id)
    return wallet


def _replay(posting: Posting) -> LedgerEntry | None:
    """The row already written under the posting's key, if any (IdempotencyKeyReused when it was another
    request)."""
    existing = LedgerEntry.objects.filter(idempotency_key=posting.idempotency_key).first()
    if existing is not None and existing.request_hash != posting.fingerprint:
        raise IdempotencyKeyReused(
            f"This {posting.key_field} was used with a different request.",
            fields={posting.key_field: ["Already used with a different request body."]},
        )
    return existing


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


def ledger_post(posting: Posting, *, check: Check | None = None, on_recorded: OnRecorded | None = None) -> LedgerResult:
    """Record one balance change exactly once (the shared path of every wallet write).

    Idempotent by ``idempotency_key``: a retry returns the first row (``replayed``); the same key with
    another request raises IdempotencyKeyReused. ``check(wallet, now)`` runs under the lock before
    writing (protection rules). A balance never goes below zero. ``on_recorded(result)`` runs in the same
    transaction once a new row is written (never for a replay): a caller writes its own rows that belong with
    the change there (Company A's ``site_rewards`` row and push), through its own and other apps' services.

    Run on its own this is one transaction with no savepoint; inside a caller's transaction it takes one.
    """
    now = posting.occurred_at or timezone.now()
    # PostgreSQL checks the key in the writing statement itself (one round trip less); elsewhere first.
    key_checked_in_write = connection.vendor == "postgresql"
    try:
        with transaction.atomic():
            wallet = _lock_wallet(posting.player_id, now)
            # After the lock: a concurrent request with the same key has committed or not started.
            if not key_checked_in_write and (existing := _replay(posting)) is not None:
                return LedgerResult(existing, replayed=True)
            try:
                if check is not None:
                    check(wallet, now)
                new_balance = wallet.balance + posting.amount
                if new_balance < 0:
                    raise InsufficientBalance(
                        f"Balance is {wallet.balance} tokens; {-posting.amount} are needed.",
                        fields={"amount": [f"Exceeds the balance of {wallet.balance} tokens."]},
                    )
            except DomainError:
                # A retry of a request that went through gets its first answer, whatever the rules say now.
                if key_checked_in_write and (existing := _replay(posting)) is not None:
                    return LedgerResult(existing, replayed=True)
                raise
            action = _action_of(posting, now)
            entry = _write(posting, now, new_balance, action)
            if entry is None:  # the key was used already (checked by the writing statement, which wrote nothing)
                existing = _replay(posting)
                assert existing is not None
                return LedgerResult(existing, replayed=True)
            transaction.on_commit(lambda: _after_commit(posting, entry, action))
            result = LedgerResult(entry, replayed=False, player=wallet.player)
            if on_recorded is not None:
                on_recorded(result)
            return result
    except IntegrityError:
        # A concurrent request with the same key committed first (possible only where row locks are not
        # taken, or for the same key sent for another player): answer as a retry.
        existing = _replay(posting)
        if existing is None:
            raise
        return LedgerResult(existing, replayed=True)


def _after_commit(posting: Posting, entry: LedgerEntry, action: ParsedAction | None) -> None:
    """Redis' copy of the balance follows the committed row; the action it recorded moves the player's hot metrics
    and live state (a spend counts for spend velocity and the session), through activity's service, in the same one
    round trip. Each failure is logged and repaired later (reads and the nightly reconciliation; the nightly
    hot-metric repair)."""
    LEDGER_ENTRIES.labels(posting.kind).inc()
    balance_cache_set_quietly(posting.player_id, entry.balance_after, entry.id)
    if action is not None:
        hot_metrics_apply(activity_updates([action]))


def _action_of(posting: Posting, now: dt.datetime) -> ParsedAction | None:
    """The action the posting records (activity's log), if any."""
    if posting.action_type is None:
        return None
    event_id = posting.event_id or _event_id_for(posting.idempotency_key)
    return ParsedAction(event_id, posting.player_id, posting.action_type, now, posting.action_metadata or {})


def _write(posting: Posting, now: dt.datetime, new_balance: int, action: ParsedAction | None) -> LedgerEntry | None:
    """The action (if any), the ledger row and the wallet's new balance; the caller holds the wallet lock.

    On PostgreSQL one statement, which first looks the idempotency key up and writes nothing when it is
    taken: None then (the caller answers with the existing row).
    """
    entry = LedgerEntry(
        player_id=posting.player_id,
        idempotency_key=posting.idempotency_key,
        request_hash=posting.fingerprint,
        kind=posting.kind,
        source=posting.source,
        amount=posting.amount,
        balance_after=new_balance,
        created_at=now,
        actor=posting.actor,
        reason=posting.reason,
        details=posting.details or {},
    )
    if connection.vendor == "postgresql":
        return entry if _write_pg(entry, action) else None
    if action is not None:
        entry.action_id = action_record(action)
    entry.save(force_insert=True)
    Wallet.objects.filter(player_id=posting.player_id).update(
        balance=new_balance, last_entry_id=entry.id, updated_at=timezone.now()
    )
    return entry


# One statement: the key check (r), the action (a, activity's INSERT), the ledger row (l) and the balance (w). Each
# write runs only when the key is free (r empty). The statement's snapshot is taken after the wallet lock was
# granted, so it sees a twin request that committed while this one waited.
_KEY_USED = "SELECT 1 FROM token_ledger WHERE idempotency_key = %(key)s"
_LEDGER_INSERT = (
    "INSERT INTO token_ledger (player_id, idempotency_key, request_hash, kind, source, amount, balance_after, "
    "created_at, action_id, actor, reason, details) "
    "SELECT %(player)s, %(key)s, %(hash)s, %(kind)s, %(source)s, %(amount)s, %(balance)s, %(now)s, {action_id}, "
    "%(actor)s, %(reason)s, %(details)s::jsonb WHERE NOT EXISTS (SELECT 1 FROM r) RETURNING id"
)
_WALLET_UPDATE = (
    "UPDATE wallets SET balance = %(balance)s, last_entry_id = (SELECT id FROM l), "
    "updated_at = statement_timestamp() WHERE player_id = %(player)s AND EXISTS (SELECT 1 FROM l)"
)
_WRITE_WITH_ACTION = (
    f"WITH r AS ({_KEY_USED}), a AS ({action_insert_sql(when='NOT EXISTS (SELECT 1 FROM r)')}), "  # noqa: S608 (names from code, values bound)
    f"l AS ({_LEDGER_INSERT.format(action_id='(SELECT id FROM a)')}), w AS ({_WALLET_UPDATE}) "
    "SELECT (SELECT id FROM l), (SELECT id FROM a)"
)
_WRITE = (
    f"WITH r AS ({_KEY_USED}), l AS ({_LEDGER_INSERT.format(action_id='NULL')}), w AS ({_WALLET_UPDATE}) "  # noqa: S608 (names from code, values bound)
    "SELECT (SELECT id FROM l), NULL"
)


def _write_pg(entry: LedgerEntry, action: ParsedAction | None) -> bool:
    params: dict[str, Any] = {
        "player": entry.player_id,
        "key": entry.idempotency_key,
        "hash": entry.request_hash,
        "kind": entry.kind,
        "source": entry.source,
        "amount": entry.amount,
        "balance": entry.balance_after,
        "now": entry.created_at,
        "actor": entry.actor,
        "reason": entry.reason,
        "details": orjson.dumps(entry.details).decode(),
    }
    if action is not None:
        params.update(action_insert_params(action))
    with connection.cursor() as cursor:
        cursor.execute(_WRITE if action is None else _WRITE_WITH_ACTION, params)
        entry.id, entry.action_id = cursor.fetchone()
    if entry.id is None:
        return False
    entry._state.adding = False
    entry._state.db = connection.alias
    return True


def _refuse_while_paused(protection: PlayerProtection, now: dt.datetime, what: str) -> None:
    """Self-exclusion, then cool-off: no ``what`` (spending, purchases) while either is in force."""
    if protection.is_self_excluded(now):
        raise PlayerSelfExcluded(
            f"Self-excluded until {protection.self_excluded_until:%Y-%m-%d %H:%M} UTC: no {what} until then."
        )
    if protection.is_cooling_off(now):
        raise PlayerCoolingOff(
            f"Cooling off until {protection.cool_off_until:%Y-%m-%d %H:%M} UTC: no {what} until then."
        )


def protection_check_spend(player_id: int, amount: int, *, field: str = "amount") -> Check:
    """The rule check for a spend: self-exclusion, cool-off, then daily and weekly limits. A refusal by a limit names
    ``field`` (the request's field that holds the amount)."""

    def check(wallet: Wallet, now: dt.datetime) -> None:
        protection = protection_of(wallet.player)
        if protection is None:
            return
        protection.apply_due(now)
        _refuse_while_paused(protection, now, "spending")
        for state in spend_limit_states(player_id=player_id, protection=protection, tz=wallet.player.tzinfo, now=now):
            if state.spent + amount > state.limit:
                label, limit, spent, left = state.label, state.limit, state.spent, state.left
                raise SpendLimitReached(
                    f"This spend of {amount} would pass the player's {label} limit of {limit} tokens "
                    f"({spent} spent so far, {left} left).",
                    fields={field: [f"{label.capitalize()} limit {limit}, {left} left."]},
                )

    return check


def purchase_rules_check(*, player: Player | None, tokens: int, now: dt.datetime) -> None:
    """The rules a purchase of ``tokens`` must pass, written once: the purchase runs them under the wallet lock
    (``protection_check_purchase``), the pre-check on a plain read (``wallet_purchase_check``). No buying during a
    self-exclusion or a cool-off; none past the monthly purchase limit (tokens bought this business month, named
    ``tokens`` with what is left). ``player`` with its protection loaded, None for a player never seen (no rules)."""
    protection = protection_of(player) if player is not None else None
    if protection is None:
        return
    assert player is not None
    protection.apply_due(now)  # in memory: a raise that fell due counts now (saved by the next protection write)
    _refuse_while_paused(protection, now, "purchases")
    state = purchase_limit_state(player_id=player.id, protection=protection, now=now)
    if state is not None and state.bought + tokens > state.limit:
        limit, bought, left = state.limit, state.bought, state.left
        resets = (business_month_start(now) + dt.timedelta(days=32)).replace(day=1)
        raise PurchaseLimitReached(
            f"This purchase of {tokens} tokens would pass the player's monthly purchase limit of {limit} tokens "
            f"({bought} bought this month, {left} left until {resets:%Y-%m-%d %H:%M} {settings.BUSINESS_TIMEZONE}).",
            fields={"tokens": [f"Monthly purchase limit {limit}, {left} left this month."]},
        )


def protection_check_purchase(player_id: int, tokens: int) -> Check:
    """The rule check for a purchase (``purchase_rules_check``), under the wallet lock."""

    def check(wallet: Wallet, now: dt.datetime) -> None:
        purchase_rules_check(player=wallet.player, tokens=tokens, now=now)

    return check


def _require_tokens(value: int, field: str, *, signed: bool = False) -> None:
    """A number of tokens is a whole number from 1 to MAX_AMOUNT (or its negative, ``signed``): a service
    called with 0, -10 or 1.5 refuses as the API does, instead of turning a spend into a credit."""
    ok = type(value) is int and 0 < (abs(value) if signed else value) <= MAX_AMOUNT
    if not ok:
        size = "a non-zero whole number" if signed else "a whole number from 1"
        raise InvalidInput(
            f"{field} must be {size} up to {MAX_AMOUNT:,} tokens.",
            fields={field: [f"Must be {size} up to {MAX_AMOUNT:,}."]},
        )


def caller_key(namespace: str, key: str, api_key_id: int | None) -> str:
    """The ledger's idempotency key for a key a caller chose: scoped to the calling service's API key
    (``spend@<key id>:<key>``), so two services that pick the same key never meet; ``<namespace>:<key>`` for
    TokenLoop's own callers (no API key), as every key was before they were scoped. The two forms never collide: an
    unscoped key starts with ``<namespace>:`` and a scoped one with ``<namespace>@`` (docs/decisions/0026)."""
    return f"{namespace}:{key}" if api_key_id is None else f"{namespace}@{api_key_id}:{key}"


def _unscoped_replay(key: str, posting: Posting) -> LedgerResult | None:
    """While ``WALLET_UNSCOPED_KEYS_UNTIL`` is in the future (the deploy that scoped the keys): the row written under
    the key as it was before scoping, when it records this very request (same body, player and caller's name), as a
    replay. Anything else there was another caller's: not this request's answer."""
    until = settings.WALLET_UNSCOPED_KEYS_UNTIL
    if until is None or timezone.now() >= until:
        return None
    row = LedgerEntry.objects.filter(idempotency_key=key).first()
    if row is None or (row.request_hash, row.player_id, row.actor) != (
        posting.fingerprint,
        posting.player_id,
        posting.actor,
    ):
        return None
    return LedgerResult(row, replayed=True)


def wallet_spend(
    *, player_id: int, amount: int, game: str, idempotency_key: str, actor: str = "", api_key_id: int | None = None
) -> LedgerResult:
    """Tokens spent on a game. Idempotent by ``idempotency_key`` within the calling API key's (``api_key_id``) keys
    (``caller_key``)."""
    _require_tokens(amount, "amount")
    payload = {"user_id": player_id, "amount": amount, "game": game}
    posting = Posting(
        player_id=player_id,
        kind=Kind.SPEND,
        source=Source.IN_APP,
        amount=-amount,
        idempotency_key=caller_key("spend", idempotency_key, api_key_id),
        fingerprint=request_fingerprint(payload),
        action_type="SPEND_CYBER_TOKENS",
        action_metadata={"spent_tokens": amount, "game": game},
        actor=actor,
        details={"game": game},
    )
    if api_key_id is not None and (replay := _unscoped_replay(f"spend:{idempotency_key}", posting)) is not None:
        return replay
    return ledger_post(posting, check=protection_check_spend(player_id, amount))


def wallet_purchase(
    *, player_id: int, tokens: int, amount_paid: str, currency: str, payment_id: str, actor: str = ""
) -> LedgerResult:
    """Tokens bought for cash (spec 2.7); idempotent by the payment provider's ``payment_id``."""
    _require_tokens(tokens, "tokens")
    payload = {"user_id": player_id, "tokens": tokens, "amount_paid": amount_paid, "currency": currency}
    return ledger_post(
        Posting(
            player_id=player_id,
            kind=Kind.PURCHASE,
            source=Source.CASH,
            amount=tokens,
            idempotency_key=f"purchase:{payment_id}",
            fingerprint=request_fingerprint(payload),
            action_type="PURCHASE_CYBER_TOKENS",
            action_metadata={
                "tokens": tokens,
                "amount_paid": amount_paid,
                "currency": currency,
                "payment_id": payment_id,
            },
            actor=actor,
            details={"amount_paid": amount_paid, "currency": currency, "payment_id": payment_id},
            key_field="payment_id",
        ),
        check=protection_check_purchase(player_id, tokens),
    )


def wallet_purchase_check(*, player_id: int, tokens: int, now: dt.datetime | None = None) -> None:
    """Whether a purchase of ``tokens`` would be refused now, asked before the player pays: the purchase's own rules
    (``purchase_rules_check``) on a plain read of the player and their protection. Returns when it would be allowed;
    raises the purchase's refusal (PlayerSelfExcluded, PlayerCoolingOff, PurchaseLimitReached: 409) otherwise. Writes
    nothing (a player never seen is not made). The purchase decides again under the wallet lock: the answer holds
    for this moment only."""
    _require_tokens(tokens, "tokens")
    purchase_rules_check(player=player_get(player_id=player_id), tokens=tokens, now=now or timezone.now())


@dataclass(frozen=True)
class RefundResult:
    refund: Refund
    replayed: bool

    @property
    def balance(self) -> int:
        """The balance once the refund was recorded: its ledger row's, or 0 when the balance held nothing to take."""
        entry = self.refund.entry
        return entry.balance_after if entry is not None else 0


def wallet_refund(*, payment_id: str, kind: str, reason: str, actor: str = "") -> RefundResult:
    """Reverse the purchase paid by ``payment_id`` (a refund by the shop or a chargeback; docs/decisions/0024).

    The tokens bought are taken back from what the balance holds now, never below zero: a REFUND ledger row (source
    cash, through ``ledger_post``; rows are never edited) of minus the smaller of the two, and none when the balance
    is empty. The tokens the player had spent already are recorded as ``unrecovered`` on the ``Refund`` row (and the
    ledger row's details), counted by ``tokenloop_refund_unrecovered_tokens_total`` and shown to staff in the admin.
    A payment is reversed once: a second report of it, refund or chargeback, answers the first (``replayed``). An
    unknown payment is NotFound (404), and nothing is written. No protection rule applies: it is no spend of the
    player's. One transaction, under the wallet's lock (the balance read is the one debited).
    """
    fields: dict[str, list[str]] = {}
    if kind not in Refund.Kind.values:
        fields["kind"] = [f"One of: {', '.join(Refund.Kind.values)}."]
    if not payment_id or len(payment_id) > 150:
        fields["payment_id"] = ["Must be a non-empty string of at most 150 characters."]
    if fields:
        raise InvalidInput("Invalid input.", fields=fields)
    purchase = ledger_entry_by_key(idempotency_key=f"purchase:{payment_id}")
    if purchase is None:
        raise NotFound(
            f"No purchase was recorded with payment_id {payment_id!r}.",
            fields={"payment_id": ["No purchase with this payment_id."]},
        )
    with transaction.atomic():
        # The wallet's lock first, as every balance change takes it: a refund and a spend of the player queue, and two
        # reports of one payment too (the second then finds the first's row).
        wallet = Wallet.objects.select_for_update().get(player_id=purchase.player_id)
        existing = Refund.objects.select_related("entry").filter(payment_id=payment_id).first()
        if existing is not None:
            return RefundResult(existing, replayed=True)
        recovered = min(purchase.amount, wallet.balance)
        unrecovered = purchase.amount - recovered
        entry = None
        if recovered > 0:
            entry = ledger_post(
                Posting(
                    player_id=purchase.player_id,
                    kind=Kind.REFUND,
                    source=Source.CASH,
                    amount=-recovered,
                    idempotency_key=f"refund:{payment_id}",
                    fingerprint=request_fingerprint({"payment_id": payment_id, "kind": kind, "tokens": recovered}),
                    actor=actor,
                    reason=reason,
                    details={
                        "payment_id": payment_id,
                        "reversal": kind,
                        "purchase_entry_id": purchase.id,
                        "purchased_tokens": purchase.amount,
                        "unrecovered_tokens": unrecovered,
                    },
                )
            ).entry
        refund = Refund.objects.create(
            payment_id=payment_id,
            player_id=purchase.player_id,
            kind=kind,
            reason=reason,
            purchase_entry=purchase,
            entry=entry,
            tokens=purchase.amount,
            recovered=recovered,
            unrecovered=unrecovered,
            actor=actor,
        )
        transaction.on_commit(lambda: _refund_count(kind, recovered, unrecovered))
    return RefundResult(refund, replayed=False)


def _refund_count(kind: str, recovered: int, unrecovered: int) -> None:
    REFUNDS.labels(kind, "all" if unrecovered == 0 else "part" if recovered else "none").inc()
    if unrecovered:
        REFUND_UNRECOVERED_TOKENS.labels(kind).inc(unrecovered)


def wallet_earn(
    *,
    player_id: int,
    amount: int,
    source: str,
    idempotency_key: str,
    details: dict[str, Any],
    occurred_at: dt.datetime | None = None,
    actor: str = "",
    on_recorded: OnRecorded | None = None,
) -> LedgerResult:
    """Tokens earned (Company A, in-app). The caller owns the key's namespace (``corporate:<webhook-id>``);
    ``on_recorded`` as in ``ledger_post``."""
    _require_tokens(amount, "amount")
    return ledger_post(
        Posting(
            player_id=player_id,
            kind=Kind.EARN,
            source=source,
            amount=amount,
            idempotency_key=idempotency_key,
            fingerprint=request_fingerprint({"user_id": player_id, "amount": amount, "source": source, **details}),
            action_type="EARN_CYBER_TOKENS",
            action_metadata={"earned_tokens": amount, "source": source, **details},
            occurred_at=occurred_at,
            actor=actor,
            details=details,
        ),
        on_recorded=on_recorded,
    )


def wallet_grant(
    *,
    player_id: int,
    amount: int,
    idempotency_key: str,
    reason: str,
    actor: str = "",
    on_recorded: OnRecorded | None = None,
    check: Check | None = None,
) -> LedgerResult:
    """A reward paid by TokenLoop itself (upgrade rewards, missions: ``wallet.missions``; the VIP award:
    ``predictions.outreach``). ``on_recorded`` and ``check`` (the payer's rule, under the wallet's lock, with the
    player and their protection loaded) as in ``ledger_post``."""
    _require_tokens(amount, "amount")
    return ledger_post(
        Posting(
            player_id=player_id,
            kind=Kind.GRANT,
            source=Source.REWARD,
            amount=amount,
            idempotency_key=idempotency_key,
            fingerprint=request_fingerprint({"user_id": player_id, "amount": amount, "reason": reason}),
            action_type="EARN_CYBER_TOKENS",
            action_metadata={"earned_tokens": amount, "source": "reward"},
            actor=actor,
            reason=reason,
        ),
        check=check,
        on_recorded=on_recorded,
    )


def wallet_adjust(*, player_id: int, amount: int, reason: str, actor: str, idempotency_key: str) -> LedgerResult:
    """A correction by staff: a new ADJUST row recording who and why (the ledger is never edited)."""
    if not reason.strip() or not actor.strip():
        raise InvalidInput(
            "An adjustment needs a reason and an actor.",
            fields={"reason": ["Required."]} if not reason.strip() else {"actor": ["Required."]},
        )
    _require_tokens(amount, "amount", signed=True)
    return ledger_post(
        Posting(
            player_id=player_id,
            kind=Kind.ADJUST,
            source=Source.IN_APP,
            amount=amount,
            idempotency_key=f"adjust:{idempotency_key}",
            fingerprint=request_fingerprint({"user_id": player_id, "amount": amount, "reason": reason, "actor": actor}),
            actor=actor,
            reason=reason,
        )
    )


_HISTORY_KINDS = {
    "EARN_CYBER_TOKENS": (Kind.EARN, "earned_tokens", 1),
    "SPEND_CYBER_TOKENS": (Kind.SPEND, "spent_tokens", -1),
    "PURCHASE_CYBER_TOKENS": (Kind.PURCHASE, "tokens", 1),
    "UNLOCK_CONTENT": (Kind.SPEND, "spent_tokens", -1),  # recorded through content (its unlock row comes along)
}


def wallet_record_history(action: ParsedAction, *, on_recorded: OnRecorded | None = None) -> LedgerResult:
    """A token-moving action from an import of history, with its ledger row, at its own time.

    Idempotent by the action's event_id (a re-import replays). Player protection does not apply to
    the past; a balance still never goes below zero (InsufficientBalance). ``on_recorded`` as in ``ledger_post``
    (a content unlock's own rows).
    """
    kind, amount_key, sign = _HISTORY_KINDS[action.action_type]
    metadata = action.metadata
    if kind == Kind.EARN:
        source = {"corporate": Source.CORPORATE, "reward": Source.REWARD}.get(metadata.get("source", ""), Source.IN_APP)
    else:
        source = Source.CASH if kind == Kind.PURCHASE else Source.IN_APP
    return ledger_post(
        Posting(
            player_id=action.player_id,
            kind=kind,
            source=source,
            amount=sign * int(metadata[amount_key]),
            idempotency_key=f"import:{action.event_id}",
            fingerprint=request_fingerprint(
                {
                    "user_id": action.player_id,
                    "action_type": action.action_type,
                    "metadata": metadata,
                    "action_timestamp": action.action_timestamp.isoformat(),
                }
            ),
            action_type=action.action_type,
            action_metadata=metadata,
            occurred_at=action.action_timestamp,
            event_id=action.event_id,
            actor="import",
            details={"imported": True},
        ),
        on_recorded=on_recorded,
    )


# --- bulk loads (operations) -------------------------------------------------------------------------------------
# A history written at once (demo data) instead of posting each row: the caller computes the running balances,
# so it holds the tables still (``wallets_lock_exclusive``), loads only players with no wallet or ledger row yet
# (``wallet.selectors.wallet_holders``), gives each player's rows ids ascending in time order
# (``ledger_ids_reserve``) and writes every loaded player's wallet with its last row.

# (id, player_id, idempotency_key, request_hash, kind, source, amount, balance_after, created_at, action_id, actor,
# reason, details), values as the database takes them: created_at as UTC text ('YYYY-MM-DD HH:MM:SS', '+00' added
# on PostgreSQL), details as JSON text.
LedgerLoadRow = tuple[int, int, str, str, str, str, int, int, str, int, str, str, str]
LEDGER_LOAD_COLUMNS = (
    "id",
    "player_id",
    "idempotency_key",
    "request_hash",
    "kind",
    "source",
    "amount",
    "balance_after",
    "created_at",
    "action_id",
    "actor",
    "reason",
    "details",
)
# (player_id, balance, last_entry_id, updated_at): updated_at as UTC text too.
WalletLoadRow = tuple[int, int, int, str]
WALLET_LOAD_COLUMNS = ("player_id", "balance", "last_entry_id", "updated_at")


def wallets_lock_exclusive() -> None:
    """Hold ``wallets`` and ``token_ledger`` against every other writer until the transaction ends (reads go
    on), so players found without a wallet stay so until the load commits. PostgreSQL only: SQLite has one
    writer at a time already."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("LOCK TABLE wallets, token_ledger IN EXCLUSIVE MODE")


def ledger_ids_reserve(*, count: int) -> list[int]:
    """``count`` ids for ledger rows stored later by ``ledger_history_load``, ascending, never given to another."""
    return reserve_ids(LedgerEntry, count)


def ledger_history_load(*, rows: Iterable[LedgerLoadRow]) -> int:
    """Store many ledger rows at once, with the actions they record stored already. A clash raises
    IntegrityError: a row without its wallet must stop the load. Returns how many were stored."""
    return bulk_insert(LedgerEntry, LEDGER_LOAD_COLUMNS, rows)


def wallets_load(*, rows: Iterable[WalletLoadRow]) -> int:
    """Store the wallets of the players whose history was loaded (balance and id of each one's last ledger row,
    or 0 and 0). A wallet already there raises IntegrityError. Returns how many were stored."""
    return bulk_insert(Wallet, WALLET_LOAD_COLUMNS, rows)


def balance_cache_fill(*, first_player_id: int, last_player_id: int, chunk: int = 5_000) -> int:
    """Redis' copy of the balances of the players with an id in [first_player_id, last_player_id], from their
    wallets, where Redis holds nothing newer (after a load). Returns how many balances were written."""
    # A wallet without ledger rows reads 0 from the database; Redis needs nothing for it.
    rows = list(
        Wallet.objects.filter(
            player_id__gte=first_player_id, player_id__lte=last_player_id, last_entry_id__gt=0
        ).values_list("player_id", "balance", "last_entry_id")
    )
    written = 0
    for start in range(0, len(rows), chunk):
        written += balance_cache_set({pid: (balance, last) for pid, balance, last in rows[start : start + chunk]})
    return written
