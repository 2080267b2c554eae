"""The registry of every text a player sees: each app declares its messages, ``texts`` checks them.

A message is a key, a default text in ``ko`` and in ``en`` (in code, in the declaring app's ``messages.py``) and
the placeholders it may use, each with its type (``int`` or ``str``). An operator may override a default per
locale (``texts.models.MessageTemplate``); ``template_problem`` decides whether a text may stand for a message,
on every save of an override and for every default at declaration.

How declarations arrive: ``TextsConfig.ready()`` imports every installed app's ``messages`` module
(``autodiscover_modules("messages")``, as the admin finds ``admin.py``), and a module declares each message with
``message_declare`` when it is imported. Chosen over a call in each app's ``AppConfig.ready()`` because it is
simpler: an app with texts only adds ``messages.py``, nothing else to remember, and no app can forget to register
what it declared. (``texts`` itself names no app: it imports only ``core``.)

Facts only (design brief section 6): no text, default or override, push or proposal, may claim odds or chances
(``ODDS_WORDING``). Every number a message states is filled in from the player's real figures or a configured
reward.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

LOCALES = ("ko", "en")
FALLBACK_LOCALE = "ko"
LOCALE_CHOICES = [("ko", "Korean"), ("en", "English")]  # the locales a player may have (players.Player.Locale)

# Wording that claims odds or chances (design brief section 6): refused in any text.
ODDS_WORDING = re.compile(
    r"확률|승률|당첨률|배당률|가능성|빅윈|대박|odds|probab|chance|likel|win rate|winning rate|big win|jackpot|\d\s*%",
    re.IGNORECASE,
)

# What a placeholder of each type is checked with: a text must render with these (``{n:,}`` for a number, not
# for a word).
_SAMPLES: dict[type, object] = {int: 1234, str: "Whale"}


@dataclass(frozen=True)
class Message:
    """One message: its key, its default text in each locale, and the placeholders it may use (name -> type)."""

    key: str
    ko: str
    en: str
    placeholders: Mapping[str, type]

    def default(self, locale: str) -> str:
        """The default text in ``locale`` (Korean for a locale without texts)."""
        return self.en if locale == "en" else self.ko

    def placeholders_listed(self) -> str:
        """``{a}, {b}`` (or ``none``): what an operator may write."""
        return ", ".join("{" + name + "}" for name in sorted(self.placeholders)) or "none"


_messages: dict[str, Message] = {}


def message_declare(key: str, *, ko: str, en: str, placeholders: Mapping[str, type] | None = None) -> Message:
    """Declare (register) message ``key``: its ``ko`` and ``en`` defaults and the placeholders they may use.

    Called at import of an app's ``messages`` module. A default that uses another placeholder, states other facts
    than its translation (not the same placeholders) or fails ``template_problem`` (odds wording included) is a
    configuration error, raised at startup. Declaring the same message again is harmless; another message under
    a key already taken is an error.
    """
    message = Message(key=key, ko=ko, en=en, placeholders=dict(placeholders or {}))
    known = _messages.get(key)
    if known is not None:
        if known == message:
            return known
        raise ImproperlyConfigured(f"Message {key!r} is declared twice, differently.")
    for name, kind in message.placeholders.items():
        if kind not in _SAMPLES:
            raise ImproperlyConfigured(f"Message {key!r}: placeholder {name!r} must be int or str, not {kind!r}.")
    for locale in LOCALES:
        problem = _problem(message, message.default(locale))
        if problem:
            raise ImproperlyConfigured(f"Message {key!r} [{locale}] default: {problem}")
    if placeholders_used(ko) != placeholders_used(en):
        raise ImproperlyConfigured(f"Message {key!r}: the ko and en defaults must use the same placeholders.")
    _messages[key] = message
    return message


def message_get(key: str) -> Message:
    """The declared message ``key`` (KeyError when no app declared it)."""
    return _messages[key]


def message_keys() -> list[str]:
    """Every declared message's key, sorted."""
    return sorted(_messages)


def messages() -> list[Message]:
    """Every declared message, by key."""
    return [_messages[key] for key in sorted(_messages)]


def placeholders_used(text: str) -> set[str]:
    """The placeholder names ``text`` uses (for a text that parses)."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def template_problem(key: str, text: str) -> str | None:
    """Why ``text`` cannot be message ``key``'s text (an unknown key or placeholder, attribute or index access, a
    conversion, a broken brace, a format its placeholder's type cannot take, odds wording), or None."""
    message = _messages.get(key)
    if message is None:
        return f"Unknown message {key!r}; known: {', '.join(sorted(_messages))}."
    return _problem(message, text)


def _problem(message: Message, text: str) -> str | None:
    allowed = message.placeholders
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        return f"Not a valid template: {exc} (write a literal brace as {{{{ or }}}})."
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in allowed:
            return f"Unknown placeholder {{{name}}}: this message can use {message.placeholders_listed()}."
        if conversion is not None or "{" in (spec or ""):
            return f"Placeholder {{{name}}} may only take a format such as {{{name}:,}}."
    try:
        text.format(**{name: _SAMPLES[kind] for name, kind in allowed.items()})
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        return f"Not a valid template: {exc}."
    match = ODDS_WORDING.search(text)
    if match:
        return f"State facts only: {match.group(0)!r} reads as a claim about odds or chances (design brief section 6)."
    return None
