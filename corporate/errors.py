"""Why Company A's webhook refuses a delivery after its signature verified (each a 4xx with a clear message)."""

from __future__ import annotations

from core.exceptions import DomainError


class WebhookIdReused(DomainError):
    """The webhook-id was applied already to a different event (another type, or other data): refused, and nothing of
    it applied. Company A must resend an event under its id unchanged (Standard Webhooks)."""

    status_code = 409
    code = "webhook_id_reused"
