"""Write-behind for the record of pushes sent in the request, right after their commit.

A push the request itself sent (no broker) is recorded as sent by one UPDATE per batch instead of one per
push (``core.writebehind``: every NOTIFICATIONS_RECORD_DELAY_SECONDS, or at 500, and at exit). A process
that dies loses at most that window of records: those rows stay pending, and the periodic dispatcher sends
them again after ten minutes (pushes are at-least-once and carry an idempotency key). With a delay of 0
each record is written at once. docs/decisions/0010.
"""

from __future__ import annotations

import datetime as dt
import threading

from django.conf import settings
from django.db import connection

from core.writebehind import WriteBehind

# Commits without waiting for the disk, like every delivery record (see services._LOCK_FOR_SEND_SQL).
_RECORD_SENT_SQL = (
    "WITH c AS (SELECT set_config('synchronous_commit', 'off', true)) "
    "UPDATE notifications n SET status = 'sent', is_sent = true, sent_at = v.sent_at, attempts = 1, "
    "last_error = '' FROM c, unnest(%s::bigint[], %s::timestamptz[]) AS v(id, sent_at) "
    "WHERE n.id = v.id AND n.status = 'pending' AND n.attempts = 0"
)


def record_sent(items: list[tuple[int, dt.datetime]]) -> int:
    """Mark these first attempts sent, in one statement; rows no longer pending are left alone."""
    if not items:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_RECORD_SENT_SQL, [[i for i, _ in items], [t for _, t in items]])
            return int(cursor.rowcount)
    from notifications.models import Notification

    return sum(
        Notification.objects.filter(id=i, status=Notification.Status.PENDING, attempts=0).update(
            status=Notification.Status.SENT, is_sent=True, sent_at=t, attempts=1, last_error=""
        )
        for i, t in items
    )


_recorder: WriteBehind[tuple[int, dt.datetime]] | None = None
_recorder_lock = threading.Lock()


def sent_recorder() -> WriteBehind[tuple[int, dt.datetime]]:
    """This process's recorder, configured from settings on first use."""
    global _recorder
    if _recorder is None:
        with _recorder_lock:
            if _recorder is None:
                _recorder = WriteBehind(
                    record_sent, name="notifications-sent", max_age=settings.NOTIFICATIONS_RECORD_DELAY_SECONDS
                )
    return _recorder
