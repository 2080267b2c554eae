"""Reads over the action log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db import connection

from players.models import Player


def _result_expr() -> str:
    if connection.vendor == "postgresql":
        return "metadata->>'result'"
    return "json_extract(metadata, '$.result')"


def _as_datetime(value: object) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return dt.datetime.fromisoformat(str(value)).replace(tzinfo=dt.UTC)


def hot_metrics_from_log(*, first_id: int, last_id: int) -> dict[int, tuple[dt.datetime, int]]:
    """For players with ids in [first_id, last_id]: (last action time, current win streak), from the log.

    The streak is the number of GAME_PLAY wins after the player's last loss (a GAME_PLAY loss or a
    FAIL_GAME), computed in one set-based statement.
    """
    res = _result_expr()
    sql = f"""
        SELECT a.user_id, MAX(a.action_timestamp),
               SUM(CASE WHEN a.action_type = 'GAME_PLAY' AND {res} = 'win'
                         AND (ll.t IS NULL OR a.action_timestamp > ll.t) THEN 1 ELSE 0 END)
        FROM user_actions a
        LEFT JOIN (
            SELECT user_id, MAX(action_timestamp) AS t FROM user_actions
            WHERE user_id BETWEEN %s AND %s
              AND (action_type = 'FAIL_GAME' OR (action_type = 'GAME_PLAY' AND {res} = 'loss'))
            GROUP BY user_id
        ) ll ON ll.user_id = a.user_id
        WHERE a.user_id BETWEEN %s AND %s
        GROUP BY a.user_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [first_id, last_id, first_id, last_id])
        return {row[0]: (_as_datetime(row[1]), int(row[2] or 0)) for row in cursor.fetchall()}


def player_id_ranges(*, size: int) -> Iterator[tuple[int, int]]:
    """Consecutive [first, last] player-id ranges of at most ``size`` players, by keyset."""
    last = 0
    while True:
        ids = list(Player.objects.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:size])
        if not ids:
            return
        yield ids[0], ids[-1]
        last = ids[-1]
