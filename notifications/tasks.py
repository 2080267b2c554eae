from __future__ import annotations

from celery import shared_task

from notifications import services
from notifications.transports import TransportError


@shared_task(
    name="notifications.tasks.dispatch_notification",
    autoretry_for=(TransportError,),
    retry_backoff=2,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=None,  # the service stops after NOTIFICATIONS_MAX_ATTEMPTS and marks the row failed
)
def dispatch_notification(notification_id: int) -> str:
    return services.notification_send(notification_id=notification_id)


@shared_task(name="notifications.tasks.dispatch_due")
def dispatch_due() -> int:
    return services.notifications_dispatch_due()
