"""Helpers shared by the management commands."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError


def parse_as_of(value: str | None, *, example: str) -> dt.datetime | None:
    """A command's ``--as-of`` time: ISO 8601 with a UTC offset, or None (now) when not given."""
    if not value:
        return None
    try:
        as_of = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--as-of: {exc}") from exc
    if as_of.tzinfo is None:
        raise CommandError(f"--as-of needs a UTC offset, e.g. {example}.")
    return as_of
