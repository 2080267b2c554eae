"""Reads for texts: the operators' overrides."""

from __future__ import annotations

from texts.models import MessageTemplate


def template_overrides() -> list[tuple[str, str, str]]:
    """Every operator override as ``(key, locale, text)``, in one query."""
    return list(MessageTemplate.objects.values_list("key", "locale", "text"))
