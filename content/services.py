"""Writes for adult content: a player's unlock of a stage, an imported unlock, and the bulk loads of the demo data.

An unlock is paid through the ledger (docs/decisions/0014): one transaction holds the wallet's SPEND (the one write
path of every balance change, ``wallet.services.ledger_post``, with its ``UNLOCK_CONTENT`` action and the player's
protection checked under the wallet's lock), the ``user_rewards`` row (``content_unlock``) and the unlock itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import connection
from django.utils import timezone

from activity.services import reward_insert_params, reward_insert_sql, reward_record
from activity.validation import ParsedAction
from content import selectors
from content.errors import ContentHistoryRefused, PreviousStageLocked, SegmentLevelTooLow
from content.models import AdultContent, ContentUnlock
from core.bulk import bulk_insert, reserve_ids
from core.exceptions import DomainError, InvalidInput, NotFound
from players.age import business_today
from wallet.errors import IdempotencyKeyReused, InsufficientBalance
from wallet.selectors import ledger_entry_by_key
from wallet.services import (
    Kind,
    LedgerResult,
    Posting,
    Source,
    ledger_post,
    protection_check_spend,
    request_fingerprint,
    wallet_record_history,
)

if TYPE_CHECKING:
    from wallet.models import Wallet

REWARD_TYPE = "content_unlock"  # user_rewards.reward_type of an unlock; reward_value is the stage's adult_content id
MAX_KEY_LENGTH = 150
MAX_ID = 2**63 - 1  # adult_content.id is a bigint


@dataclass(frozen=True)
class UnlockResult:
    """An unlock as answered: the unlock (its stage and ledger row loaded) and whether it is the first answer again
    (a retry, or a request for a stage the player had unlocked already: nothing was debited)."""

    unlock: ContentUnlock
    replayed: bool


class _AlreadyUnlocked(Exception):
    """Raised inside the wallet's transaction when the unlock's INSERT finds the player's unlock of the stage there
    already (a concurrent request under another key committed first): the transaction, debit included, rolls back."""


def content_unlock(
    *, player_id: int, content_id: int, idempotency_key: str, actor: str = "", now: dt.datetime | None = None
) -> UnlockResult:
    """Unlock a stage for the player, once.

    Refused, writing nothing: a player who is not a verified adult (AgeVerificationRequired, UnderAge: 403), a stage
    that does not exist or is not offered (NotFound), a stage whose previous active stage the player has not unlocked
    (PreviousStageLocked), a segment below the stage's level (SegmentLevelTooLow), and what the wallet refuses under
    its lock: a self-exclusion, a cool-off, a spend limit, too few tokens. Otherwise one transaction: the SPEND with
    its ``UNLOCK_CONTENT`` action (``ledger_post``), the ``user_rewards`` row and the unlock.

    Idempotent: the same key answers the first result (the same key for another stage: IdempotencyKeyReused, 422);
    a stage the player unlocked already, under any key, answers that first unlock and debits nothing, also when
    concurrent requests race (the unique (player, stage) index; the loser's transaction rolls back).
    """
    if not 0 < len(idempotency_key) <= MAX_KEY_LENGTH:
        raise InvalidInput(
            "An idempotency key is needed.",
            fields={"idempotency_key": [f"Required: 1 to {MAX_KEY_LENGTH} characters."]},
        )
    now = now or timezone.now()
    requested = content_id
    if not 0 < content_id <= MAX_ID:  # past the column's range: no stage (the age is still checked first)
        content_id = 0
    key = f"content-unlock:{player_id}:{idempotency_key}"
    fingerprint = request_fingerprint({"user_id": player_id, "content_id": content_id})
    check = selectors.unlock_check(player_id=player_id, content_id=content_id)
    refusal = selectors.adult_refusal(
        age_verified=check.age_verified, birth_date=check.birth_date, today=business_today(now)
    )
    if refusal is not None:
        raise refusal
    if check.unlock_id is not None:  # unlocked already: the first answer, whatever key this one carries
        _refuse_reused_key(key, fingerprint)
        return UnlockResult(selectors.unlock_get(unlock_id=check.unlock_id), replayed=True)
    if check.content_id is None or not check.is_active:
        raise NotFound(f"No stage {requested} is offered.")
    if check.previous is not None and not check.previous_unlocked:
        raise PreviousStageLocked(
            f"Stage {check.previous.stage} must be unlocked before stage {check.stage}.",
            fields={"content_id": [f"Unlock stage {check.previous.stage} (content {check.previous.id}) first."]},
        )
    if check.segment_level < check.required_segment_level:
        raise SegmentLevelTooLow(
            f"Stage {check.stage} needs segment level {check.required_segment_level}; the player's is "
            f"{check.segment_level}.",
            fields={"content_id": [f"Needs segment level {check.required_segment_level}."]},
        )
    content = check.content
    assert content is not None
    price, stage = check.price, check.stage
    spend_check = protection_check_spend(player_id, price, field="price")

    def under_lock(wallet: Wallet, at: dt.datetime) -> None:
        # The player as read under the wallet's lock: still a verified adult (the check above read before it).
        refused = selectors.adult_refusal(
            age_verified=wallet.player.age_verified, birth_date=wallet.player.birth_date, today=business_today(at)
        )
        if refused is not None:
            raise refused
        spend_check(wallet, at)

    recorded: list[ContentUnlock] = []

    def record(result: LedgerResult) -> None:
        entry = result.entry
        assert entry.action_id is not None
        unlock = ContentUnlock(
            user_id=player_id,
            content=content,
            stage=stage,
            spent_tokens=price,
            unlocked_at=entry.created_at,
            ledger_entry=entry,
            action_id=entry.action_id,
        )
        if not _unlock_insert(unlock):
            raise _AlreadyUnlocked
        recorded.append(unlock)

    posting = Posting(
        player_id=player_id,
        kind=Kind.SPEND,
        source=Source.IN_APP,
        amount=-price,
        idempotency_key=key,
        fingerprint=fingerprint,
        action_type="UNLOCK_CONTENT",
        action_metadata={"content_id": content_id, "stage": stage, "spent_tokens": price},
        occurred_at=now,
        actor=actor,
        details={"content_id": content_id, "stage": stage},
    )
    try:
        result = ledger_post(posting, check=under_lock, on_recorded=record)
    except _AlreadyUnlocked:
        return _first_unlock(player_id, content_id)
    except DomainError as exc:
        # Refused under the lock. If a concurrent request unlocked the stage while this one waited, that is the answer.
        first = selectors.unlock_of(player_id=player_id, content_id=content_id)
        if first is not None:
            return UnlockResult(first, replayed=True)
        if isinstance(exc, InsufficientBalance):
            raise InsufficientBalance(
                f"Stage {stage} costs {price} tokens. {exc.message}",
                fields={"price": [f"{price} tokens: more than the balance."]},
            ) from exc
        raise
    if result.replayed:  # this key's first request went through (the check above ran before it committed)
        return _first_unlock(player_id, content_id)
    return UnlockResult(recorded[0], replayed=False)


def _refuse_reused_key(key: str, fingerprint: str) -> None:
    """A key used before for another request (another stage) is refused, as the wallet refuses it (422)."""
    entry = ledger_entry_by_key(idempotency_key=key)
    if entry is not None and entry.request_hash != fingerprint:
        raise IdempotencyKeyReused(
            "This idempotency_key was used with a different request.",
            fields={"idempotency_key": ["Already used with a different request body."]},
        )


def _first_unlock(player_id: int, content_id: int) -> UnlockResult:
    unlock = selectors.unlock_of(player_id=player_id, content_id=content_id)
    assert unlock is not None, "the stage was seen unlocked"
    return UnlockResult(unlock, replayed=True)


def _unlock_insert(unlock: ContentUnlock) -> bool:
    """Store ``unlock`` and its ``user_rewards`` row in the caller's transaction; False (nothing stored that stays:
    the caller rolls back) when the player's unlock of the stage is there already. On PostgreSQL one statement,
    activity's INSERT of the reward as its first part (``activity.services.reward_insert_sql``)."""
    reward = reward_insert_params(
        player_id=unlock.user_id,
        reward_type=REWARD_TYPE,
        reward_value=unlock.content_id,
        awarded_at=unlock.unlocked_at,
        trigger_action_id=unlock.action_id,
    )
    values: dict[str, Any] = {
        "player": unlock.user_id,
        "content": unlock.content_id,
        "stage": unlock.stage,
        "spent": unlock.spent_tokens,
        "at": unlock.unlocked_at,
        "entry": unlock.ledger_entry_id,
        "action": unlock.action_id,
    }
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(_UNLOCK_WITH_REWARD_PG, {**values, **reward})
            unlock_id, reward_id = cursor.fetchone()
        else:
            reward_id = reward_record(
                player_id=unlock.user_id,
                reward_type=REWARD_TYPE,
                reward_value=unlock.content_id,
                awarded_at=unlock.unlocked_at,
                trigger_action_id=unlock.action_id,
            )
            cursor.execute(_UNLOCK_INSERT.format(reward="%(reward)s"), {**values, "reward": reward_id})
            found = cursor.fetchone()
            unlock_id = found[0] if found else None
    if unlock_id is None:
        return False
    unlock.id, unlock.reward_id = unlock_id, reward_id
    unlock._state.adding = False
    unlock._state.db = connection.alias
    return True


_UNLOCK_INSERT = (
    "INSERT INTO content_unlocks (user_id, content_id, stage, spent_tokens, unlocked_at, ledger_entry_id, action_id, "
    "reward_id) SELECT %(player)s, %(content)s, %(stage)s, %(spent)s, %(at)s, %(entry)s, %(action)s, {reward} "
    "WHERE true ON CONFLICT (user_id, content_id) DO NOTHING RETURNING id"  # WHERE: SQLite's upsert after a SELECT
)
# The reward (activity's INSERT), then the unlock pointing at it; a clash on (user_id, content_id) inserts no unlock,
# and the caller rolls the transaction back (the reward with it).
_UNLOCK_WITH_REWARD_PG = (
    f"WITH r AS ({reward_insert_sql()}), "  # noqa: S608 (names from code, values bound)
    f"u AS ({_UNLOCK_INSERT.format(reward='(SELECT id FROM r)')}) "
    "SELECT (SELECT id FROM u), (SELECT id FROM r)"
)


# --- history (import_actions) -----------------------------------------------------------------------------------


def content_unlock_record_history(action: ParsedAction) -> LedgerResult:
    """An ``UNLOCK_CONTENT`` action from an import of history: its ledger row (a SPEND, at its own time, keyed by its
    event id: ``wallet.services.wallet_record_history``), its ``user_rewards`` row and the unlock, in one transaction.
    History is what happened: no age, order, segment or protection rule is applied to it; the balance still never
    goes below zero. Refused (ContentHistoryRefused, nothing written) when the stage is not in the catalog, has
    another stage number, or the player has an unlock of it already. A re-import replays."""
    metadata = action.metadata
    raw_id = metadata["content_id"]
    content_id = raw_id if type(raw_id) is int else int(raw_id) if str(raw_id).isdigit() else None
    content = selectors.content_get(content_id=content_id) if content_id is not None else None
    if content is None:
        raise ContentHistoryRefused(
            f"content_id {raw_id!r} is not a stage of the catalog (adult_content): add the stage first.",
            fields={"metadata.content_id": ["Not a stage of the catalog."]},
        )
    if content.stage != metadata["stage"]:
        raise ContentHistoryRefused(
            f"content {content.id} is stage {content.stage}, not {metadata['stage']}.",
            fields={"metadata.stage": [f"Content {content.id} is stage {content.stage}."]},
        )

    def record(result: LedgerResult) -> None:
        entry = result.entry
        assert entry.action_id is not None
        unlock = ContentUnlock(
            user_id=action.player_id,
            content=content,
            stage=content.stage,
            spent_tokens=int(metadata["spent_tokens"]),
            unlocked_at=entry.created_at,
            ledger_entry=entry,
            action_id=entry.action_id,
        )
        if not _unlock_insert(unlock):
            raise ContentHistoryRefused(
                f"player {action.player_id} has an unlock of content {content.id} already.",
                fields={"metadata.content_id": ["Unlocked by this player already."]},
            )

    return wallet_record_history(action, on_recorded=record)


# --- bulk loads (operations) -------------------------------------------------------------------------------------

# (id, stage, name, description, thumbnail_url, media_url, required_segment_level, token_price, is_active,
# created_at, updated_at): times as UTC text ('YYYY-MM-DD HH:MM:SS', '+00' added on PostgreSQL).
CatalogLoadRow = tuple[int, int, str, str, str, str, int, int, bool, str, str]
CATALOG_LOAD_COLUMNS = (
    "id",
    "stage",
    "name",
    "description",
    "thumbnail_url",
    "media_url",
    "required_segment_level",
    "token_price",
    "is_active",
    "created_at",
    "updated_at",
)
# (user_id, content_id, stage, spent_tokens, unlocked_at, ledger_entry_id, action_id, reward_id)
UnlockLoadRow = tuple[int, int, int, int, str, int, int, int]
UNLOCK_LOAD_COLUMNS = (
    "user_id",
    "content_id",
    "stage",
    "spent_tokens",
    "unlocked_at",
    "ledger_entry_id",
    "action_id",
    "reward_id",
)


def content_ids_reserve(*, count: int) -> list[int]:
    """``count`` ids for stages stored by ``catalog_load``, ascending, never given to another."""
    return reserve_ids(AdultContent, count)


def catalog_load(*, rows: Iterable[CatalogLoadRow]) -> int:
    """Store catalog stages at once (demo data). A clash (an id or a stage number taken) raises IntegrityError."""
    return bulk_insert(AdultContent, CATALOG_LOAD_COLUMNS, rows)


def unlocks_load(*, rows: Iterable[UnlockLoadRow]) -> int:
    """Store many unlocks at once (demo data), with the ledger rows, actions and rewards they point at stored
    already. A clash (a player's second unlock of a stage) raises IntegrityError. Returns how many were stored."""
    return bulk_insert(ContentUnlock, UNLOCK_LOAD_COLUMNS, rows)
