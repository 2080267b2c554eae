"""Turning untrusted action dicts into ``ParsedAction``s, with every problem named.

Shared by the ingest API and ``import_actions``: same rules on both paths.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, NamedTuple

from activity.registry import REGISTRY

MAX_USER_ID = 2**63 - 1
ACTION_FIELDS = ("event_id", "user_id", "action_type", "action_timestamp", "metadata")


class ParsedAction(NamedTuple):
    event_id: str
    user_id: int
    action_type: str
    action_timestamp: dt.datetime
    metadata: dict[str, Any]


def parse_timestamp(value: Any) -> dt.datetime | str:
    if type(value) is not str:
        return "Must be an ISO 8601 date-time string with a UTC offset."
    try:
        ts = dt.datetime.fromisoformat(value)
    except ValueError:
        return "Must be an ISO 8601 date-time string with a UTC offset."
    if ts.tzinfo is None:
        return "Must include a UTC offset (for example 2026-11-25T12:00:00+09:00 or ...Z)."
    return ts.astimezone(dt.UTC)


def parse_action(
    item: Any, *, now: dt.datetime, max_future: dt.timedelta, allow_token_moving: bool
) -> tuple[ParsedAction | None, dict[str, str]]:
    """One action. Returns the parsed action, or None and ``{field path: problem}``."""
    if type(item) is not dict:
        return None, {"": "Must be an object with " + ", ".join(ACTION_FIELDS) + "."}
    errors: dict[str, str] = {}

    event_id = item.get("event_id")
    if type(event_id) is not str or not 0 < len(event_id) <= 64:
        errors["event_id"] = "Required: a non-empty string of at most 64 characters."

    user_id = item.get("user_id")
    if type(user_id) is not int or not 0 < user_id <= MAX_USER_ID:
        errors["user_id"] = "Required: a positive integer."

    ts = parse_timestamp(item.get("action_timestamp"))
    if isinstance(ts, str):
        errors["action_timestamp"] = ("Required. " + ts) if "action_timestamp" not in item else ts
    elif ts > now + max_future:
        errors["action_timestamp"] = f"Is in the future (more than {int(max_future.total_seconds())} s ahead)."

    metadata = item.get("metadata", {})
    if metadata is None:
        metadata = {}
    if type(metadata) is not dict:
        errors["metadata"] = "Must be an object."
        metadata = None

    type_name = item.get("action_type")
    spec = REGISTRY.get(type_name) if type(type_name) is str else None
    if spec is None:
        errors["action_type"] = "Unknown action type. Known: " + ", ".join(sorted(REGISTRY)) + "."
    elif spec.moves_tokens and not allow_token_moving:
        errors["action_type"] = f"{type_name} moves tokens and is not accepted here: use {spec.live_endpoint}."
    elif metadata is not None:
        for key, problem in spec.check_metadata(metadata).items():
            errors[f"metadata.{key}"] = problem

    if errors:
        return None, errors
    return ParsedAction(event_id, user_id, type_name, ts, metadata), {}  # type: ignore[arg-type]


def parse_batch(
    items: list[Any], *, now: dt.datetime, max_future: dt.timedelta, allow_token_moving: bool, prefix: str = "actions"
) -> tuple[list[ParsedAction], dict[str, list[str]]]:
    """All items, all-or-nothing: the errors name ``actions[i].field`` for every bad item."""
    parsed: list[ParsedAction] = []
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(items):
        action, problems = parse_action(item, now=now, max_future=max_future, allow_token_moving=allow_token_moving)
        if action is not None:
            parsed.append(action)
        else:
            for field_name, problem in problems.items():
                path = f"{prefix}[{index}]" + (f".{field_name}" if field_name else "")
                errors[path] = [problem]
    return parsed, errors
