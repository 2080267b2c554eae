"""Reads for recommendations: a player's recommendation context (one Redis round trip, and one SQL statement unless
the player's snapshot answers), the operator's template overrides, and what the nightly jobs read (harm markers'
action stream, play hours)."""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import zoneinfo
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Count, Q
from django.db.models.functions import ExtractHour

from activity.models import UserAction
from core.hotstore import hot_store, key_streak_count
from core.metrics import RECOMMENDATION_CONTEXTS
from core.timezones import zone
from players.models import Player, PlayerProtection
from players.selectors import protection_columns, protection_from_row
from recommendations import context_cache
from recommendations.engine import COOL_OFF, HOURS, SELF_EXCLUSION, Context
from recommendations.harm import NOT_IN_APP, HarmEvent, HarmThresholds
from recommendations.models import PlayerHarmMarker, PopulationPlayHours, RecommendationTemplate
from wallet.balance_cache import key_balance

logger = logging.getLogger(__name__)


def template_overrides() -> list[tuple[str, str, str]]:
    """Every operator override as ``(key, locale, text)``."""
    return list(RecommendationTemplate.objects.values_list("key", "locale", "text"))


def harm_events_by_player(
    *, first_id: int, last_id: int, as_of: dt.datetime, thresholds: HarmThresholds, chunk_size: int = 5000
) -> Iterator[tuple[int, list[HarmEvent]]]:
    """``(user_id, events)`` for each player with ids in [first_id, last_id] who has actions the detectors use,
    in player order: spends over the whole history the spend norm needs, the other in-app actions over the
    recent nights. One query, streamed (a server-side cursor on PostgreSQL), in (user_id, time) order."""
    spend_since = as_of - thresholds.history
    session_since = as_of - thresholds.session_history
    rows = (
        UserAction.objects.filter(user_id__gte=first_id, user_id__lte=last_id, action_timestamp__lte=as_of)
        .filter(
            Q(action_type="SPEND_CYBER_TOKENS", action_timestamp__gte=spend_since)
            | (Q(action_timestamp__gte=session_since) & ~Q(action_type__in=NOT_IN_APP))
        )
        .order_by("user_id", "action_timestamp", "id")
        .values_list("user_id", "action_timestamp", "action_type", "metadata")
        .iterator(chunk_size=chunk_size)
    )
    current: int | None = None
    events: list[HarmEvent] = []
    for user_id, at, action_type, metadata in rows:
        if user_id != current:
            if current is not None:
                yield current, events
            current, events = user_id, []
        events.append(HarmEvent(at, action_type, metadata if isinstance(metadata, dict) else {}))
    if current is not None:
        yield current, events


def player_timezones(*, first_id: int, last_id: int) -> dict[int, str]:
    return dict(Player.objects.filter(id__gte=first_id, id__lte=last_id).values_list("id", "timezone"))


def harm_marker_names(*, user_id: int) -> frozenset[str]:
    return frozenset(PlayerHarmMarker.objects.filter(user_id=user_id).values_list("marker", flat=True))


def player_count() -> int:
    return Player.objects.count()


# --- a player's recommendation context: one Redis round trip, one SQL statement without a snapshot -------------
#
# The statement starts from a one-row derived table and LEFT JOINs the player, so it answers one row even for an
# id without a players row (a new player gets the new-player recommendation, and the population's peak hour).
# It reads user_segments (rfm_group, risk_profile) directly: a selector may, spec 2.8's rule binds API code
# (docs/decisions/0009). Spend today / this week is computed only for a player with a spend limit (current or
# pending), counting SPEND ledger rows since the player's local midnight / Monday 00:00, as the wallet does
# (wallet.services.protection_check_spend).
#
# The row holds only what the context needs, in the cheapest types to decode (it is read on every request): the
# player's locale and timezone (not the whole players row), the last visit as text (parsed by the C
# ``datetime.fromisoformat``; Django's loader for a timestamptz column runs in Python, several microseconds a
# value), the play hours as the jsonb's text (parsed by orjson), and the protection row's columns last, NULL for
# the 95% of players without one, so that row's own rules (``PlayerProtection``) decide as they do in the wallet.

_PROTECTION_COLUMNS = protection_columns("pp")
_SPEND_LIMIT_SET = (
    "(pp.daily_spend_limit IS NOT NULL OR pp.pending_daily_effective_at IS NOT NULL "
    "OR pp.weekly_spend_limit IS NOT NULL OR pp.pending_weekly_effective_at IS NOT NULL)"
)


class _Dialect(NamedTuple):
    visit_as_text: str
    spent_today: str
    spent_this_week: str
    pair: tuple[str, str]
    string_agg: str


def _context_sql(dialect: _Dialect, *, id_range: bool = False) -> str:
    """The statement; spend today and this week come from one scan of the week's SPEND ledger rows (the local day
    starts inside the local week), the day's share by a FILTER, as a pair: ``pair`` opens and closes it. For one
    player id, or (``id_range``, the nightly snapshot build) for the players of an id range, their id last."""
    visit_as_text, spent_today, spent_this_week, pair, string_agg = dialect
    if id_range:
        player_id, source, where = ", p.id", "FROM players p", "WHERE p.id BETWEEN %s AND %s ORDER BY p.id"
    else:
        player_id, source, where = "", "FROM (SELECT 1 AS one) AS one\nLEFT JOIN players p ON p.id = %s", ""
    return f"""
SELECT p.locale, p.timezone, w.balance, s.rfm_group, s.risk_profile, ph.hours,
  (SELECT {visit_as_text} FROM site_visits v WHERE v.user_id = p.id ORDER BY v.visit_timestamp DESC LIMIT 1),
  (SELECT COALESCE(SUM(r.reward_value), 0) FROM site_rewards r WHERE r.user_id = p.id AND r.issued_at >= %s),
  CASE WHEN {_SPEND_LIMIT_SET} THEN (
    SELECT {pair[0]}COALESCE(-SUM(l.amount) FILTER (WHERE {spent_today}), 0), COALESCE(-SUM(l.amount), 0){pair[1]}
    FROM token_ledger l WHERE l.player_id = p.id AND l.kind = 'SPEND' AND {spent_this_week}
  ) END,
  (SELECT {string_agg}(m.marker, ',') FROM player_harm_markers m WHERE m.user_id = p.id),
  (SELECT pop.peak_hour FROM play_hours_population pop WHERE pop.id = 1),
  w.last_entry_id,
  {_PROTECTION_COLUMNS}{player_id}
{source}
LEFT JOIN player_protection pp ON pp.player_id = p.id
LEFT JOIN wallets w ON w.player_id = p.id
LEFT JOIN user_segments s ON s.user_id = p.id
LEFT JOIN player_play_hours ph ON ph.user_id = p.id
{where}
"""


# Parameters, in order: month start, now (day), now (week), player id. The connection's time zone is UTC
# (Django's, with USE_TZ), so a timestamptz as text ends in "+00". The spend pair is a bigint array.
_POSTGRESQL_DIALECT = _Dialect(
    visit_as_text="v.visit_timestamp::text",
    spent_today="l.created_at >= (date_trunc('day', %s::timestamptz AT TIME ZONE p.timezone) AT TIME ZONE p.timezone)",
    spent_this_week="l.created_at >= (date_trunc('week', %s::timestamptz AT TIME ZONE p.timezone) AT TIME ZONE "
    "p.timezone)",
    pair=("ARRAY[", "]::bigint[]"),
    string_agg="string_agg",
)
_CONTEXT_SQL_POSTGRESQL = _context_sql(_POSTGRESQL_DIALECT)
# Parameters: month start, now, now, first id, last id.
_RANGE_CONTEXT_SQL_POSTGRESQL = _context_sql(_POSTGRESQL_DIALECT, id_range=True)

# SQLite has no time zones: Django's own SQL function django_datetime_trunc (registered on every SQLite
# connection, the one the ORM's Trunc uses) turns a stored UTC time into the player's local day or week start,
# compared as text. A lower bound on created_at (now - 8 days: before any local week start) keeps the index.
# Times are stored as naive UTC text; the spend pair is a JSON array. Parameters, in order: month start, now (day),
# 8 days ago, now (week), player id.
_SQLITE_DIALECT = _Dialect(
    visit_as_text="v.visit_timestamp",
    spent_today="django_datetime_trunc('day', l.created_at, p.timezone, 'UTC') "
    ">= django_datetime_trunc('day', %s, p.timezone, 'UTC')",
    spent_this_week="l.created_at >= %s AND django_datetime_trunc('week', l.created_at, p.timezone, 'UTC') "
    ">= django_datetime_trunc('week', %s, p.timezone, 'UTC')",
    pair=("json_array(", ")"),
    string_agg="group_concat",
)
_CONTEXT_SQL_SQLITE = _context_sql(_SQLITE_DIALECT)
_RANGE_CONTEXT_SQL_SQLITE = _context_sql(_SQLITE_DIALECT, id_range=True)
_N_CONTEXT_COLUMNS = 12  # before the protection columns

_NO_PLAY = (0,) * HOURS
DEFAULT_PEAK_HOUR = 20  # the usage window's fallback before the first play-hour rollup (the engine's default)
_WEEK_AND_A_DAY = dt.timedelta(days=8)


def business_month_start(now: dt.datetime) -> dt.datetime:
    """00:00 on the first day of ``now``'s month in the business timezone (design brief section 3), in UTC."""
    tz = zone(settings.BUSINESS_TIMEZONE)
    local = now.astimezone(tz)
    return dt.datetime(local.year, local.month, 1, tzinfo=tz).astimezone(dt.UTC)


def _aware(value: Any) -> dt.datetime | None:
    """A time from the statement as an aware datetime: PostgreSQL's text of a timestamptz ("... +00"), SQLite's
    naive UTC text, or a datetime (aware from PostgreSQL, naive UTC from SQLite)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        raise TypeError(f"not a time: {value!r}")
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _spent_pair(value: Any) -> tuple[int, int]:
    """Spend today and this week: the statement's pair (PostgreSQL's array, SQLite's JSON text), or none (no limit
    set: 0 and 0)."""
    if value is None:
        return 0, 0
    if isinstance(value, (str, bytes)):
        value = orjson.loads(value)
    today, week = value
    return int(today), int(week)


def _play_hours(value: Any) -> tuple[int, ...]:
    """The rollup's 24 counts: the jsonb's text (PostgreSQL and SQLite alike), or a list."""
    if value is None:
        return _NO_PLAY
    if isinstance(value, (str, bytes)):
        value = orjson.loads(value)
    if type(value) is not list or len(value) != HOURS:
        logger.warning("player_play_hours row of the wrong shape ignored: %r", value)
        return _NO_PLAY
    return tuple(value)


def _context_statement(
    conn: Any, now: dt.datetime, month_start: dt.datetime, ids: tuple[int] | tuple[int, int]
) -> tuple[str, list[Any]]:
    """The statement and its parameters for one player id (``(id,)``) or the players of an id range
    (``(first, last)``)."""
    one = len(ids) == 1
    if conn.vendor == "postgresql":
        return (_CONTEXT_SQL_POSTGRESQL if one else _RANGE_CONTEXT_SQL_POSTGRESQL), [month_start, now, now, *ids]
    if conn.vendor == "sqlite":
        adapt = conn.ops.adapt_datetimefield_value
        week_ago, now_text = adapt(now - _WEEK_AND_A_DAY), adapt(now)
        return (
            (_CONTEXT_SQL_SQLITE if one else _RANGE_CONTEXT_SQL_SQLITE),
            [adapt(month_start), now_text, week_ago, now_text, *ids],
        )
    raise NotImplementedError(f"recommendation context: no SQL for {conn.vendor}")


_redis_client: Any = None  # this process's Redis client for the hot store, or False on the embedded default
_thread = threading.local()  # each serving thread's own Redis connection for the streak read


def _hot_redis() -> Any:
    global _redis_client
    if _redis_client is None:
        _redis_client = hot_store.redis() if hot_store.is_redis else False
    return _redis_client


def _hot_connection() -> Any:
    """This thread's Redis connection for the hot store (kept, not returned to the pool: half the client's cost
    per command), or False on the embedded default. Made on first use in each thread of each process; a failed
    command disconnects it and the next one reconnects."""
    held = getattr(_thread, "redis", None)
    if held is not None and held[0] == os.getpid():
        return held[1]
    client = _hot_redis()
    conn = False if client is False else client.connection_pool.get_connection()
    _thread.redis = (os.getpid(), conn)
    return conn


class _StreakRead:
    """The win streak from the hot store in one round trip (spec 2.3.2's ``user:{id}:streak_count``).

    On Redis the GET is sent before the SQL statement and its answer read after it, so Redis answers while
    PostgreSQL works (less CPU and less waiting than one after the other). On the embedded default the SQLite
    stand-in is read at the end. Redis down or failing: 0 and a warning, since no rule of spec 2.3.4 uses the
    streak and a recommendation never fails for it.
    """

    def __init__(self, player_id: int) -> None:
        self.player_id = player_id
        self.key = key_streak_count(player_id)
        self.embedded = False
        self.conn: Any = None
        try:
            conn = _hot_connection()
            if conn is False:
                self.embedded = True
                return
            self.conn = conn
            conn.send_command("GET", self.key)
        except Exception:  # noqa: BLE001 - Redis down or failing: logged by _failed, the streak reads 0
            self._failed()

    def result(self) -> int:
        if self.embedded:
            try:
                return hot_store.get_many([self.key]).get(self.key, 0)
            except Exception:
                logger.warning(
                    "hot store unreachable: win streak of player %s read as 0", self.player_id, exc_info=True
                )
                return 0
        if self.conn is None:
            return 0
        try:
            value = self.conn.read_response()
        except Exception:  # noqa: BLE001 - logged by _failed, the streak reads 0
            self._failed()
            return 0
        self.conn = None
        return 0 if value is None else int(value)

    def abandon(self) -> None:
        """The statement failed before the answer was read: drop the connection's socket (its answer is unread);
        the next command reconnects."""
        if self.conn is not None:
            self.conn.disconnect()
            self.conn = None

    def _failed(self) -> None:
        logger.warning("Redis unreachable: win streak of player %s read as 0", self.player_id, exc_info=True)
        self.abandon()


def recommendation_context(*, player_id: int, now: dt.datetime) -> Context:
    """Everything ``recommendations.engine.recommend`` needs for ``player_id`` at ``now``.

    With Redis: one round trip reads the win streak, Redis' copy of the balance and the player's snapshot
    (``recommendations.context_cache``); a usable snapshot answers with no database round trip. Otherwise one SQL
    statement (player, protection, balance, segment, play hours, last Company A visit, Company A tokens this month,
    spend today and this week, harm markers, population peak hour), after which the snapshot is stored by this
    process's fill buffer (not in the request). Without Redis (the embedded default, or snapshots off): the
    statement and one hot-store read of the streak.

    A player without a players row gets a new player's context (no segment, balance 0, never visited, the
    business timezone, Korean). Without a ``user_segments`` row the segment and risk profile are None, which the
    engine treats as Low (Quiz) and "no quiz taken". The quiz is taken when the player has a risk profile (the
    quiz app writes one; until it exists no other record of a quiz is kept).
    """
    conn = connections[DEFAULT_DB_ALIAS]  # looked up once: each use of the ``connection`` proxy costs a lookup
    month_start = business_month_start(now)
    if not _snapshots_enabled():
        _FROM_DATABASE_ONLY.inc()
        return _context_read_overlapped(conn, player_id, now, month_start)
    hot = _hot_read(player_id)  # before the statement: a snapshot stored later must have been read after this
    if hot is not None and hot.snapshot is not None and hot.balance is not None:
        fields = context_cache.snapshot_decode(hot.snapshot, generation=hot.generation, month_start=month_start)
        if fields is not None:
            _FROM_SNAPSHOT.inc()
            return _context_from_row(
                _row_from_snapshot(fields, hot.balance), now=now, streak=hot.streak, vendor=conn.vendor
            )
    (_FROM_DATABASE if hot is not None else _FROM_DATABASE_REDIS_DOWN).inc()
    row = _context_row(conn, now, player_id, month_start)
    if hot is not None:
        fill = snapshot_fill(
            row,
            user_id=player_id,
            version=hot.version,
            generation=hot.generation,
            month_start=month_start,
            restore_balance=hot.balance is None,
        )
        if fill is not None:
            context_cache.fill_buffer().add([fill])
    return _context_from_row(row, now=now, streak=0 if hot is None else hot.streak, vendor=conn.vendor)


_snapshots: bool | None = None  # decided once per process
_FROM_SNAPSHOT = RECOMMENDATION_CONTEXTS.labels("snapshot")
_FROM_DATABASE = RECOMMENDATION_CONTEXTS.labels("database")
_FROM_DATABASE_REDIS_DOWN = RECOMMENDATION_CONTEXTS.labels("redis_down")
_FROM_DATABASE_ONLY = RECOMMENDATION_CONTEXTS.labels("no_snapshots")


def _snapshots_enabled() -> bool:
    global _snapshots
    if _snapshots is None:
        _snapshots = context_cache.enabled()
    return _snapshots


# The row's columns a snapshot keeps: all but the balance (Redis' copy is read instead), the spend pair and the
# protection columns (only players without a protection row get a snapshot) and the ledger sequence number.
_SNAPSHOT_COLUMNS = (0, 1, 3, 4, 5, 6, 7, 9, 10)


def _row_from_snapshot(fields: Sequence[Any], balance: int) -> tuple[Any, ...]:
    """A context row from a snapshot's fields and the balance: no spend pair, no ledger sequence number, no
    protection row."""
    locale, tz_name, rfm_group, risk_profile, hours, last_visit, month_tokens, markers, peak_hour = fields
    return (
        locale,
        tz_name,
        balance,
        rfm_group,
        risk_profile,
        hours,
        last_visit,
        month_tokens,
        None,
        markers,
        peak_hour,
        None,
        None,
    )


def snapshot_fill(
    row: Sequence[Any], *, user_id: int, version: str, generation: str, month_start: dt.datetime, restore_balance: bool
) -> context_cache.Fill | None:
    """The snapshot of a context row read after ``version`` and ``generation`` were, for a player with a players
    row and a wallet and without a protection row (anyone else: None). ``restore_balance``: Redis had no copy of
    the balance; the row's balance and ledger row id restore it."""
    if row[0] is None or row[2] is None or row[_N_CONTEXT_COLUMNS] is not None:
        return None
    fields = [row[i] for i in _SNAPSHOT_COLUMNS]
    fields[4] = _play_hours(fields[4])  # 24 counts (the jsonb's text would be stored as a string and parsed twice)
    fields[6] = int(fields[6] or 0)  # the month's tokens: PostgreSQL's SUM of a bigint is a numeric
    return context_cache.Fill(
        user_id=user_id,
        version=version,
        generation=generation,
        snapshot=context_cache.snapshot_encode(generation=generation, month_start=month_start, fields=fields),
        balance=(int(row[2]), int(row[11])) if restore_balance else None,
    )


def _context_row(conn: Any, now: dt.datetime, player_id: int, month_start: dt.datetime) -> Sequence[Any]:
    sql, params = _context_statement(conn, now, month_start, (player_id,))
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        row: Sequence[Any] = cursor.fetchone()
    return row


def _context_read_overlapped(conn: Any, player_id: int, now: dt.datetime, month_start: dt.datetime) -> Context:
    """Without snapshots: the statement, and the streak's GET sent before it and read after it (Redis answers
    while PostgreSQL works)."""
    streak_read = _StreakRead(player_id)  # sent now, read after the statement
    try:
        row = _context_row(conn, now, player_id, month_start)
    except BaseException:
        streak_read.abandon()
        raise
    return _context_from_row(row, now=now, streak=streak_read.result(), vendor=conn.vendor)


class _HotRead(NamedTuple):
    streak: int
    balance: int | None
    generation: str
    version: str
    snapshot: bytes | None


def _hot_read(player_id: int) -> _HotRead | None:
    """One Redis round trip: MGET of the streak, the balance copy and the snapshot generation, and HMGET of the
    player's snapshot hash, packed together. None when Redis fails (logged; the context comes from the database,
    the streak reads 0 and nothing is stored)."""
    key = context_cache.key_context(player_id)
    conn: Any = None
    try:
        conn = _hot_connection()
        conn.send_packed_command(
            conn.pack_commands(
                (
                    ("MGET", key_streak_count(player_id), key_balance(player_id), context_cache.GENERATION_KEY),
                    ("HMGET", key, "v", "c"),
                )
            )
        )
        streak, balance, generation = conn.read_response()
        version, snapshot = conn.read_response()
    except Exception:
        logger.warning(
            "Redis unreachable: context of player %s read from the database, win streak 0", player_id, exc_info=True
        )
        if conn is not None:
            conn.disconnect()  # its answers are unread: the next command reconnects
        return None
    return _HotRead(
        0 if streak is None else int(streak),
        None if balance is None else int(balance),
        context_cache.text(generation),
        context_cache.text(version),
        snapshot,
    )


def _context_from_row(row: Sequence[Any], *, now: dt.datetime, streak: int, vendor: str) -> Context:
    (
        locale,
        tz_name,
        balance,
        rfm_group,
        risk_profile,
        hours,
        last_visit,
        month_tokens,
        spent,
        markers,
        peak_hour,
        _last_entry_id,
    ) = row[:_N_CONTEXT_COLUMNS]
    peak = DEFAULT_PEAK_HOUR if peak_hour is None else int(peak_hour)
    if locale is None:  # no players row
        return Context(now=now, win_streak=streak, timezone=settings.BUSINESS_TIMEZONE, population_peak_hour=peak)
    paused: str | None = None
    paused_until: dt.datetime | None = None
    limit_reached = False
    protection = _protection(row[_N_CONTEXT_COLUMNS:], vendor)
    if protection is not None:
        protection.apply_due(now)  # a pending raise whose time has come counts, as in the wallet (not saved)
        if protection.is_self_excluded(now):
            paused, paused_until = SELF_EXCLUSION, protection.self_excluded_until
        elif protection.is_cooling_off(now):
            paused, paused_until = COOL_OFF, protection.cool_off_until
        daily, weekly = protection.daily_spend_limit, protection.weekly_spend_limit
        spent_today, spent_week = _spent_pair(spent)
        limit_reached = (daily is not None and spent_today >= daily) or (weekly is not None and spent_week >= weekly)
    risk = risk_profile or None
    return Context(
        now=now,
        segment=rfm_group or None,
        risk_profile=risk,
        balance=int(balance or 0),
        win_streak=streak,
        last_corporate_visit_at=_aware(last_visit),
        corporate_tokens_month=int(month_tokens or 0),
        quiz_taken=risk is not None,
        paused=paused,
        paused_until=paused_until,
        spend_limit_reached=limit_reached,
        harm_markers=frozenset(markers.split(",")) if markers else frozenset(),
        play_hours=_play_hours(hours),
        locale=locale,
        timezone=tz_name,
        population_peak_hour=peak,
    )


def snapshot_rows(*, first_id: int, last_id: int, now: dt.datetime) -> list[tuple[int, Sequence[Any]]]:
    """``(player id, context row)`` for the players with ids in [first_id, last_id], as ``recommendation_context``'s
    statement reads them. One statement."""
    conn = connections[DEFAULT_DB_ALIAS]
    sql, params = _context_statement(conn, now, business_month_start(now), (first_id, last_id))
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return [(int(row[-1]), row[:-1]) for row in cursor.fetchall()]


def _protection(values: Sequence[Any], vendor: str) -> PlayerProtection | None:
    """The player's protection row from the statement's last columns (None without one). SQLite gives its times
    naive (UTC)."""
    if values[0] is not None and vendor != "postgresql":
        values = [_aware(v) if i in _PROTECTION_TIME_COLUMNS else v for i, v in enumerate(values)]
    return protection_from_row(values)


_PROTECTION_TIME_COLUMNS = frozenset(
    i for i, f in enumerate(PlayerProtection._meta.concrete_fields) if f.get_internal_type() == "DateTimeField"
)


# --- the play-hour rollup's reads ------------------------------------------------------------------------------

ROUND_TYPES = ("GAME_PLAY", "FAIL_GAME")  # a game round, won, lost or failed


def play_hour_counts(
    *, first_id: int, last_id: int, timezone: str, since: dt.datetime, until: dt.datetime
) -> list[tuple[int, int, int]]:
    """``(user_id, local hour, rounds)`` for the players with ids in [first_id, last_id] whose timezone is
    ``timezone``: their game rounds in [since, until), grouped by hour of day on their clock. One query."""
    try:
        tz = zone(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = dt.UTC  # a name the model's validator would refuse: read as UTC, like the engine does
    return list(
        UserAction.objects.filter(
            user_id__gte=first_id,
            user_id__lte=last_id,
            user__timezone=timezone,
            action_type__in=ROUND_TYPES,
            action_timestamp__gte=since,
            action_timestamp__lt=until,
        )
        .annotate(hour=ExtractHour("action_timestamp", tzinfo=tz))
        .values_list("user_id", "hour")
        .annotate(rounds=Count("id"))
        .order_by()
    )


def population_play_hours() -> PopulationPlayHours | None:
    return PopulationPlayHours.objects.filter(id=PopulationPlayHours.SINGLETON_ID).first()
