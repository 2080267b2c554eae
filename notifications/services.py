"""Writing and sending notifications.

``notification_create`` records the message and decides, once, whether it may go out (protection,
frequency cap, quiet hours); after commit the dispatcher task sends it. Nothing is sent for a
transaction that rolls back.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from notifications.models import Notification
from notifications.policy import local_day_start, parse_quiet_hours, quiet_hours_end
from notifications.transports import TransportError, get_transport
from players.models import Player
from players.selectors import protection_of

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


def _protected(player: Player, now: dt.datetime) -> str | None:
    protection = protection_of(player)
    if protection is None:
        return None
    if protection.is_self_excluded(now):
        return "self_excluded"
    if protection.is_cooling_off(now):
        return "cooling_off"
    return None


def _over_cap(player: Player, now: dt.datetime) -> bool:
    sent_today = Notification.objects.filter(
        user_id=player.id, kind=Kind.MARKETING, created_at__gte=local_day_start(now, player.tzinfo),
        status__in=[Status.PENDING, Status.SENT],
    ).count()
    return sent_today >= settings.MARKETING_PUSH_DAILY_CAP


def _schedule_dispatch(notification_id: int, send_after: dt.datetime | None) -> None:
    from notifications.tasks import dispatch_notification

    if send_after is not None and not settings.CELERY_TASK_ALWAYS_EAGER:
        dispatch_notification.apply_async((notification_id,), eta=send_after)
    elif send_after is None:
        dispatch_notification.delay(notification_id)
    # Embedded default with a hold: `dispatch_due_notifications` (beat, every minute) sends it when due.


def notification_create(
    *, user_id: int, type: str, kind: str, message: str, payload: dict[str, Any],
    dedupe_key: str | None = None, now: dt.datetime | None = None, player: Player | None = None,
) -> Notification:
    """Record a notification and, after commit, dispatch it unless a rule holds or suppresses it.

    ``player`` may be passed when the caller has it (with its protection loaded) to save the reads.
    """
    now = now or timezone.now()
    with transaction.atomic():
        if player is None or player.id != user_id:
            player, _ = Player.objects.get_or_create(id=user_id)
        if kind == Kind.MARKETING:
            # Marketing sends to one player queue here, so concurrent ones cannot both pass the daily cap.
            player = Player.objects.select_for_update().get(id=user_id)
        status, reason, send_after = Status.PENDING, "", None
        blocked = _protected(player, now) if (kind == Kind.MARKETING or type in PLAY_INVITING_TYPES) else None
        if blocked:
            status, reason = Status.SUPPRESSED, blocked
        elif kind == Kind.MARKETING:
            if _over_cap(player, now):
                status, reason = Status.SUPPRESSED, "frequency_cap"
            else:
                send_after = quiet_hours_end(now, player.tzinfo, parse_quiet_hours(settings.QUIET_HOURS))
                reason = "quiet_hours" if send_after else ""
        fields = {"user_id": user_id, "type": type, "kind": kind, "message": message, "payload": payload,
                  "status": status, "status_reason": reason, "created_at": now, "send_after": send_after,
                  "dedupe_key": dedupe_key}
        try:
            # A savepoint only where a duplicate can happen, so it can be answered instead of failing.
            with transaction.atomic(savepoint=dedupe_key is not None):
                notification = Notification.objects.create(**fields)
        except IntegrityError:
            if dedupe_key is None:
                raise
            return Notification.objects.get(dedupe_key=dedupe_key)
        if status == Status.PENDING:
            # robust: the record is committed either way; a push that cannot be handed over now (broker down,
            # bad configuration) stays pending for `notifications_dispatch_due` instead of failing the caller.
            transaction.on_commit(lambda: _schedule_dispatch(notification.id, send_after), robust=True)
    return notification


def notification_send(*, notification_id: int, now: dt.datetime | None = None) -> str:
    """Send one pending notification (idempotent: anything not pending is left alone). Returns its status.

    Each attempt is committed with its count and error before anything is raised. Raises TransportError when
    sending failed and another attempt should follow; after NOTIFICATIONS_MAX_ATTEMPTS the row is failed.
    """
    now = now or timezone.now()
    failure: TransportError | None = None
    with transaction.atomic():
        _relax_commit_durability()
        n = Notification.objects.select_for_update(of=("self",)).select_related(
            "user", "user__protection").filter(id=notification_id).first()
        if n is None or n.status != Status.PENDING:
            return n.status if n else "missing"
        if n.send_after is not None and n.send_after > now:
            return "held"
        if n.kind == Kind.MARKETING or n.type in PLAY_INVITING_TYPES:
            blocked = _protected(n.user, now)  # the player may have started a cool-off since
            if blocked:
                n.status, n.status_reason = Status.SUPPRESSED, blocked
                n.save(update_fields=["status", "status_reason"])
                return n.status
        n.attempts += 1
        try:
            get_transport().send(notification_id=n.id, payload=payload_for_wire(n.type, n.payload))
        except TransportError as exc:
            failure = exc
            n.last_error = str(exc)[:2000]
            if n.attempts >= settings.NOTIFICATIONS_MAX_ATTEMPTS:
                n.status = Status.FAILED
            n.save(update_fields=["attempts", "last_error", "status"])
        else:
            n.status, n.is_sent, n.sent_at, n.last_error = Status.SENT, True, now, ""
            n.save(update_fields=["status", "is_sent", "sent_at", "attempts", "last_error"])
            return n.status
    # Raised only now, outside the transaction: raising inside it would roll back the recorded attempt.
    if n.status == Status.FAILED:
        logger.error("notification %s failed after %d attempts: %s", n.id, n.attempts, failure)
        return n.status
    assert failure is not None
    raise failure


def _relax_commit_durability() -> None:
    """A delivery record may be lost in a crash (the push is at-least-once and carries an idempotency
    key), so its commit need not wait for the WAL flush (PostgreSQL ``synchronous_commit``)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


def notifications_dispatch_due(*, now: dt.datetime | None = None, limit: int = 1000) -> int:
    """Send held notifications whose time has come (and any a lost task left pending)."""
    from notifications.tasks import dispatch_notification

    now = now or timezone.now()
    ids = list(
        Notification.objects.filter(status=Status.PENDING, send_after__lte=now).values_list("id", flat=True)[:limit]
    )
    stale = now - dt.timedelta(minutes=10)
    ids += list(Notification.objects.filter(status=Status.PENDING, send_after__isnull=True, created_at__lt=stale)
                .values_list("id", flat=True)[:limit])
    for notification_id in ids:
        dispatch_notification.delay(notification_id)
    return len(ids)
