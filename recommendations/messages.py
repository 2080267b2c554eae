"""Recommendation messages: defaults in code (``ko`` = spec 2.3.4's texts, ``en`` = their translation), operator
overrides in ``RecommendationTemplate`` (admin), compiled once for the engine.

Facts only (design brief section 6): each number is the player's real number or a configured reward; no text
claims odds. The spec's own texts are kept except where they broke that rule (docs/decisions/0009):
- HIGH_STAKE and RISKY_PLAY: the invented "빅윈 확률 UP" / "빅윈 확률 15% UP" (and "한 방 노려보세요") are gone;
- EARN_MORE: "300토큰만 더" was a made-up number; it is now the tokens the player lacks to reach the next
  proposal level (200);
- CORPORATE_ENGAGE: "일주일 전" is now the real number of days (and a player who never visited gets a text
  that does not claim a visit); "100토큰" is the configured reward;
- CORPORATE_MISSION: the spec's ``{corporate_token_count}`` was never filled in (not an f-string); it is
  now the player's real count, and "200토큰" the configured reward.
An override may use only its message's placeholders and no odds wording; an override that cannot be used
(written around the admin's check) gives way to the default text.
"""

from __future__ import annotations

import logging
import re
import string
import threading
import time
from collections.abc import Iterable, Mapping

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from recommendations.engine import (
    CORPORATE_ENGAGE,
    CORPORATE_ENGAGE_FIRST,
    CORPORATE_MISSION,
    EARN_MORE,
    HIGH_STAKE,
    LIMIT_SUGGESTION,
    MID_STAKE,
    QUIZ_MISSION,
    RISKY_PLAY,
    SAFE_PLAY,
    Render,
    Templates,
)

logger = logging.getLogger(__name__)

LOCALES = ("ko", "en")
FALLBACK_LOCALE = "ko"

DEFAULTS: dict[str, dict[str, str]] = {
    HIGH_STAKE: {
        "ko": "현재 {token_balance} 토큰 보유 중! 룰렛 한 판에 걸어보세요",
        "en": "You have {token_balance} tokens! Try a round of roulette",
    },
    MID_STAKE: {
        "ko": "토큰이 {token_balance}개 있어요! 슬롯머신으로 안정적인 보상을 노려보세요",
        "en": "You have {token_balance} tokens! Go for steady rewards on the slot machine",
    },
    EARN_MORE: {
        "ko": "토큰 잔고가 {token_balance}개입니다. A 업체에서 {tokens_needed}토큰만 더 모아보세요!",
        "en": "Your token balance is {token_balance}. Collect just {tokens_needed} more tokens at Company A!",
    },
    RISKY_PLAY: {
        "ko": "위험을 즐기시는군요! 프리미엄 룰렛에 도전해보세요",
        "en": "You enjoy taking risks! Take on the premium roulette",
    },
    SAFE_PLAY: {
        "ko": "안정적인 플레이를 원한다면 슬롯머신 소액 베팅으로 꾸준히 리워드를 쌓아보세요",
        "en": "If you prefer steady play, build up rewards bit by bit with small bets on the slot machine",
    },
    CORPORATE_ENGAGE: {
        "ko": "마지막 A 방문이 {days_since_visit}일 전이네요! 지금 로그인만 해도 {reward_tokens}토큰 보상",
        "en": "Your last Company A visit was {days_since_visit} days ago! Just log in now to get {reward_tokens} "
        "tokens",
    },
    CORPORATE_ENGAGE_FIRST: {
        "ko": "아직 A 업체를 방문한 적이 없네요! 지금 로그인만 해도 {reward_tokens}토큰 보상",
        "en": "You have not visited Company A yet! Just log in now to get {reward_tokens} tokens",
    },
    CORPORATE_MISSION: {
        "ko": "이번 달 토큰 획득이 {corporate_token_count}개예요. A 업체에서 퀴즈 풀고 {reward_tokens}토큰 받으세요!",
        "en": "You have earned {corporate_token_count} tokens from Company A this month. Solve a quiz there and get "
        "{reward_tokens} tokens!",
    },
    QUIZ_MISSION: {
        "ko": "퀴즈 참여 시 {reward_tokens} 토큰 보상 + 심층 프로필 업데이트",
        "en": "Take the quiz: {reward_tokens} tokens and an in-depth profile update",
    },
    LIMIT_SUGGESTION: {
        "ko": "최근 플레이 패턴을 점검해보세요. 일일·주간 토큰 사용 한도와 쿨오프를 언제든 설정할 수 있어요",
        "en": "Take a look at your recent play. You can set daily and weekly token spending limits or a cool-off "
        "at any time",
    },
}

# The placeholders each message may use (the engine passes exactly these).
PLACEHOLDERS: dict[str, frozenset[str]] = {
    HIGH_STAKE: frozenset({"token_balance"}),
    MID_STAKE: frozenset({"token_balance"}),
    EARN_MORE: frozenset({"token_balance", "tokens_needed"}),
    RISKY_PLAY: frozenset({"token_balance"}),
    SAFE_PLAY: frozenset({"token_balance"}),
    CORPORATE_ENGAGE: frozenset({"days_since_visit", "reward_tokens"}),
    CORPORATE_ENGAGE_FIRST: frozenset({"reward_tokens"}),
    CORPORATE_MISSION: frozenset({"corporate_token_count", "reward_tokens"}),
    QUIZ_MISSION: frozenset({"reward_tokens"}),
    LIMIT_SUGGESTION: frozenset(),
}

# Wording that claims odds or chances (design brief section 6): refused in any template.
ODDS_WORDING = re.compile(
    r"확률|승률|당첨률|배당률|가능성|빅윈|대박|odds|probab|chance|likel|win rate|winning rate|big win|jackpot|\d\s*%",
    re.IGNORECASE,
)


def template_problem(key: str, text: str) -> str | None:
    """Why ``text`` cannot be message ``key``'s template (unknown key or placeholder, attribute or index access,
    a broken brace, odds wording), or None."""
    if key not in DEFAULTS:
        return f"Unknown message {key!r}; known: {', '.join(sorted(DEFAULTS))}."
    allowed = PLACEHOLDERS[key]
    listed = ", ".join("{" + name + "}" for name in sorted(allowed)) or "none"
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        return f"Not a valid template: {exc} (write a literal brace as {{{{ or }}}})."
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in allowed:
            return f"Unknown placeholder {{{name}}}: this message can use {listed}."
        if conversion is not None or "{" in (spec or ""):
            return f"Placeholder {{{name}}} may only take a format such as {{{name}:,}}."
    try:
        text.format(**dict.fromkeys(allowed, 1234))
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return f"Not a valid template: {exc}."
    match = ODDS_WORDING.search(text)
    if match:
        return f"State facts only: {match.group(0)!r} reads as a claim about odds or chances (design brief section 6)."
    return None


def compile_templates(overrides: Iterable[tuple[str, str, str]], rewards: Mapping[str, int]) -> Templates:
    """The engine's ``Templates`` from the defaults, the usable ``(key, locale, text)`` overrides and the
    mission rewards. An override with a problem is skipped (and logged)."""
    texts = {
        locale: {key: by_locale.get(locale) or by_locale[FALLBACK_LOCALE] for key, by_locale in DEFAULTS.items()}
        for locale in LOCALES
    }
    for key, locale, text in overrides:
        if locale not in texts:
            continue
        problem = template_problem(key, text)
        if problem:
            logger.error("recommendation template %s [%s] ignored: %s", key, locale, problem)
            continue
        texts[locale][key] = text
    by_locale: dict[str, dict[str, Render]] = {
        locale: {key: text.format for key, text in by_key.items()} for locale, by_key in texts.items()
    }
    return Templates(by_locale=by_locale, rewards=dict(rewards), fallback_locale=FALLBACK_LOCALE)


# --- the process's compiled templates: read once, reloaded after a save here or after the TTL elsewhere -----

_lock = threading.Lock()
_cached: tuple[float, Templates] | None = None  # (compiled at, on the monotonic clock; templates)


def templates() -> Templates:
    """The compiled templates with the operator's overrides and the configured rewards.

    Read from the database once per process and kept; a save or delete of an override in this process drops
    them at once (``templates_invalidate``, wired to the model's signals), other processes reload after
    ``RECOMMENDATION_TEMPLATES_TTL_SECONDS``. A change of ``settings.MISSION_REWARDS`` (a test's settings
    override; in production a restart) drops them too.
    """
    global _cached
    cached = _cached
    now = time.monotonic()
    if cached is not None and now - cached[0] < settings.RECOMMENDATION_TEMPLATES_TTL_SECONDS:
        return cached[1]
    from recommendations.missions import mission_rewards
    from recommendations.selectors import template_overrides

    with _lock:
        compiled = compile_templates(template_overrides(), mission_rewards())
        _cached = (now, compiled)
    return compiled


@receiver(setting_changed)
def _setting_changed(*, setting: str, **kwargs: object) -> None:
    if setting == "MISSION_REWARDS":
        templates_invalidate()


def templates_invalidate() -> None:
    global _cached
    with _lock:
        _cached = None


def message_render(key: str, locale: str, **params: object) -> str:
    """One message with the current templates (for other callers than the engine, e.g. a push)."""
    compiled = templates()
    by_key = compiled.by_locale.get(locale) or compiled.by_locale[FALLBACK_LOCALE]
    return by_key[key](**params)
