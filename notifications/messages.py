"""Message texts by key and locale: defaults here, operator overrides in ``MessageTemplate`` (admin).

Texts state facts only (design brief section 6): balances, counts, thresholds; never odds.
"""

from __future__ import annotations

import string
from typing import Any

from django.core.cache import cache

from notifications.models import MessageTemplate

DEFAULTS: dict[str, dict[str, str]] = {
    "NEW_TOKEN_ARRIVAL": {
        "ko": "A 업체에서 {earned_tokens} 사이버 토큰을 획득했습니다! 바로 게임에서 사용해보세요.",
        "en": "You have acquired {earned_tokens} cyber tokens from Company A! Use them in the game now.",
    },
}
FALLBACK_LOCALE = "ko"
_CACHE_SECONDS = 60


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _text(key: str, locale: str) -> str:
    cache_key = f"msgtpl:{key}:{locale}"
    text = cache.get(cache_key)
    if text is None:
        override = MessageTemplate.objects.filter(key=key, locale=locale).values_list("text", flat=True).first()
        text = override or DEFAULTS[key].get(locale) or DEFAULTS[key][FALLBACK_LOCALE]
        cache.set(cache_key, text, _CACHE_SECONDS)
    return str(text)


def message_render(key: str, locale: str, **params: Any) -> str:
    """The message ``key`` in ``locale`` (falling back to Korean) with the player's real numbers."""
    return _text(key, locale if locale in ("ko", "en") else FALLBACK_LOCALE).format(**params)


def message_templates_invalidate(key: str) -> None:
    for locale in ("ko", "en"):
        cache.delete(f"msgtpl:{key}:{locale}")
