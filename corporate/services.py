"""Company A's events (spec 2.2.3 "event trigger"), each applied exactly once by its webhook id."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from activity.selectors import action_id as action_id_of
from activity.services import actions_ingest
from activity.validation import ParsedAction
from core.bulk import bulk_insert
from core.exceptions import InvalidInput
from corporate.models import SiteQuizCompletion, SiteReward, SiteVisit, VisitMissionOffer
from notifications.services import Kind, notification_create
from players.age import business_today
from players.services import player_ensure_many
from texts.catalog import text_render
from texts.registry import FALLBACK_LOCALE
from wallet.errors import IdempotencyKeyReused
from wallet.missions import COMPLETE_CORPORATE_QUIZ, VISIT_CORPORATE_SITE, mission_pay
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
    """A visit to Company A: a site_visits row and its CORPORATE_VISIT action, once; and, when a
    ``VISIT_CORPORATE_SITE`` proposal was served to the player earlier that business day, the visit mission
    (``_visit_mission_pay``), in the same transaction."""
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
        if created:
            _visit_mission_pay(player_id=player_id, visit_timestamp=visit_timestamp)
    return WebhookOutcome(webhook_id, duplicate=not created)


# --- missions (docs/decisions/0015) ------------------------------------------------------------------------------


def _mission_lock(player_ids: Iterable[int]) -> None:
    """Serialize, per player, the two writes that may complete the visit mission (a visit, the offer's write), for the
    rest of the caller's transaction: whichever commits second sees the other and pays. Ascending order: no deadlock.
    SQLite serializes every write transaction already."""
    ids = sorted(set(player_ids))
    if connection.vendor != "postgresql" or not ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('visit-mission:' || id, 0)) FROM unnest(%s::bigint[]) AS id",
            [ids],
        )


def visit_mission_offers_record(*, offers: Iterable[tuple[int, dt.datetime]]) -> int:
    """``VISIT_CORPORATE_SITE`` proposals served, as ``(player, when)`` (the recommender's impressions, written in
    bulk): each player's first offer of a business day is stored, and a visit of that day at or after it that came
    first (its webhook found no offer yet) is paid now. One transaction; returns how many missions it paid."""
    first: dict[tuple[int, dt.date], dt.datetime] = {}
    for player_id, at in offers:
        key = (player_id, business_today(at))
        if key not in first or at < first[key]:
            first[key] = at
    if not first:
        return 0
    paid = 0
    with transaction.atomic():
        VisitMissionOffer.objects.bulk_create(
            [VisitMissionOffer(user_id=p, day=d, offered_at=at) for (p, d), at in sorted(first.items())],
            ignore_conflicts=True,
        )
        players = {p for p, _ in first}
        _mission_lock(players)
        unpaid = list(
            VisitMissionOffer.objects.filter(
                user_id__in=players, day__in={d for _, d in first}, paid_entry_id__isnull=True
            )
        )
        if not unpaid:
            return 0
        visits: dict[int, list[dt.datetime]] = {}
        for player_id, at in SiteVisit.objects.filter(
            user_id__in={o.user_id for o in unpaid}, visit_timestamp__gte=min(o.offered_at for o in unpaid)
        ).values_list("user_id", "visit_timestamp"):
            visits.setdefault(player_id, []).append(at)
        for offer in sorted(unpaid, key=lambda o: o.user_id):
            if any(at >= offer.offered_at and business_today(at) == offer.day for at in visits.get(offer.user_id, ())):
                paid += _visit_offer_pay(offer)
    return paid


def _visit_mission_pay(*, player_id: int, visit_timestamp: dt.datetime) -> None:
    """The visit mission, in the caller's transaction (a new visit): paid for the visit's business day when the
    proposal was served to the player that day before the visit and its offer is written; once a day (the mission's
    key), whatever other visits come. An offer written after this commits pays on its own write."""
    _mission_lock([player_id])
    day = business_today(visit_timestamp)
    offer = VisitMissionOffer.objects.filter(
        user_id=player_id, day=day, offered_at__lte=visit_timestamp, paid_entry_id__isnull=True
    ).first()
    if offer is not None:
        _visit_offer_pay(offer)


def _visit_offer_pay(offer: VisitMissionOffer) -> int:
    payment = mission_pay(player_id=offer.user_id, mission=VISIT_CORPORATE_SITE, period=offer.day.isoformat())
    if payment is None:
        return 0
    VisitMissionOffer.objects.filter(id=offer.id).update(paid_entry_id=payment.entry_id)
    return 1


def corporate_quiz_completed(
    *, webhook_id: str, player_id: int, quiz_id: str, completed_at: dt.datetime
) -> WebhookOutcome:
    """Company A's quiz completed (``quiz.completed``): a ``site_quiz_completions`` row, once per webhook id, and the
    ``COMPLETE_CORPORATE_QUIZ`` mission for the completion's business month (``wallet.missions.mission_pay``), in one
    transaction. A redelivery, or a concurrent delivery of the same event, is a duplicate and pays nothing; another
    completion in a month already paid is recorded and pays nothing."""
    _check_webhook_id(webhook_id)
    with transaction.atomic():
        player_ensure_many(first_seen={player_id: completed_at})
        completion, created = SiteQuizCompletion.objects.get_or_create(
            webhook_id=webhook_id,
            defaults={"user_id": player_id, "quiz_id": quiz_id, "completed_at": completed_at},
        )
        if not created:
            return WebhookOutcome(webhook_id, duplicate=True)
        month = business_today(completed_at).strftime("%Y-%m")
        payment = mission_pay(player_id=player_id, mission=COMPLETE_CORPORATE_QUIZ, period=month)
        if payment is not None:
            SiteQuizCompletion.objects.filter(id=completion.id).update(
                reward_tokens=payment.tokens, reward_entry_id=payment.entry_id
            )
    return WebhookOutcome(webhook_id, duplicate=False)


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
