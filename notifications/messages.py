"""Message texts by key and locale: defaults here, operator overrides in ``MessageTemplate`` (admin).

Texts state facts only (design brief section 6): balances, counts, thresholds; never odds.
"""

from __future__ import annotations

import logging
import string
import time
from typing import Any

from django.core.cache import cache

from notifications.models import MessageTemplate

DEFAULTS: dict[str, dict[str, str]] = {
    "NEW_TOKEN_ARRIVAL": {
        "ko": "A 업체에서 {earned_tokens} 사이버 토큰을 획득했습니다! 바로 게임에서 사용해보세요.",
        "en": "You have acquired {earned_tokens} cyber tokens from Company A! Use them in the game now.",
    },
    # An RFM upgrade reward (segments.services.segment_reward_pay): the group reached and the tokens granted.
    "SEGMENT_UPGRADE": {
        "ko": "등급이 {group}(으)로 올랐습니다. 보상으로 {reward_tokens} 사이버 토큰이 지급되었습니다.",
        "en": "Your tier is now {group}: {reward_tokens} cyber tokens have been added to your balance.",
    },
}
FALLBACK_LOCALE = "ko"
LOCALES = ("ko", "en")
_CACHE_SECONDS = 60
# Each process also keeps a text it read for a few seconds, so a push's hot path does not ask the shared
# cache every time; an operator's edit reaches every process within this many seconds.
LOCAL_SECONDS = 5.0
_local: dict[tuple[str, str], tuple[float, str]] = {}

logger = logging.getLogger(__name__)


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _text(key: str, locale: str) -> str:
    now = time.monotonic()
    kept = _local.get((key, locale))
    if kept is not None and now - kept[0] < LOCAL_SECONDS:
        return kept[1]
    text = _shared_text(key, locale)
    _local[(key, locale)] = (now, text)
    return text


def _shared_text(key: str, locale: str) -> str:
    cache_key = f"msgtpl:{key}:{locale}"
    text = cache.get(cache_key)
    if text is None:
        override = MessageTemplate.objects.filter(key=key, locale=locale).values_list("text", flat=True).first()
        text = override or _default(key, locale)
        cache.set(cache_key, text, _CACHE_SECONDS)
    return str(text)


def _default(key: str, locale: str) -> str:
    return DEFAULTS[key].get(locale) or DEFAULTS[key][FALLBACK_LOCALE]


def template_problem(key: str, text: str) -> str | None:
    """Why ``text`` cannot stand in for message ``key`` (a placeholder it does not have, a stray brace), or None."""
    allowed = placeholders(_default(key, FALLBACK_LOCALE))
    sample = dict.fromkeys(allowed, 1)
    try:
        text.format(**sample)
    except (KeyError, IndexError, AttributeError) as exc:
        return (
            f"Unknown placeholder {exc}: this message can use "
            f"{', '.join('{' + name + '}' for name in sorted(allowed)) or 'none'}."
        )
    except (ValueError, TypeError) as exc:
        return f"Not a valid template: {exc} (write a literal brace as {{{{ or }}}})."
    return None


def message_render(key: str, locale: str, **params: Any) -> str:
    """The message ``key`` in ``locale`` (falling back to Korean) with the player's real numbers.

    An operator's text that cannot be rendered (saved around the admin's check) gives way to the default
    text, so a typo never stops the message (or the Company A grant that sends it).
    """
    locale = locale if locale in LOCALES else FALLBACK_LOCALE
    text = _text(key, locale)
    try:
        return text.format(**params)
    except (KeyError, IndexError, AttributeError, ValueError, TypeError):
        logger.exception("message template %s [%s] cannot be rendered; using the default text", key, locale)
        return _default(key, locale).format(**params)


def message_templates_invalidate(key: str) -> None:
    for locale in LOCALES:
        cache.delete(f"msgtpl:{key}:{locale}")
        _local.pop((key, locale), None)
