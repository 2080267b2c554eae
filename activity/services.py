"""Writes for the action log."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.db import connection, transaction

from activity.models import UserAction, UserReward
from activity.reality_checks import reality_checks_send
from activity.registry import SPENDING_TYPES, game_outcome
from activity.validation import ParsedAction
from core.bulk import bulk_insert, reserve_ids
from core.hotstore import ActivityUpdate, LiveEvent, SessionStep, hot_store
from core.metrics import ACTIONS_INGESTED
from core.redis_faults import redis_failure_record
from players.live_harm import live_params
from players.services import player_ensure_many

logger = logging.getLogger(__name__)

# The batch travels as one JSON document of [event_id, user_id, action_type, action_timestamp, metadata]
# rows (ParsedAction's field order), built by orjson in C: psycopg's Python array dumpers cost ten times
# more client CPU than PostgreSQL spends storing the rows.
_PG_INSERT = (
    "INSERT INTO user_actions (event_id, user_id, action_type, metadata, action_timestamp) "
    "SELECT r->>0, (r->>1)::bigint, r->>2, r->4, (r->>3)::timestamptz FROM jsonb_array_elements(%s::jsonb) AS x(r) "
    "ON CONFLICT (event_id) DO NOTHING RETURNING event_id"
)
_SQLITE_CHUNK = 500


@dataclass(frozen=True)
class IngestResult:
    stored: int
    duplicates: int


def _dedupe(actions: Sequence[ParsedAction]) -> list[ParsedAction]:
    seen: set[str] = set()
    unique: list[ParsedAction] = []
    for a in actions:
        if a.event_id not in seen:
            seen.add(a.event_id)
            unique.append(a)
    return unique


def _insert(actions: list[ParsedAction]) -> set[str]:
    """Insert, skipping event_ids already stored; returns the event_ids this call stored."""
    if not actions:
        return set()
    dumps = orjson.dumps
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Rows in event_id order: concurrent replays of overlapping batches lock in the same order
            # (they wait for each other instead of deadlocking). event_ids are unique here (deduped).
            rows = sorted(map(tuple, actions))
            cursor.execute(_PG_INSERT, [dumps(rows).decode()])
            return {row[0] for row in cursor.fetchall()}
        stored: set[str] = set()
        adapt = connection.ops.adapt_datetimefield_value
        for start in range(0, len(actions), _SQLITE_CHUNK):
            chunk = actions[start : start + _SQLITE_CHUNK]
            values = ",".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
            params: list[Any] = []
            for a in chunk:
                metadata, at = dumps(a.metadata).decode(), adapt(a.action_timestamp)
                params += [a.event_id, a.player_id, a.action_type, metadata, at]
            cursor.execute(
                "INSERT INTO user_actions (event_id, user_id, action_type, metadata, action_timestamp) "  # noqa: S608 (names from code, values bound)
                f"VALUES {values} ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
                params,
            )
            stored.update(row[0] for row in cursor.fetchall())
        return stored


# What the live state counts as play (players.live_harm): game rounds and token spends. Other in-app actions
# (browsing, quizzes, session starts) and what is not the player in the app (Company A, token arrivals) leave it alone.
_PLAY_TYPES = frozenset({"GAME_PLAY", "FAIL_GAME", *SPENDING_TYPES})


def activity_updates(actions: Sequence[ParsedAction]) -> dict[int, ActivityUpdate]:
    """What a set of newly stored actions does to each player's hot metrics (see ActivityUpdate).

    Per player: the newest action, the newest loss, the wins after that loss (older wins cannot count), and the
    play (rounds and spends) in time order for the live state (``players.live_harm``).
    """
    last: dict[int, dt.datetime] = {}
    last_loss: dict[int, dt.datetime] = {}
    wins: dict[int, list[ParsedAction]] = {}
    events: dict[int, list[LiveEvent]] = {}
    live = _PLAY_TYPES if settings.LIVE_PROTECTION else ()
    for a in actions:
        user_id, at = a.player_id, a.action_timestamp
        seen = last.get(user_id)
        if seen is None or at > seen:
            last[user_id] = at
        outcome = game_outcome(a.action_type, a.metadata)
        if outcome is True:
            wins.setdefault(user_id, []).append(a)
        elif outcome is False:
            loss = last_loss.get(user_id)
            if loss is None or at > loss:
                last_loss[user_id] = at
        if a.action_type in live and (event := live_event(a)) is not None:
            events.setdefault(user_id, []).append(event)
    updates: dict[int, ActivityUpdate] = {}
    for user_id, at in last.items():
        loss = last_loss.get(user_id)
        updates[user_id] = ActivityUpdate(
            int(at.timestamp()),
            None if loss is None else loss.timestamp(),
            tuple(
                (w.event_id, w.action_timestamp.timestamp())
                for w in wins.get(user_id, ())
                if loss is None or w.action_timestamp > loss
            ),
            _in_time_order(events.get(user_id)),
        )
    return updates


def _in_time_order(events: list[LiveEvent] | None) -> tuple[LiveEvent, ...]:
    if not events:
        return ()
    if len(events) > 1:
        events.sort(key=lambda e: e.at_ms)
    return tuple(events)


def live_event(action: ParsedAction) -> LiveEvent | None:
    """The action as the live state sees it (a round won or lost, a failed game, a spend); None for anything else."""
    kind = action.action_type
    metadata = action.metadata
    if kind == "GAME_PLAY":
        bet, payout, result = metadata.get("bet"), metadata.get("payout"), metadata.get("result")
        if type(bet) is int and type(payout) is int and result in ("win", "loss"):
            return LiveEvent(_ms(action), "W" if result == "win" else "L", bet, payout)
    elif kind == "FAIL_GAME":
        return LiveEvent(_ms(action), "F")
    elif kind in SPENDING_TYPES:  # a buy-in or a content unlock: tokens spent
        spent = metadata.get("spent_tokens")
        if type(spent) is int and spent > 0:
            return LiveEvent(_ms(action), "S", spent, action.event_id)
    return None


def _ms(action: ParsedAction) -> int:
    return int(action.action_timestamp.timestamp() * 1000)


def hot_metrics_apply(updates: dict[int, ActivityUpdate]) -> list[SessionStep]:
    """What newly stored actions do to the hot metrics and the live state, in one hot-store round trip (after their
    commit); then the reality checks that fell due are sent (``activity.reality_checks``). A failure is logged: the
    rows are committed, and the nightly ``hot_metrics_repair`` rebuilds what the hot store missed (the live state
    starts afresh; the nightly harm markers still hold). Returns the sessions that passed a reality-check step."""
    try:
        steps = hot_store.apply_activity(updates, live_params())
    except Exception as exc:  # noqa: BLE001 - logged by redis_failure_record
        redis_failure_record(logger, exc, "hot metrics update failed for %d players", len(updates))
        return []
    if steps:
        try:
            reality_checks_send(steps)
        except Exception:
            logger.exception("reality checks for %d sessions could not be sent", len(steps))
    return steps


# --- one action inside another app's write ------------------------------------------------------------------------
#
# The wallet records a token-moving action in the same statement as its ledger row (PostgreSQL; decision 0010): the
# INSERT below is a CTE of that statement, written only when the statement's condition holds. On SQLite the wallet
# calls ``action_record`` in its transaction instead. Either way this app writes its table.

ACTION_INSERT_SQL = (
    "INSERT INTO user_actions (event_id, user_id, action_type, metadata, action_timestamp) "
    "SELECT %(action_event_id)s, %(action_player_id)s, %(action_type)s, %(action_metadata)s::jsonb, %(action_at)s "
    "WHERE {when} RETURNING id"
)


def action_insert_sql(*, when: str) -> str:
    """The INSERT of one action for another app's statement (PostgreSQL), written only when the SQL condition ``when``
    holds, returning the new row's id. Its parameters come from ``action_insert_params``."""
    return ACTION_INSERT_SQL.format(when=when)


def action_insert_params(action: ParsedAction) -> dict[str, Any]:
    return {
        "action_event_id": action.event_id,
        "action_player_id": action.player_id,
        "action_type": action.action_type,
        "action_metadata": orjson.dumps(action.metadata).decode(),
        "action_at": action.action_timestamp,
    }


def action_record(action: ParsedAction) -> int:
    """Store one action in the caller's transaction; returns its id (the event id must be new)."""
    return UserAction.objects.create(
        event_id=action.event_id,
        user_id=action.player_id,
        action_type=action.action_type,
        metadata=action.metadata,
        action_timestamp=action.action_timestamp,
    ).id


REWARD_INSERT_SQL = (
    "INSERT INTO user_rewards (user_id, reward_type, reward_value, awarded_at, trigger_action_id) "
    "VALUES (%(reward_player_id)s, %(reward_type)s, %(reward_value)s, %(reward_at)s, %(reward_action_id)s) RETURNING id"
)


def reward_insert_sql() -> str:
    """The INSERT of one ``user_rewards`` row for another app's statement (PostgreSQL: a data-modifying CTE of it),
    returning the new row's id. Its parameters come from ``reward_insert_params``."""
    return REWARD_INSERT_SQL


def reward_insert_params(
    *, player_id: int, reward_type: str, reward_value: int, awarded_at: dt.datetime, trigger_action_id: int | None
) -> dict[str, Any]:
    return {
        "reward_player_id": player_id,
        "reward_type": reward_type,
        "reward_value": reward_value,
        "reward_at": awarded_at,
        "reward_action_id": trigger_action_id,
    }


def reward_record(
    *, player_id: int, reward_type: str, reward_value: int, awarded_at: dt.datetime, trigger_action_id: int | None
) -> int:
    """A ``user_rewards`` row (spec 2.6: every reward given to a player); returns its id."""
    return UserReward.objects.create(
        user_id=player_id,
        reward_type=reward_type,
        reward_value=reward_value,
        awarded_at=awarded_at,
        trigger_action_id=trigger_action_id,
    ).id


def actions_ingest(*, actions: Sequence[ParsedAction], path: str = "api", players_known: bool = False) -> IngestResult:
    """Store validated actions; replays (same event_id) are counted as duplicates, not stored.

    One transaction: the players first seen here are created (unless ``players_known``: the caller made them in its
    transaction), the actions inserted in one statement (PostgreSQL). Inside a caller's transaction it takes no
    savepoint: an error ends the caller's transaction. After commit the hot metrics of the stored actions are updated
    in one Redis round trip.
    """
    unique = _dedupe(actions)
    first_seen: dict[int, dt.datetime] = {}
    if not players_known:
        for a in unique:
            seen = first_seen.get(a.player_id)
            if seen is None or a.action_timestamp < seen:
                first_seen[a.player_id] = a.action_timestamp
    with transaction.atomic(savepoint=False):
        player_ensure_many(first_seen=first_seen)
        stored_ids = _insert(unique)
        stored = [a for a in unique if a.event_id in stored_ids] if len(stored_ids) != len(unique) else unique
        updates = activity_updates(stored)
        transaction.on_commit(lambda: hot_metrics_apply(updates))
    result = IngestResult(stored=len(stored_ids), duplicates=len(actions) - len(stored_ids))
    ACTIONS_INGESTED.labels("stored", path).inc(result.stored)
    ACTIONS_INGESTED.labels("duplicate", path).inc(result.duplicates)
    return result


def hot_metrics_repair(*, chunk_size: int = 20_000) -> int:
    """Rebuild hot-metric keys that are missing (after a Redis flush or a failed update) from the log.

    Covers ``last_action_ts``, ``streak_count`` and the streak's state (``last_loss_ts``, the
    ``streak_wins`` sorted set). Live keys are never overwritten. Returns the number of keys set.
    """
    from activity.selectors import hot_metrics_from_log
    from core.hotstore import key_last_action_ts, key_last_loss_ts, key_streak_count, key_streak_wins
    from players.selectors import player_id_ranges

    repaired = 0
    for first_id, last_id in player_id_ranges(size=chunk_size):
        values: dict[str, float] = {}
        sorted_sets: dict[str, dict[str, float]] = {}
        for user_id, log in hot_metrics_from_log(first_id=first_id, last_id=last_id).items():
            values[key_last_action_ts(user_id)] = int(log.last_action.timestamp())
            values[key_streak_count(user_id)] = log.streak
            if log.last_loss is not None:
                values[key_last_loss_ts(user_id)] = log.last_loss.timestamp()
            if log.wins:
                sorted_sets[key_streak_wins(user_id)] = {event_id: at.timestamp() for event_id, at in log.wins}
        repaired += hot_store.fill_missing(values, sorted_sets)
    logger.info("hot metrics repair: %d keys rebuilt", repaired)
    return repaired


# --- bulk loads (operations) -------------------------------------------------------------------------------------

# (event_id, user_id, action_type, metadata, action_timestamp), values as the database takes them: metadata as
# JSON text, the time as UTC text ('YYYY-MM-DD HH:MM:SS', '+00' added on PostgreSQL).
ActionLoadRow = tuple[str, int, str, str, str]
ACTION_LOAD_COLUMNS = ("event_id", "user_id", "action_type", "metadata", "action_timestamp")


def actions_load(*, rows: Iterable[ActionLoadRow], skip_existing: bool = True) -> int:
    """Store many actions at once (demo data), without hot metrics (``hot_metrics_repair`` rebuilds them).

    Event ids already stored are skipped. With ``skip_existing=False`` (the caller knows none is there: a first
    load) the rows go straight into the table, a few times faster on PostgreSQL, and a clash raises
    IntegrityError. Returns how many were stored.
    """
    return bulk_insert(
        UserAction, ACTION_LOAD_COLUMNS, rows, skip_conflicts_on=("event_id",) if skip_existing else None
    )


def actions_load_with_ids(*, rows: Iterable[tuple[int, str, int, str, str, str]]) -> int:
    """Store many actions whose ids were reserved by ``action_ids_reserve`` (other rows point at them):
    (id, event_id, user_id, action_type, metadata, action_timestamp), as ``actions_load``'s rows. A clash raises
    IntegrityError."""
    return bulk_insert(UserAction, ("id", *ACTION_LOAD_COLUMNS), rows)


def action_ids_reserve(*, count: int) -> list[int]:
    """``count`` ids for actions stored later by ``actions_load_with_ids``, ascending, never given to another."""
    return reserve_ids(UserAction, count)


# (id, user_id, reward_type, reward_value, awarded_at, trigger_action_id): ids from ``reward_ids_reserve`` (other rows
# point at them), the time as UTC text ('YYYY-MM-DD HH:MM:SS', '+00' added on PostgreSQL).
RewardLoadRow = tuple[int, int, str, int, str, int | None]
REWARD_LOAD_COLUMNS = ("id", "user_id", "reward_type", "reward_value", "awarded_at", "trigger_action_id")


def reward_ids_reserve(*, count: int) -> list[int]:
    """``count`` ids for ``user_rewards`` rows stored later by ``rewards_load``, ascending, never given to another."""
    return reserve_ids(UserReward, count)


def rewards_load(*, rows: Iterable[RewardLoadRow]) -> int:
    """Store many ``user_rewards`` rows at once (demo data), with the actions they point at stored already. A clash
    raises IntegrityError. Returns how many were stored."""
    return bulk_insert(UserReward, REWARD_LOAD_COLUMNS, rows)
