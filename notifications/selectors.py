from __future__ import annotations

import datetime as dt

from django.db.models import Min
from django.db.models.functions import Coalesce
from django.utils import timezone

from notifications.models import Notification


def notifications_for_player(*, player_id: int, limit: int = 50) -> list[Notification]:
    """The player's notifications, newest first (suppressed ones included: the app may show them in-app)."""
    return list(Notification.objects.filter(user_id=player_id).order_by("-created_at", "-id")[:limit])


def backlog_age_seconds(*, now: dt.datetime | None = None) -> float:
    """Seconds the oldest pending notification has waited since it fell due (its ``send_after``, else its creation);
    0 when none waits. The ``tokenloop_notification_backlog_age_seconds`` gauge (read at each scrape of /metrics)."""
    now = now or timezone.now()
    due = Coalesce("send_after", "created_at")
    oldest = (
        Notification.objects.filter(status=Notification.Status.PENDING)
        .annotate(due=due)
        .filter(due__lte=now)
        .aggregate(oldest=Min("due"))["oldest"]
    )
    return max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0


def backlog_age_metric_set() -> None:
    from core.metrics import NOTIFICATION_BACKLOG_AGE

    NOTIFICATION_BACKLOG_AGE.set(backlog_age_seconds())
