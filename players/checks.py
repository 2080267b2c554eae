"""System checks of player protection's settings (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Warning, register


@register("players", deploy=True)
def live_protection_on(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    if settings.LIVE_PROTECTION:
        return []
    return [
        Warning(
            "LIVE_PROTECTION is off: no live harm signals, no reality checks.",
            hint="It exists to measure what they cost (bench/protection.py); set LIVE_PROTECTION=true.",
            id="players.W001",
        )
    ]
