"""Reads over the action log."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from django.db import OperationalError, connection, transaction
from django.db.models import Count, Q
from django.db.models.functions import ExtractHour

from activity.models import UserAction
from activity.registry import SPENDING_TYPES, app_activity_types
from core.timezones import zone


def _result_expr() -> str:
    if connection.vendor == "postgresql":
        return "metadata->>'result'"
    return "json_extract(metadata, '$.result')"


def _as_datetime(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)


class LogHotMetrics(NamedTuple):
    """A player's hot metrics as the log implies them."""

    last_action: dt.datetime
    last_loss: dt.datetime | None  # the last GAME_PLAY loss or FAIL_GAME
    wins: list[tuple[str, dt.datetime]]  # (event_id, time) of the GAME_PLAY wins strictly after last_loss

    @property
    def streak(self) -> int:
        return len(self.wins)


def hot_metrics_from_log(*, first_id: int, last_id: int) -> dict[int, LogHotMetrics]:
    """For players with ids in [first_id, last_id]: last action, last loss and win streak, from the log.

    The streak is the number of GAME_PLAY wins strictly after the player's last loss (a GAME_PLAY loss
    or a FAIL_GAME); a win at the same instant as the loss is not after it. Two set-based statements:
    the times per player, then the wins after each player's last loss.
    """
    res = _result_expr()
    is_loss = f"(action_type = 'FAIL_GAME' OR (action_type = 'GAME_PLAY' AND {res} = 'loss'))"
    times_sql = f"""
        SELECT user_id, MAX(action_timestamp), MAX(CASE WHEN {is_loss} THEN action_timestamp END)
        FROM user_actions WHERE user_id BETWEEN %s AND %s GROUP BY user_id
    """  # noqa: S608 (names from code, values bound)
    wins_sql = f"""
        SELECT a.user_id, a.event_id, a.action_timestamp
        FROM user_actions a
        LEFT JOIN (
            SELECT user_id, MAX(action_timestamp) AS t FROM user_actions
            WHERE user_id BETWEEN %s AND %s AND {is_loss}
            GROUP BY user_id
        ) ll ON ll.user_id = a.user_id
        WHERE a.user_id BETWEEN %s AND %s AND a.action_type = 'GAME_PLAY' AND {res} = 'win'
          AND (ll.t IS NULL OR a.action_timestamp > ll.t)
    """  # noqa: S608 (names from code, values bound)
    out: dict[int, LogHotMetrics] = {}
    with connection.cursor() as cursor:
        cursor.execute(times_sql, [first_id, last_id])
        for user_id, last_action, last_loss in cursor.fetchall():
            out[user_id] = LogHotMetrics(
                _as_datetime(last_action), None if last_loss is None else _as_datetime(last_loss), []
            )
        cursor.execute(wins_sql, [first_id, last_id, first_id, last_id])
        for user_id, event_id, at in cursor.fetchall():
            out[user_id].wins.append((event_id, _as_datetime(at)))
    return out


def action_id(*, event_id: str) -> int | None:
    """The id of the action stored under ``event_id``, or None."""
    return UserAction.objects.filter(event_id=event_id).values_list("id", flat=True).first()


def players_active(*, player_ids: Iterable[int], since: dt.datetime, until: dt.datetime) -> set[int]:
    """Those of ``player_ids`` with app activity (the registry's ``app_activity`` types: docs/metrics.md "Active") in
    [since, until); one query per 1,000 ids (the ``(user_id, action_timestamp)`` index)."""
    ids = sorted(set(player_ids))
    types = app_activity_types()
    active: set[int] = set()
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        active.update(
            UserAction.objects.filter(
                user_id__in=chunk, action_timestamp__gte=since, action_timestamp__lt=until, action_type__in=types
            )
            .values_list("user_id", flat=True)
            .distinct()
        )
    return active


def actions_stream(
    *,
    first_id: int,
    last_id: int,
    until: dt.datetime,
    spends_since: dt.datetime,
    others_since: dt.datetime,
    others_excluded: Iterable[str],
    chunk_size: int = 5000,
) -> Iterator[tuple[int, dt.datetime, str, Any]]:
    """``(user_id, time, action_type, metadata)`` of the players with ids in [first_id, last_id], up to ``until``:
    their spends (``SPENDING_TYPES``: buy-ins and content unlocks) since ``spends_since`` and their other actions (but
    ``others_excluded``) since
    ``others_since``, in (user_id, time, id) order. One query, streamed (a server-side cursor on PostgreSQL)."""
    return (
        UserAction.objects.filter(user_id__gte=first_id, user_id__lte=last_id, action_timestamp__lte=until)
        .filter(
            Q(action_type__in=SPENDING_TYPES, action_timestamp__gte=spends_since)
            | (Q(action_timestamp__gte=others_since) & ~Q(action_type__in=list(others_excluded)))
        )
        .order_by("user_id", "action_timestamp", "id")
        .values_list("user_id", "action_timestamp", "action_type", "metadata")
        .iterator(chunk_size=chunk_size)
    )


def actions_by_local_hour(
    *,
    first_id: int,
    last_id: int,
    timezone: str,
    action_types: Iterable[str],
    since: dt.datetime,
    until: dt.datetime,
) -> list[tuple[int, int, int]]:
    """``(user_id, local hour, count)`` of the actions of ``action_types`` in [since, until) of the players with ids
    in [first_id, last_id] whose time zone is ``timezone``, by hour of day on their clock. One grouped query; a
    time-zone name this system does not know reads as UTC."""
    return list(
        UserAction.objects.filter(
            user_id__gte=first_id,
            user_id__lte=last_id,
            user__timezone=timezone,
            action_type__in=list(action_types),
            action_timestamp__gte=since,
            action_timestamp__lt=until,
        )
        .annotate(hour=ExtractHour("action_timestamp", tzinfo=zone(timezone)))
        .values_list("user_id", "hour")
        .annotate(count=Count("id"))
        .order_by()
    )


def actions_exist(*, first_player_id: int, last_player_id: int) -> bool:
    """Whether any player with an id in [first_player_id, last_player_id] has an action stored."""
    return UserAction.objects.filter(user_id__gte=first_player_id, user_id__lte=last_player_id).exists()


def actions_watermark(*, wait_seconds: float) -> int:
    """The highest ``user_actions`` id such that every action with an id at or below it has committed (or will
    never appear). A reader that counts exactly the actions up to it (the nightly RFM run) knows which ones it has
    not seen yet.

    PostgreSQL allocates ids before commit, so the highest id visible now may sit above ids still in flight: the
    SHARE lock (a lock, not a write: writers wait a moment) waits for every transaction that has written to the
    table to end and holds new writers off for the moment the read takes. It is asked for with a short
    ``lock_timeout`` and retried, so a slow writer never queues ingest behind the caller for long; it gives up after
    ``wait_seconds``. SQLite writers take the database lock in turn: ids commit in order, the highest one visible is
    the watermark.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT coalesce(max(id), 0) FROM user_actions")
            return int(cursor.fetchone()[0])
    from psycopg.errors import LockNotAvailable

    deadline = time.monotonic() + wait_seconds
    pause = 0.05
    while True:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [WATERMARK_LOCK_TIMEOUT])
                cursor.execute("LOCK TABLE user_actions IN SHARE MODE")
                cursor.execute("SELECT coalesce(max(id), 0) FROM user_actions")
                return int(cursor.fetchone()[0])
        except OperationalError as exc:
            if not isinstance(exc.__cause__, LockNotAvailable) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 2.0)


WATERMARK_LOCK_TIMEOUT = "200ms"
