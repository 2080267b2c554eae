"""Company A's events (spec 2.2.3 "event trigger"), each applied exactly once by its webhook id."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from activity.services import actions_ingest
from activity.validation import ParsedAction
from corporate.models import SiteReward, SiteVisit
from notifications.messages import message_render
from notifications.models import Notification
from notifications.services import notification_create
from players.models import Player
from wallet.models import LedgerEntry
from wallet.services import wallet_earn


@dataclass(frozen=True)
class WebhookOutcome:
    webhook_id: str
    duplicate: bool


def corporate_token_earned(*, webhook_id: str, user_id: int, earned_tokens: int, reward_type: str,
                           issued_at: dt.datetime) -> WebhookOutcome:
    """Tokens earned at Company A: in one transaction the site_rewards row, the EARN_CYBER_TOKENS
    action, the ledger row and the NEW_TOKEN_ARRIVAL notification. After commit Redis' balance is
    raised and the push dispatched. A redelivery changes nothing."""
    with transaction.atomic():
        if SiteReward.objects.filter(webhook_id=webhook_id).exists():
            return WebhookOutcome(webhook_id, duplicate=True)
        result = wallet_earn(
            user_id=user_id, amount=earned_tokens, source=LedgerEntry.Source.CORPORATE,
            idempotency_key=f"corporate:{webhook_id}", details={"webhook_id": webhook_id, "reward_type": reward_type},
        )
        if result.replayed:  # a concurrent delivery of the same webhook committed first
            return WebhookOutcome(webhook_id, duplicate=True)
        SiteReward.objects.create(
            user_id=user_id, reward_type=reward_type, reward_value=earned_tokens, issued_at=issued_at,
            webhook_id=webhook_id, action_id=result.entry.action_id, ledger_entry_id=result.entry.id,
        )
        locale = Player.objects.filter(id=user_id).values_list("locale", flat=True).first() or "ko"
        message = message_render("NEW_TOKEN_ARRIVAL", locale, earned_tokens=earned_tokens)
        notification_create(
            user_id=user_id, type="NEW_TOKEN_ARRIVAL", kind=Notification.Kind.TRANSACTIONAL, message=message,
            payload={"type": "NEW_TOKEN_ARRIVAL", "user_id": user_id, "earned_tokens": earned_tokens,
                     "message": message},
            dedupe_key=f"corporate:{webhook_id}",
        )
    return WebhookOutcome(webhook_id, duplicate=False)


def corporate_site_visit(*, webhook_id: str, user_id: int, visit_timestamp: dt.datetime, dwell_seconds: int,
                         actions: list[str]) -> WebhookOutcome:
    """A visit to Company A: a site_visits row and its CORPORATE_VISIT action, once."""
    with transaction.atomic():
        if SiteVisit.objects.filter(webhook_id=webhook_id).exists():
            return WebhookOutcome(webhook_id, duplicate=True)
        event_id = f"corporate:{webhook_id}"[:64]
        actions_ingest(actions=[ParsedAction(event_id, user_id, "CORPORATE_VISIT", visit_timestamp,
                                             {"dwell_seconds": dwell_seconds, "actions": actions})], path="corporate")
        _, created = SiteVisit.objects.get_or_create(
            webhook_id=webhook_id,
            defaults={"user_id": user_id, "visit_timestamp": visit_timestamp, "dwell_seconds": dwell_seconds,
                      "actions": actions},
        )
    return WebhookOutcome(webhook_id, duplicate=not created)
