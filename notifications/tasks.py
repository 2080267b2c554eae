from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval

from notifications import services
from notifications.transports import TransportError

RETRY_BACKOFF_FACTOR = 2
RETRY_BACKOFF_MAX = 600


@shared_task(bind=True, name="notifications.tasks.dispatch_notification", max_retries=None)
def dispatch_notification(self: Any, notification_id: int) -> str:
    """Send one notification. After a transport error the next attempt follows with exponential backoff and
    full jitter; the service counts attempts and marks the row failed after NOTIFICATIONS_MAX_ATTEMPTS.

    Without a broker (eager, the embedded default) nothing could run later, so the attempts follow at once.
    """
    if self.request.is_eager:
        return services.notification_deliver(notification_id=notification_id)
    try:
        return services.notification_send(notification_id=notification_id)
    except TransportError as exc:
        countdown = get_exponential_backoff_interval(
            factor=RETRY_BACKOFF_FACTOR, retries=self.request.retries, maximum=RETRY_BACKOFF_MAX, full_jitter=True
        )
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task(name="notifications.tasks.dispatch_due")
def dispatch_due() -> int:
    return services.notifications_dispatch_due()
