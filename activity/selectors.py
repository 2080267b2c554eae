"""Reads over the action log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import NamedTuple

from django.db import connection

from activity.models import UserAction
from players.models import Player


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
    """
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
    """
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


def player_id_chunks(*, size: int) -> Iterator[list[int]]:
    """The ids of every player, in order, by ``size`` (keyset pages)."""
    last = 0
    while True:
        ids = list(Player.objects.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:size])
        if not ids:
            return
        yield ids
        last = ids[-1]


def player_id_ranges(*, size: int) -> Iterator[tuple[int, int]]:
    """Consecutive [first, last] player-id ranges of at most ``size`` players, by keyset."""
    for ids in player_id_chunks(size=size):
        yield ids[0], ids[-1]


def actions_exist(*, first_player_id: int, last_player_id: int) -> bool:
    """Whether any player with an id in [first_player_id, last_player_id] has an action stored."""
    return UserAction.objects.filter(user_id__gte=first_player_id, user_id__lte=last_player_id).exists()
