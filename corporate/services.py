"""Company A's events (spec 2.2.3 "event trigger"), each applied exactly once by its webhook id; the id reused for a
different event is refused (409), an event of a type we do not handle ignored (docs/decisions/0029)."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import orjson
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef

from activity.selectors import action_id as action_id_of
from activity.services import actions_ingest
from activity.validation import ParsedAction
from core.bulk import bulk_insert
from core.exceptions import InvalidInput
from core.metrics import WEBHOOK_EVENTS_IGNORED, WEBHOOK_ID_CONFLICTS, webhook_ignored_type_label
from corporate.errors import WebhookIdReused
from corporate.models import SiteQuizCompletion, SiteReward, SiteVisit, VisitMissionOffer
from notifications.services import Kind, notification_create
from players.age import business_today
from players.services import player_ensure_many
from texts.catalog import text_render
from texts.registry import FALLBACK_LOCALE
from wallet.errors import IdempotencyKeyReused
from wallet.missions import COMPLETE_CORPORATE_QUIZ, VISIT_CORPORATE_SITE, mission_pay
from wallet.selectors import ledger_entry_by_key
from wallet.services import LedgerResult, Source, wallet_earn

# The id is stored as "corporate:<webhook-id>" in columns of 200 characters (ledger key, notification dedupe key).
WEBHOOK_ID_MAX_LENGTH = 190
NEW_TOKEN_ARRIVAL = "NEW_TOKEN_ARRIVAL"
EARN_SOURCE = Source.CORPORATE
TOKEN_EARNED, SITE_VISIT, QUIZ_COMPLETED = "token.earned", "site.visit", "quiz.completed"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookOutcome:
    webhook_id: str
    duplicate: bool


# --- one event per webhook id (docs/decisions/0029) ----------------------------------------------------------------


def event_fingerprint(event_type: str, **data: Any) -> str:
    """sha256 (hex) of an event as applied: its type and its data's fields, times as UTC text. The same event resent
    with its keys in another order, its times in another offset or a new envelope ``timestamp`` has the same one."""
    utc = {k: _utc_text(v) if isinstance(v, dt.datetime) else v for k, v in data.items()}
    return hashlib.sha256(orjson.dumps({"type": event_type, "data": utc}, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _utc_text(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat()


def _refuse_reused_id(*, webhook_id: str, event_type: str, first_type: str) -> NoReturn:
    """409, logged and counted: the id was applied already to ``first_type``'s event and came with a different
    ``event_type`` one."""
    WEBHOOK_ID_CONFLICTS.labels(event_type).inc()
    logger.warning(
        "Company A webhook-id %r was applied to a %s event and came again with a different %s event: refused (409).",
        webhook_id,
        first_type,
        event_type,
    )
    raise WebhookIdReused(
        "This webhook-id was used already for a different event.",
        fields={"webhook-id": ["Already used with a different body; a redelivery must resend the same event."]},
    )


# Which of corporate's tables hold the id (each has a unique index on it), with the stored fingerprint of a visit or a
# quiz completion (a grant's is in its ledger row, compared by the wallet's own writing statement).
_HOLDERS_SQL = (
    f"SELECT '{TOKEN_EARNED}', NULL FROM site_rewards WHERE webhook_id = %s "  # noqa: S608 (names from code, values bound)
    f"UNION ALL SELECT '{SITE_VISIT}', fingerprint FROM site_visits WHERE webhook_id = %s "
    f"UNION ALL SELECT '{QUIZ_COMPLETED}', fingerprint FROM site_quiz_completions WHERE webhook_id = %s"
)


def _applied_already(*, webhook_id: str, event_type: str, fingerprint: str) -> bool:
    """Whether this id carried this same event already (a redelivery: True) or nothing yet (False); WebhookIdReused
    when it carried another event, of any type. One statement, in place of the bare existence check it replaces."""
    with connection.cursor() as cursor:
        cursor.execute(_HOLDERS_SQL, [webhook_id] * 3)
        held: dict[str, str | None] = dict(cursor.fetchall())
    if not held:
        return False
    if event_type not in held:
        _refuse_reused_id(webhook_id=webhook_id, event_type=event_type, first_type=next(iter(held)))
    stored = held[event_type]
    if stored is None:  # stored before fingerprints were kept: computed from the row (a redelivery of an old event)
        model = SiteVisit if event_type == SITE_VISIT else SiteQuizCompletion
        stored = _fingerprint_of(model._default_manager.get(webhook_id=webhook_id))
    if stored != fingerprint:
        _refuse_reused_id(webhook_id=webhook_id, event_type=event_type, first_type=event_type)
    return True


def _fingerprint_of(row: SiteVisit | SiteQuizCompletion) -> str:
    """A stored event's fingerprint: the one kept with it, or, for a row stored before they were, computed from it."""
    if row.fingerprint:
        return row.fingerprint
    if isinstance(row, SiteVisit):
        return event_fingerprint(
            SITE_VISIT,
            user_id=row.user_id,
            visit_timestamp=row.visit_timestamp,
            dwell_seconds=row.dwell_seconds,
            actions=row.actions,
        )
    return event_fingerprint(QUIZ_COMPLETED, user_id=row.user_id, quiz_id=row.quiz_id, completed_at=row.completed_at)


_Event = TypeVar("_Event", SiteVisit, SiteQuizCompletion)


def _stored_once(model: type[_Event], *, webhook_id: str, fingerprint: str, **fields: Any) -> tuple[_Event, bool]:
    """The event's row, made now (True) or, when a concurrent delivery of the same id committed it first, that one
    (False) after checking it is the same event (else WebhookIdReused). ``get_or_create`` without its first read:
    ``_applied_already`` made it."""
    try:
        with transaction.atomic():
            return model._default_manager.create(webhook_id=webhook_id, fingerprint=fingerprint, **fields), True
    except IntegrityError:
        existing = model._default_manager.filter(webhook_id=webhook_id).first()
        if existing is None:  # another constraint than the id's
            raise
    if _fingerprint_of(existing) != fingerprint:
        event_type = SITE_VISIT if model is SiteVisit else QUIZ_COMPLETED
        _refuse_reused_id(webhook_id=webhook_id, event_type=event_type, first_type=event_type)
    return existing, False


def corporate_event_ignored(*, webhook_id: str, event_type: str) -> None:
    """An event of a type we do not handle: accepted (so that Company A does not retry it for days), logged and
    counted; nothing is written."""
    WEBHOOK_EVENTS_IGNORED.labels(webhook_ignored_type_label(event_type)).inc()
    logger.info("Company A event of unknown type %r ignored (webhook-id %r).", event_type[:200], webhook_id[:200])


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
    nothing.

    The same id with a different event is a 409 (WebhookIdReused), at no statement of its own: the ledger row's
    request hash covers the whole event (player, tokens, reward type, ``issued_at``; its key ``corporate:<id>`` is
    written by this event type only), and the site_rewards row is written only when no visit or quiz completion
    holds the id (else the grant rolls back)."""
    _check_webhook_id(webhook_id)
    key = f"corporate:{webhook_id}"

    def record(result: LedgerResult) -> None:
        if not _site_reward_insert(
            player_id=player_id,
            reward_type=reward_type,
            earned_tokens=earned_tokens,
            issued_at=issued_at,
            webhook_id=webhook_id,
            action_id=result.entry.action_id,
            ledger_entry_id=result.entry.id,
        ):
            _refuse_reused_id(webhook_id=webhook_id, event_type=TOKEN_EARNED, first_type="site.visit or quiz.completed")
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
            idempotency_key=key,
            # The ledger's request hash is taken over these with the player, tokens and source: the whole event.
            details={"webhook_id": webhook_id, "reward_type": reward_type, "issued_at": _utc_text(issued_at)},
            on_recorded=record,
        )
    except IdempotencyKeyReused:  # the same webhook id with another event (or a grant stored before 0029)
        if _granted_before_issue_times_were_kept(
            key=key, player_id=player_id, earned_tokens=earned_tokens, reward_type=reward_type
        ):
            return WebhookOutcome(webhook_id, duplicate=True)
        _refuse_reused_id(webhook_id=webhook_id, event_type=TOKEN_EARNED, first_type=TOKEN_EARNED)
    # replayed: a redelivery, or a concurrent delivery that committed first
    return WebhookOutcome(webhook_id, duplicate=result.replayed)


# The grant's site_rewards row, written only when neither a visit nor a quiz completion holds the webhook id: the
# check rides in the insert a new grant makes anyway (no statement of its own on the grant's path).
_SITE_REWARD_INSERT = (
    "INSERT INTO site_rewards (user_id, reward_type, reward_value, issued_at, webhook_id, action_id, ledger_entry_id) "
    "SELECT %s, %s, %s, %s, %s, %s, %s WHERE NOT EXISTS (SELECT 1 FROM site_visits WHERE webhook_id = %s) "
    "AND NOT EXISTS (SELECT 1 FROM site_quiz_completions WHERE webhook_id = %s)"
)


def _site_reward_insert(
    *,
    player_id: int,
    reward_type: str,
    earned_tokens: int,
    issued_at: dt.datetime,
    webhook_id: str,
    action_id: int | None,
    ledger_entry_id: int,
) -> bool:
    """Write the grant's site_rewards row; False (nothing written) when the id holds another event type already."""
    issued = connection.ops.adapt_datetimefield_value(issued_at)
    row: list[Any] = [player_id, reward_type, earned_tokens, issued, webhook_id, action_id, ledger_entry_id]
    with connection.cursor() as cursor:
        cursor.execute(_SITE_REWARD_INSERT, [*row, webhook_id, webhook_id])
        return cursor.rowcount == 1


def _granted_before_issue_times_were_kept(*, key: str, player_id: int, earned_tokens: int, reward_type: str) -> bool:
    """Whether the grant under ``key`` was stored before its request hash covered ``issued_at`` (its details have no
    ``issued_at``) for the same player, tokens and reward type: then this is that event redelivered, not another.
    One read, on the refusal's path only."""
    entry = ledger_entry_by_key(idempotency_key=key)
    return (
        entry is not None
        and "issued_at" not in entry.details
        and (entry.player_id, entry.amount, entry.details.get("reward_type")) == (player_id, earned_tokens, reward_type)
    )


def corporate_site_visit(
    *, webhook_id: str, player_id: int, visit_timestamp: dt.datetime, dwell_seconds: int, actions: list[str]
) -> WebhookOutcome:
    """A visit to Company A: a site_visits row and its CORPORATE_VISIT action, once; and, when a
    ``VISIT_CORPORATE_SITE`` proposal was served to the player earlier that business day, the visit mission
    (``_visit_mission_pay``), in the same transaction. The same id with a different event is a 409 (WebhookIdReused):
    the row keeps the event's fingerprint."""
    _check_webhook_id(webhook_id)
    fingerprint = event_fingerprint(
        SITE_VISIT, user_id=player_id, visit_timestamp=visit_timestamp, dwell_seconds=dwell_seconds, actions=actions
    )
    with transaction.atomic():
        if _applied_already(webhook_id=webhook_id, event_type=SITE_VISIT, fingerprint=fingerprint):
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
        _, created = _stored_once(
            SiteVisit,
            webhook_id=webhook_id,
            fingerprint=fingerprint,
            user_id=player_id,
            visit_timestamp=visit_timestamp,
            dwell_seconds=dwell_seconds,
            actions=actions,
            action_id=action_id,
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
        # Only the unpaid offers some visit came at or after (most offers have none yet): one indexed probe of
        # site_visits per offer, instead of loading every offer of these players and days.
        visit_after = SiteVisit.objects.filter(user_id=OuterRef("user_id"), visit_timestamp__gte=OuterRef("offered_at"))
        unpaid = list(
            VisitMissionOffer.objects.filter(
                Exists(visit_after), user_id__in=players, day__in={d for _, d in first}, paid_entry_id__isnull=True
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
    completion in a month already paid is recorded and pays nothing. The same id with a different event is a 409
    (WebhookIdReused): the row keeps the event's fingerprint."""
    _check_webhook_id(webhook_id)
    fingerprint = event_fingerprint(QUIZ_COMPLETED, user_id=player_id, quiz_id=quiz_id, completed_at=completed_at)
    with transaction.atomic():
        if _applied_already(webhook_id=webhook_id, event_type=QUIZ_COMPLETED, fingerprint=fingerprint):
            return WebhookOutcome(webhook_id, duplicate=True)
        player_ensure_many(first_seen={player_id: completed_at})
        completion, created = _stored_once(
            SiteQuizCompletion,
            webhook_id=webhook_id,
            fingerprint=fingerprint,
            user_id=player_id,
            quiz_id=quiz_id,
            completed_at=completed_at,
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
