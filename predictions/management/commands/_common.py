"""What the predictions' commands share: the ``--as-of`` day and the one JSON line they print."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError


def as_of_day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--as-of: {value!r} is not a date (YYYY-MM-DD).") from exc


def positive(value: int | None, name: str) -> int | None:
    if value is not None and value < 1:
        raise CommandError(f"--{name} must be at least 1.")
    return value


def print_json(command: BaseCommand, payload: dict[str, Any]) -> None:
    command.stdout.write(orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS).decode())
