"""Writing and sending notifications.

``notification_create`` records the message and decides, once, whether it may go out (protection,
frequency cap, quiet hours); after commit the dispatcher task sends it. Nothing is sent for a
transaction that rolls back.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.metrics import PUSHES_SUPPRESSED
from core.sql import insert_fields, param, placeholder
from notifications.models import Notification
from notifications.policy import local_day_start, parse_quiet_hours, quiet_hours_end
from notifications.transports import TransportError, get_transport
from players.selectors import harm_marker_names, live_harm_signals, pause_reason
from players.services import player_get_or_create, player_lock

if TYPE_CHECKING:
    from players.models import Player

logger = logging.getLogger(__name__)
Kind = Notification.Kind
Status = Notification.Status

# The wire order of fixed payloads (PostgreSQL's jsonb does not keep key order): the spec's object, exactly.
PAYLOAD_KEY_ORDER: dict[str, tuple[str, ...]] = {
    "NEW_TOKEN_ARRIVAL": ("type", "user_id", "earned_tokens", "message"),
}


def payload_for_wire(type: str, payload: dict[str, Any]) -> dict[str, Any]:
    order = PAYLOAD_KEY_ORDER.get(type)
    if order is None:
        return payload
    return {**{k: payload[k] for k in order if k in payload}, **{k: v for k, v in payload.items() if k not in order}}


# Transactional types whose text also invites play: not sent during cool-off or self-exclusion.
PLAY_INVITING_TYPES = frozenset({"NEW_TOKEN_ARRIVAL"})


def _protected(player: Player, now: dt.datetime, *, marketing: bool) -> str | None:
    """Why the push must not go out to this player now, or None. A cool-off or self-exclusion stops marketing and
    play-inviting pushes; a nightly harm marker or a live harm signal (``players.live_harm``) stops marketing too."""
    paused = pause_reason(player, now)
    if paused:
        return paused
    if marketing:
        if harm_marker_names(player_id=player.id):
            return "harm_marker"
        if live_harm_signals(player_id=player.id, now=now, tz=player.tzinfo):
            return "live_harm_signal"
    return None


def _over_cap(player: Player, now: dt.datetime) -> bool:
    sent_today = Notification.objects.filter(
        user_id=player.id,
        kind=Kind.MARKETING,
        created_at__gte=local_day_start(now, player.tzinfo),
        status__in=[Status.PENDING, Status.SENT],
    ).count()
    return sent_today >= settings.MARKETING_PUSH_DAILY_CAP


def _schedule_dispatch(notification: Notification) -> None:
    from notifications.tasks import dispatch_notification

    if settings.CELERY_TASK_ALWAYS_EAGER:
        # No broker: the task would run here and now anyway; skip Celery's eager machinery around it.
        # With a hold, `dispatch_due_notifications` (beat, every minute) sends it when due.
        if notification.send_after is None:
            _send_just_committed(notification)
    elif notification.send_after is not None:
        dispatch_notification.apply_async((notification.id,), eta=notification.send_after)
    else:
        dispatch_notification.delay(notification.id)


_INSERT_FIELDS = insert_fields(Notification)


@functools.cache
def _insert_sql(*, skip_taken_dedupe_key: bool) -> str:
    """PostgreSQL's INSERT of a notification, built once: every column, values bound, the new id returned."""
    conflict = " ON CONFLICT (dedupe_key) DO NOTHING" if skip_taken_dedupe_key else ""
    return (
        f"INSERT INTO notifications ({', '.join(f.column for f in _INSERT_FIELDS)}) "  # noqa: S608 (names from code, values bound)
        f"VALUES ({', '.join(placeholder(f) for f in _INSERT_FIELDS)}){conflict} RETURNING id"
    )


def _insert(notification: Notification) -> Notification | None:
    """Write the row; None when ``dedupe_key`` is already taken. PostgreSQL: one statement (ON CONFLICT DO
    NOTHING, no savepoint); elsewhere the ORM's insert in a savepoint."""
    if connection.vendor != "postgresql":
        try:
            with transaction.atomic(savepoint=notification.dedupe_key is not None):
                notification.save(force_insert=True)
        except IntegrityError:
            if notification.dedupe_key is None:
                raise
            return None
        return notification
    sql = _insert_sql(skip_taken_dedupe_key=notification.dedupe_key is not None)
    with connection.cursor() as cursor:
        cursor.execute(sql, [param(f, getattr(notification, f.attname)) for f in _INSERT_FIELDS])
        row = cursor.fetchone()
    if row is None:
        return None
    notification.id = row[0]
    notification._state.adding, notification._state.db = False, connection.alias
    return notification


def notification_create(
    *,
    player_id: int,
    type: str,
    kind: str,
    message: str,
    payload: dict[str, Any],
    dedupe_key: str | None = None,
    now: dt.datetime | None = None,
    player: Player | None = None,
) -> Notification:
    """Record a notification as the rules decide it, once (protection, frequency cap, quiet hours), and after commit
    dispatch it unless a rule holds or suppresses it.

    Runs in the caller's transaction: a marketing one locks the player's row, so concurrent ones cannot both pass
    the daily cap. ``player`` may be passed when the caller has it (with its protection loaded) to save the reads.
    A ``dedupe_key`` already used gives back that notification; nothing new is stored or sent.
    """
    now = now or timezone.now()
    # No savepoint of its own inside a caller's transaction: a failure here fails the caller's transaction.
    with transaction.atomic(savepoint=False):
        if kind == Kind.MARKETING:
            player = player_lock(player_id=player_id)
        elif player is None or player.id != player_id:
            player = player_get_or_create(player_id=player_id)
        status, reason, send_after = Status.PENDING, "", None
        marketing = kind == Kind.MARKETING
        blocked = _protected(player, now, marketing=marketing) if (marketing or type in PLAY_INVITING_TYPES) else None
        if blocked:
            status, reason = Status.SUPPRESSED, blocked
        elif kind == Kind.MARKETING:
            if _over_cap(player, now):
                status, reason = Status.SUPPRESSED, "frequency_cap"
            else:
                send_after = quiet_hours_end(now, player.tzinfo, parse_quiet_hours(settings.QUIET_HOURS))
                reason = "quiet_hours" if send_after else ""
        notification = _insert(
            Notification(
                user_id=player_id,
                type=type,
                kind=kind,
                message=message,
                payload=payload,
                status=status,
                status_reason=reason,
                created_at=now,
                send_after=send_after,
                dedupe_key=dedupe_key,
            )
        )
        if notification is None:
            return Notification.objects.get(dedupe_key=dedupe_key)
        if notification.status == Status.SUPPRESSED:
            transaction.on_commit(lambda: PUSHES_SUPPRESSED.labels(kind, reason).inc())
        if notification.status == Status.PENDING:
            # robust: the record is committed either way; a push that cannot be handed over now (broker down, bad
            # configuration) stays pending for ``notifications_dispatch_due`` instead of failing the caller.
            transaction.on_commit(lambda: _schedule_dispatch(notification), robust=True)
    return notification


def _lock_for_send(notification_id: int) -> Notification | None:
    """The row to send, locked, with its player and their protection."""
    return (
        Notification.objects.select_for_update(of=("self",))
        .select_related("user", "user__protection")
        .filter(id=notification_id)
        .first()
    )


def _record(n: Notification, **changes: Any) -> None:
    """Set ``changes`` on the row and on ``n`` (one UPDATE)."""
    for name, value in changes.items():
        setattr(n, name, value)
    Notification.objects.filter(id=n.id).update(**changes)


def notification_send(*, notification_id: int, now: dt.datetime | None = None) -> str:
    """Send one pending notification (idempotent: anything not pending is left alone). Returns its status.

    Each attempt is committed with its count and error before anything is raised. Raises TransportError when
    sending failed and another attempt should follow; after NOTIFICATIONS_MAX_ATTEMPTS the row is failed.
    """
    now = now or timezone.now()
    failure: TransportError | None = None
    with transaction.atomic():
        n = _lock_for_send(notification_id)  # held while sending: a second sender waits, then finds it sent
        if n is None or n.status != Status.PENDING:
            return n.status if n else "missing"
        if n.send_after is not None and n.send_after > now:
            return "held"
        if n.kind == Kind.MARKETING or n.type in PLAY_INVITING_TYPES:
            blocked = _protected(n.user, now, marketing=n.kind == Kind.MARKETING)  # the player may be protected since
            if blocked:
                _record(n, status=Status.SUPPRESSED, status_reason=blocked)
                transaction.on_commit(lambda: PUSHES_SUPPRESSED.labels(n.kind, blocked).inc())
                return n.status
        attempts = n.attempts + 1
        try:
            get_transport().send(notification_id=n.id, payload=payload_for_wire(n.type, n.payload))
        except TransportError as exc:
            failure = exc
            _record(
                n,
                attempts=attempts,
                last_error=str(exc)[:2000],
                status=Status.FAILED if attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS else n.status,
            )
        else:
            _record(n, status=Status.SENT, is_sent=True, sent_at=now, attempts=attempts, last_error="")
            return n.status
    # Raised only now, outside the transaction: raising inside it would roll back the recorded attempt.
    if n.status == Status.FAILED:
        logger.error("notification %s failed after %d attempts: %s", n.id, n.attempts, failure)
        return n.status
    assert failure is not None
    raise failure


def notification_deliver(*, notification_id: int) -> str:
    """Send now, attempt after attempt, until sent, failed for good or not pending (the task's body when
    there is no broker and nothing could run later)."""
    while True:
        try:
            return notification_send(notification_id=notification_id)
        except TransportError:
            continue


def _send_just_committed(n: Notification) -> str:
    """First attempt at a notification this process created a moment ago, right after its commit (no broker).

    Nothing else sends it meanwhile: the periodic dispatcher takes only rows held past their time or left
    pending for minutes. So there is no lock and no re-read here, and the rules were checked when the row was
    written, in the same request. The outcome is one UPDATE of a row still pending and never attempted; after a
    transport error the locked path takes over the retries.
    """
    first_attempt = Notification.objects.filter(id=n.id, status=Status.PENDING, attempts=0)
    try:
        get_transport().send(notification_id=n.id, payload=payload_for_wire(n.type, n.payload))
    except TransportError as exc:
        status = Status.FAILED if settings.NOTIFICATIONS_MAX_ATTEMPTS <= 1 else Status.PENDING
        first_attempt.update(status=status, attempts=1, last_error=str(exc)[:2000])
        return notification_deliver(notification_id=n.id)
    first_attempt.update(status=Status.SENT, is_sent=True, sent_at=timezone.now(), attempts=1, last_error="")
    return Status.SENT


def notifications_dispatch_due(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Send held notifications whose time has come (and any a lost task left pending)."""
    from notifications.tasks import dispatch_notification

    now = now or timezone.now()
    ids = list(
        Notification.objects.filter(status=Status.PENDING, send_after__lte=now).values_list("id", flat=True)[:limit]
    )
    stale = now - dt.timedelta(minutes=10)
    ids += list(
        Notification.objects.filter(status=Status.PENDING, send_after__isnull=True, created_at__lt=stale).values_list(
            "id", flat=True
        )[:limit]
    )
    for notification_id in ids:
        dispatch_notification.delay(notification_id)
    return len(ids)
