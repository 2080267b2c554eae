"""Turning untrusted action dicts into ``ParsedAction``s, with every problem named.

Shared by the ingest API and ``import_actions``: same rules on both paths.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any, NamedTuple

import orjson
from django.conf import settings

from activity.registry import REGISTRY

MAX_USER_ID = 2**63 - 1
ACTION_FIELDS = ("event_id", "user_id", "action_type", "action_timestamp", "metadata")
# A sane lower bound: nothing in this product happened before it, and it keeps far-off dates (typos,
# zero values, the ends of the calendar whose UTC conversion overflows) out of the log.
EARLIEST_TIMESTAMP = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
# An import of history (``import_actions``) may reach further back: another system's log, or a public data set such as
# CDNOW's 1997-1998 purchases (docs/decisions/0032). Still a bound against zero values (the Unix epoch) and the ends
# of the calendar.
EARLIEST_HISTORY_TIMESTAMP = dt.datetime(1990, 1, 1, tzinfo=dt.UTC)
_TS_FORMAT = "Must be an ISO 8601 date-time string with a UTC offset."
# PostgreSQL text and jsonb cannot hold U+0000; JSON writes it as this escape (and only so).
NUL = "\x00"
NUL_JSON_ESCAPE = b"\\u0000"
NUL_MESSAGE = "Must not contain the NUL character (U+0000)."


class MetadataLimits(NamedTuple):
    """How big one action's metadata may be: its JSON in bytes, and how deep objects and lists nest in it (the
    metadata object itself is level 1). From ``ACTIONS_METADATA_MAX_BYTES`` and ``ACTIONS_METADATA_MAX_DEPTH``."""

    max_bytes: int
    max_depth: int

    @classmethod
    def from_settings(cls) -> MetadataLimits:
        return cls(settings.ACTIONS_METADATA_MAX_BYTES, settings.ACTIONS_METADATA_MAX_DEPTH)


def nesting_depth(value: Any, limit: int) -> int:
    """How deep objects and lists nest in ``value`` (a scalar: 0), counted no further than ``limit + 1``."""
    if type(value) is dict:
        children: Any = value.values()
    elif type(value) is list:
        children = value
    else:
        return 0
    if limit <= 0:
        return 1
    deepest = 0
    for child in children:
        deepest = max(deepest, nesting_depth(child, limit - 1))
        if deepest >= limit:
            break
    return 1 + deepest


def metadata_problem(metadata: dict[str, Any], limits: MetadataLimits) -> str | None:
    """Why ``metadata`` is too big or too deep, or None. One orjson dump (C speed); the nesting is walked only
    when the JSON holds more brackets than the depth allowed."""
    try:
        dumped = orjson.dumps(metadata)
    except (orjson.JSONEncodeError, TypeError):  # not JSON-shaped (a Python caller): only the depth is checked
        dumped = None
    if dumped is not None and len(dumped) > limits.max_bytes:
        return f"Must be at most {limits.max_bytes} bytes as JSON (it is {len(dumped)})."
    openers = limits.max_depth + 1 if dumped is None else dumped.count(b"{") + dumped.count(b"[")
    if openers > limits.max_depth and nesting_depth(metadata, limits.max_depth) > limits.max_depth:
        return f"Must not nest objects and lists more than {limits.max_depth} levels deep."
    return None


class ParsedAction(NamedTuple):
    event_id: str
    player_id: int
    action_type: str
    action_timestamp: dt.datetime
    metadata: dict[str, Any]


def _too_early(earliest: dt.datetime) -> str:
    return f"Is before {earliest:%Y-%m-%dT%H:%M:%SZ}, the earliest time accepted (a sane lower bound for actions)."


def parse_timestamp(value: Any, *, earliest: dt.datetime = EARLIEST_TIMESTAMP) -> dt.datetime | str:
    """An aware UTC datetime, or the problem. Times before ``earliest`` (``EARLIEST_TIMESTAMP`` unless the caller
    imports history) are refused."""
    if type(value) is not str:
        return _TS_FORMAT
    try:
        ts = dt.datetime.fromisoformat(value)
    except ValueError:
        return _TS_FORMAT
    if ts.tzinfo is None:
        return "Must include a UTC offset (for example 2026-11-25T12:00:00+09:00 or ...Z)."
    try:
        ts = ts.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00, 9999-12-31T23:00-05:00: no UTC datetime exists
        return _too_early(earliest) if ts.year <= earliest.year else "Is outside the supported date range."
    if ts < earliest:
        return _too_early(earliest)
    return ts


def nul_path(value: Any, path: str) -> str | None:
    """The path of the first string (key or value, at any depth) holding U+0000 in ``value``, or None."""
    if type(value) is str:
        return path if NUL in value else None
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is str and NUL in key:
                return path  # the key itself cannot be named: the object holding it is
            found = nul_path(item, f"{path}.{key}")
            if found is not None:
                return found
    elif type(value) is list:
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def parse_action(
    item: Any,
    *,
    now: dt.datetime,
    max_future: dt.timedelta,
    allow_token_moving: bool,
    check_nul: bool = True,
    limits: MetadataLimits | None = None,
    earliest: dt.datetime = EARLIEST_TIMESTAMP,
) -> tuple[ParsedAction | None, dict[str, str]]:
    """One action. Returns the parsed action, or None and ``{field path: problem}``.

    ``limits``: the metadata's size and depth (default: from settings); over either, the problem names
    ``metadata``. ``earliest``: the earliest action time accepted (``EARLIEST_HISTORY_TIMESTAMP`` for an import of
    history).

    ``check_nul=False`` skips the search for U+0000: only for a caller that knows the item's serialized
    form holds none (``core.parsers.body_may_contain_nul``).
    """
    if type(item) is not dict:
        return None, {"": "Must be an object with " + ", ".join(ACTION_FIELDS) + "."}
    errors: dict[str, str] = {}

    event_id = item.get("event_id")
    if type(event_id) is not str or not 0 < len(event_id) <= 64:
        errors["event_id"] = "Required: a non-empty string of at most 64 characters."

    user_id = item.get("user_id")
    if type(user_id) is not int or not 0 < user_id <= MAX_USER_ID:
        errors["user_id"] = "Required: a positive integer."

    ts = parse_timestamp(item.get("action_timestamp"), earliest=earliest)
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
    elif metadata:
        too_big = metadata_problem(metadata, limits or MetadataLimits.from_settings())
        if too_big is not None:
            errors["metadata"] = too_big
            metadata = None  # nothing more is looked at in it

    type_name = item.get("action_type")
    spec = REGISTRY.get(type_name) if type(type_name) is str else None
    if spec is None:
        errors["action_type"] = "Unknown action type. Known: " + ", ".join(sorted(REGISTRY)) + "."
    elif spec.moves_tokens and not allow_token_moving:
        errors["action_type"] = f"{type_name} moves tokens and is not accepted here: use {spec.live_endpoint}."
    elif metadata is not None:
        for key, problem in spec.check_metadata(metadata).items():
            errors[f"metadata.{key}"] = problem

    if check_nul:
        if type(event_id) is str and NUL in event_id:
            errors["event_id"] = NUL_MESSAGE
        try:
            suspect = bool(metadata) and NUL_JSON_ESCAPE in orjson.dumps(metadata)
        except orjson.JSONEncodeError:  # not JSON-shaped (a Python caller): walk it
            suspect = True
        if suspect:
            where = nul_path(metadata, "metadata")
            if where is not None:
                errors[where] = NUL_MESSAGE

    if errors:
        return None, errors
    return ParsedAction(event_id, user_id, type_name, ts, metadata), {}  # type: ignore[arg-type]


def parse_batch(
    items: list[Any],
    *,
    now: dt.datetime,
    max_future: dt.timedelta,
    allow_token_moving: bool,
    prefix: str = "actions",
    check_nul: bool = True,
    limits: MetadataLimits | None = None,
    earliest: dt.datetime = EARLIEST_TIMESTAMP,
) -> tuple[list[ParsedAction], dict[str, list[str]]]:
    """All items, all-or-nothing: the errors name ``actions[i].field`` for every bad item.

    ``check_nul=False``: the caller has checked the serialized batch (``core.parsers.may_contain_nul``).
    Otherwise the batch is serialized once (C speed) and items are searched only if that holds ``\\u0000``.
    """
    if check_nul:
        with contextlib.suppress(orjson.JSONEncodeError):  # not JSON-shaped (a Python caller): check each item
            check_nul = NUL_JSON_ESCAPE in orjson.dumps(items)
    limits = limits or MetadataLimits.from_settings()
    parsed: list[ParsedAction] = []
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(items):
        action, problems = parse_action(
            item,
            now=now,
            max_future=max_future,
            allow_token_moving=allow_token_moving,
            check_nul=check_nul,
            limits=limits,
            earliest=earliest,
        )
        if action is not None:
            parsed.append(action)
        else:
            for field_name, problem in problems.items():
                path = f"{prefix}[{index}]" + (f".{field_name}" if field_name else "")
                errors[path] = [problem]
    return parsed, errors
