"""Reads for texts: the operators' overrides and message variants."""

from __future__ import annotations

from texts.models import MessageTemplate, MessageVariant


def template_overrides() -> list[tuple[str, str, str]]:
    """Every operator override as ``(key, locale, text)``, in one query."""
    return list(MessageTemplate.objects.values_list("key", "locale", "text"))


def variants_in_play() -> list[tuple[str, str, str, str, bool]]:
    """Every variant that may be served (active or pinned; a stopped one never is) as ``(key, locale, name, text,
    pinned)``, in one query, by key, locale and name."""
    rows = (
        MessageVariant.objects.exclude(state=MessageVariant.State.STOPPED)
        .order_by("key", "locale", "name")
        .values_list("key", "locale", "name", "text", "state")
    )
    return [(key, locale, name, text, state == MessageVariant.State.PINNED) for key, locale, name, text, state in rows]
