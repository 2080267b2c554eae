"""Rendering: every declared message compiled once per process, with the operators' overrides; and the message
variants in play (``variants()``), which the recommender's bandit chooses among.

``text_render(key, locale, **params)`` is what a service calls (a push's text); ``catalog()`` is the compiled
whole, for a caller that renders many texts in a pure function (the recommendation engine's ``Templates`` is built
from it in ``recommendations.templates``).

One cache: the overrides are read from the database once per process and the compiled catalog kept in a
``core.caches.LocalCache`` for ``settings.TEXTS_CACHE_SECONDS``. A save or delete of an override drops this
process's copy at once (the receivers below: every ORM write of ``MessageTemplate`` passes through them, the admin
included, so no writer has to remember the cache); other processes see it within the time to live. A write that
sends no signal (a bulk update, another process) is seen within the time to live too. The variants are kept the same
way, beside the catalog, and dropped on a save or delete of a ``MessageVariant`` (its admin's actions save each row).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from core.caches import LocalCache
from texts.models import MessageTemplate, MessageVariant
from texts.registry import FALLBACK_LOCALE, LOCALES, messages, template_problem
from texts.selectors import template_overrides, variants_in_play

logger = logging.getLogger(__name__)

Render = Callable[..., str]  # a compiled text: ``render(**placeholders)``

# A text that raises one of these when rendered is unusable; its message's default is used instead.
RENDER_ERRORS = (KeyError, IndexError, AttributeError, ValueError, TypeError)


@dataclass(frozen=True, slots=True)
class Catalog:
    """Every declared message compiled, ``{locale: {key: render}}``; an unknown locale reads Korean's."""

    by_locale: Mapping[str, Mapping[str, Render]]
    fallback_locale: str = FALLBACK_LOCALE

    def render(self, key: str, locale: str, /, **params: Any) -> str:
        by_key = self.by_locale.get(locale) or self.by_locale[self.fallback_locale]
        return by_key[key](**params)


def catalog_compile(overrides: Iterable[tuple[str, str, str]]) -> Catalog:
    """The catalog from the declared defaults and the usable ``(key, locale, text)`` overrides (no database).

    An override with a problem (written around the model's check) or for an unknown locale is skipped and
    logged. A usable override that still fails when rendered with a player's values gives way to the default.
    """
    by_locale: dict[str, dict[str, Render]] = {
        locale: {m.key: m.default(locale).format for m in messages()} for locale in LOCALES
    }
    for key, locale, text in overrides:
        problem = template_problem(key, text) if locale in by_locale else f"unknown locale {locale!r}"
        if problem:
            logger.error("message template %s [%s] ignored: %s", key, locale, problem)
            continue
        by_locale[locale][key] = _guarded(key, locale, text, by_locale[locale][key])
    return Catalog(by_locale=by_locale)


def _guarded(key: str, locale: str, text: str, default: Render) -> Render:
    def render(**params: Any) -> str:
        try:
            return text.format(**params)
        except RENDER_ERRORS:
            logger.exception("message template %s [%s] cannot be rendered; using the default text", key, locale)
            return default(**params)

    return render


_cache: LocalCache[str, Catalog] = LocalCache("texts", max_entries=1)


def catalog() -> Catalog:
    """The compiled catalog with the operators' overrides: one query per process per ``TEXTS_CACHE_SECONDS``."""
    return _cache.get_or_set("catalog", lambda: catalog_compile(template_overrides()), ttl=settings.TEXTS_CACHE_SECONDS)


def text_render(key: str, locale: str, /, **params: Any) -> str:
    """Message ``key`` in ``locale`` (Korean for a locale without texts) with ``params`` filled in: the operator's
    wording when there is a usable one, else the default."""
    return catalog().render(key, locale, **params)


def catalog_invalidate() -> None:
    """Drop this process's compiled catalog (the next text reads the overrides again)."""
    _cache.clear()


# --- message variants ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Variant:
    """One variant in play of a message in a locale (``texts.models.MessageVariant``, active or pinned)."""

    key: str
    locale: str
    name: str
    text: str
    pinned: bool

    def render(self, **params: Any) -> str | None:
        """The text with ``params`` filled in, or None when it cannot be rendered with them (then the message's
        default is served, as for an override that fails)."""
        try:
            return self.text.format(**params)
        except RENDER_ERRORS:
            logger.exception("message variant %s [%s] %s cannot be rendered", self.key, self.locale, self.name)
            return None


Variants = Mapping[tuple[str, str], tuple[Variant, ...]]  # {(key, locale): the variants in play, by name}


def variants_compile(rows: Iterable[tuple[str, str, str, str, bool]]) -> Variants:
    """``{(key, locale): variants}`` from ``(key, locale, name, text, pinned)`` rows (no database). A row with a
    problem (written around the model's check) is skipped and logged, as an override is."""
    by_message: dict[tuple[str, str], list[Variant]] = {}
    for key, locale, name, text, pinned in rows:
        problem = template_problem(key, text) if locale in LOCALES else f"unknown locale {locale!r}"
        if problem:
            logger.error("message variant %s [%s] %s ignored: %s", key, locale, name, problem)
            continue
        by_message.setdefault((key, locale), []).append(Variant(key, locale, name, text, pinned))
    return {message: tuple(found) for message, found in by_message.items()}


_variants: LocalCache[str, Variants] = LocalCache("texts-variants", max_entries=1)


def variants() -> Variants:
    """The message variants in play: one query per process per ``TEXTS_CACHE_SECONDS``."""
    return _variants.get_or_set(
        "variants", lambda: variants_compile(variants_in_play()), ttl=settings.TEXTS_CACHE_SECONDS
    )


def variants_invalidate() -> None:
    """Drop this process's variants (the next serve reads them again)."""
    _variants.clear()


@receiver(post_save, sender=MessageVariant, dispatch_uid="texts_variant_saved")
@receiver(post_delete, sender=MessageVariant, dispatch_uid="texts_variant_deleted")
def _variant_changed(sender: Any, **kwargs: Any) -> None:
    variants_invalidate()
    transaction.on_commit(variants_invalidate)


@receiver(post_save, sender=MessageTemplate, dispatch_uid="texts_template_saved")
@receiver(post_delete, sender=MessageTemplate, dispatch_uid="texts_template_deleted")
def _template_changed(sender: Any, **kwargs: Any) -> None:
    catalog_invalidate()  # this request sees its own change at once
    transaction.on_commit(catalog_invalidate)  # and a reload made before the commit (blind to it) is dropped
