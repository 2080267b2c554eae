"""Where pushes go, chosen by NOTIFICATIONS_TRANSPORT: ``log`` (embedded default) or ``webhook``
(POST the payload as JSON to NOTIFICATIONS_WEBHOOK_URL, e.g. the push provider's gateway)."""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from typing import Any, Protocol

import orjson
from django.conf import settings

logger = logging.getLogger("notifications.push")


class TransportError(Exception):
    """Sending failed; the dispatcher retries with backoff."""


class Transport(Protocol):
    def send(self, *, notification_id: int, payload: dict[str, Any]) -> None: ...


class LogTransport:
    def send(self, *, notification_id: int, payload: dict[str, Any]) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("push %s %s", notification_id, orjson.dumps(payload).decode())


class WebhookTransport:
    def __init__(self, url: str, timeout: float) -> None:
        self.url = url
        self.timeout = timeout

    def send(self, *, notification_id: int, payload: dict[str, Any]) -> None:
        request = urllib.request.Request(  # noqa: S310 - the operator configures an http(s) URL
            self.url,
            data=orjson.dumps(payload),
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": f"notification-{notification_id}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                if not 200 <= response.status < 300:
                    raise TransportError(f"push gateway answered {response.status}")
        except urllib.error.HTTPError as exc:
            raise TransportError(f"push gateway answered {exc.code}") from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TransportError(f"push gateway unreachable: {exc}") from exc


def get_transport() -> Transport:
    name = settings.NOTIFICATIONS_TRANSPORT
    if name == "webhook":
        return WebhookTransport(settings.NOTIFICATIONS_WEBHOOK_URL, settings.NOTIFICATIONS_WEBHOOK_TIMEOUT)
    if name == "log":
        return LogTransport()
    raise ValueError(f"Unknown NOTIFICATIONS_TRANSPORT {name!r}: use 'log' or 'webhook'.")
