"""Company A's events (spec 2.2.3 "event trigger"), each applied exactly once by its webhook id."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from activity.selectors import action_id as action_id_of
from activity.services import actions_ingest
from activity.validation import ParsedAction
from core.bulk import bulk_insert
from core.exceptions import InvalidInput
from corporate.models import SiteReward, SiteVisit
from notifications.services import Kind, notification_create
from texts.catalog import text_render
from texts.registry import FALLBACK_LOCALE
from wallet.errors import IdempotencyKeyReused
from wallet.services import LedgerResult, Source, wallet_earn

# The id is stored as "corporate:<webhook-id>" in columns of 200 characters (ledger key, notification dedupe key).
WEBHOOK_ID_MAX_LENGTH = 190
NEW_TOKEN_ARRIVAL = "NEW_TOKEN_ARRIVAL"
EARN_SOURCE = Source.CORPORATE


@dataclass(frozen=True)
class WebhookOutcome:
    webhook_id: str
    duplicate: bool


def _check_webhook_id(webhook_id: str) -> None:
    if len(webhook_id) > WEBHOOK_ID_MAX_LENGTH:
        raise InvalidInput(
            "The webhook-id is too long.", fields={"webhook-id": [f"At most {WEBHOOK_ID_MAX_LENGTH} characters."]}
        )
    if not webhook_id.isprintable():  # e.g. U+0000, which PostgreSQL cannot store
        raise InvalidInput(
            "The webhook-id has control characters.", fields={"webhook-id": ["Printable characters only."]}
        )


def _visit_event_id(webhook_id: str) -> str:
    """The CORPORATE_VISIT action's event_id (64 characters at most): the id itself when it fits, else its hash,
    so two long ids never share an event_id."""
    event_id = f"corporate:{webhook_id}"
    if len(event_id) <= 64:
        return event_id
    return "corporate:sha256:" + hashlib.sha256(webhook_id.encode()).hexdigest()[:47]


def corporate_token_earned(
    *, webhook_id: str, player_id: int, earned_tokens: int, reward_type: str, issued_at: dt.datetime
) -> WebhookOutcome:
    """Tokens earned at Company A, in one transaction: the EARN_CYBER_TOKENS action, the ledger row and the balance
    (the wallet), then, for a new grant, the site_rewards row and the NEW_TOKEN_ARRIVAL notification. After commit
    Redis' balance is raised and the push dispatched. The ledger's idempotency key (checked under the player's
    wallet lock) makes the grant once: a redelivery, or a concurrent delivery that committed first, changes
    nothing."""
    _check_webhook_id(webhook_id)

    def record(result: LedgerResult) -> None:
        SiteReward.objects.create(
            user_id=player_id,
            reward_type=reward_type,
            reward_value=earned_tokens,
            issued_at=issued_at,
            webhook_id=webhook_id,
            action_id=result.entry.action_id,
            ledger_entry_id=result.entry.id,
        )
        locale = result.player.locale if result.player is not None else FALLBACK_LOCALE
        message = text_render(NEW_TOKEN_ARRIVAL, locale, earned_tokens=earned_tokens)
        notification_create(
            player_id=player_id,
            type=NEW_TOKEN_ARRIVAL,
            kind=Kind.TRANSACTIONAL,
            message=message,
            payload={
                "type": NEW_TOKEN_ARRIVAL,
                "user_id": player_id,
                "earned_tokens": earned_tokens,
                "message": message,
            },
            dedupe_key=f"corporate:{webhook_id}",
            player=result.player,
        )

    try:
        result = wallet_earn(
            player_id=player_id,
            amount=earned_tokens,
            source=EARN_SOURCE,
            idempotency_key=f"corporate:{webhook_id}",
            details={"webhook_id": webhook_id, "reward_type": reward_type},
            on_recorded=record,
        )
    except IdempotencyKeyReused:  # the same webhook id with other content: Company A's id rules
        return WebhookOutcome(webhook_id, duplicate=True)
    # replayed: a redelivery, or a concurrent delivery that committed first
    return WebhookOutcome(webhook_id, duplicate=result.replayed)


def corporate_site_visit(
    *, webhook_id: str, player_id: int, visit_timestamp: dt.datetime, dwell_seconds: int, actions: list[str]
) -> WebhookOutcome:
    """A visit to Company A: a site_visits row and its CORPORATE_VISIT action, once."""
    _check_webhook_id(webhook_id)
    with transaction.atomic():
        if SiteVisit.objects.filter(webhook_id=webhook_id).exists():
            return WebhookOutcome(webhook_id, duplicate=True)
        event_id = _visit_event_id(webhook_id)
        actions_ingest(
            actions=[
                ParsedAction(
                    event_id,
                    player_id,
                    "CORPORATE_VISIT",
                    visit_timestamp,
                    {"dwell_seconds": dwell_seconds, "actions": actions},
                )
            ],
            path="corporate",
        )
        action_id = action_id_of(event_id=event_id)
        _, created = SiteVisit.objects.get_or_create(
            webhook_id=webhook_id,
            defaults={
                "user_id": player_id,
                "visit_timestamp": visit_timestamp,
                "dwell_seconds": dwell_seconds,
                "actions": actions,
                "action_id": action_id,
            },
        )
    return WebhookOutcome(webhook_id, duplicate=not created)


# --- bulk loads (operations) -------------------------------------------------------------------------------------

# (user_id, reward_type, reward_value, issued_at, webhook_id, action_id, ledger_entry_id), values as the database
# takes them: issued_at as UTC text ('YYYY-MM-DD HH:MM:SS', '+00' added on PostgreSQL).
SiteRewardLoadRow = tuple[int, str, int, str, str, int, int]
SITE_REWARD_LOAD_COLUMNS = (
    "user_id",
    "reward_type",
    "reward_value",
    "issued_at",
    "webhook_id",
    "action_id",
    "ledger_entry_id",
)


def site_rewards_load(*, rows: Iterable[SiteRewardLoadRow]) -> int:
    """Store many Company A rewards at once (demo data), with the actions and ledger rows they point at stored
    already. A webhook id already there raises IntegrityError. Returns how many were stored."""
    return bulk_insert(SiteReward, SITE_REWARD_LOAD_COLUMNS, rows)
