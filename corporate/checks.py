"""Company A's secret, checked before the service starts (issue 13, item 1; ``core.checks`` runs the tag).

Everywhere: each of ``CORPORATE_WEBHOOK_SECRET``'s secrets must be ``whsec_<base64>`` of at least
``WEBHOOK_SECRET_MIN_BYTES`` (a malformed one would otherwise fail on the first delivery, as a 500). Under production
settings also: at least one, and none of the development defaults.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core import checks

from core.checks import TAG, development_secrets, error, is_production
from corporate.signing import secret_bytes

WEBHOOK_SECRET_MIN_BYTES = 24  # Standard Webhooks: 24 to 64 random bytes


def webhook_secret_problem(secret: str) -> str | None:
    """Why ``secret`` is not a usable Company A secret, or None."""
    if not secret.startswith("whsec_"):
        return "is not whsec_<base64>"
    try:
        key = secret_bytes(secret)
    except ValueError:
        return "is not whsec_<base64>"
    if len(key) < WEBHOOK_SECRET_MIN_BYTES:
        return f"decodes to {len(key)} bytes, fewer than {WEBHOOK_SECRET_MIN_BYTES}"
    return None


@checks.register(TAG, checks.Tags.security)
def check_webhook_secrets(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    secrets = [str(s) for s in getattr(settings, "CORPORATE_WEBHOOK_SECRETS", []) or []]
    errors: list[checks.CheckMessage] = []
    for index, secret in enumerate(secrets):
        name = f"CORPORATE_WEBHOOK_SECRET (secret {index + 1} of {len(secrets)})"
        problem = webhook_secret_problem(secret)
        if problem is not None:
            errors.append(
                error(
                    20,
                    f"{name} {problem}.",
                    f"Use Company A's secret: whsec_ and the base64 of {WEBHOOK_SECRET_MIN_BYTES} to 64 random bytes.",
                )
            )
        elif is_production() and secret in development_secrets():
            errors.append(error(22, f"{name} is a development default.", "Set the secret Company A signs with."))
    if is_production() and not secrets:
        errors.append(error(21, "CORPORATE_WEBHOOK_SECRET is missing.", "Set CORPORATE_WEBHOOK_SECRET (whsec_...)."))
    return errors
