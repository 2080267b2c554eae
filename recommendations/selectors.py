"""Reads for recommendations: a player's recommendation context (one SQL statement and one Redis round trip), what
the nightly jobs read (harm markers' action stream, play hours), and the bandit's posteriors and the variants'
figures for the admin."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.timezone import now as django_now

from activity.selectors import actions_by_local_hour, actions_stream
from core.timezones import zone
from players.age import business_today, is_verified_adult
from players.selectors import live_read, protection_columns, protection_from_row
from recommendations.engine import COOL_OFF, HOURS, SELF_EXCLUSION, Context, NextStage
from recommendations.harm import NOT_IN_APP, HarmEvent, HarmThresholds
from texts.figures import VariantFigures, VariantRef

logger = logging.getLogger(__name__)


def harm_events_by_player(
    *, first_id: int, last_id: int, as_of: dt.datetime, thresholds: HarmThresholds, chunk_size: int = 5000
) -> Iterator[tuple[int, list[HarmEvent]]]:
    """``(user_id, events)`` for each player with ids in [first_id, last_id] who has actions the detectors use,
    in player order: spends over the whole history the spend norm needs, the other in-app actions over the
    recent nights (``activity.selectors.actions_stream``: one query, streamed, in (user_id, time) order)."""
    rows = actions_stream(
        first_id=first_id,
        last_id=last_id,
        until=as_of,
        spends_since=as_of - thresholds.history,
        others_since=as_of - thresholds.session_history,
        others_excluded=NOT_IN_APP,
        chunk_size=chunk_size,
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


# --- a player's recommendation context: one SQL statement and one Redis round trip ---------------------------
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


class ContextRow(NamedTuple):
    """The statement's columns before the protection row's."""

    locale: str | None  # None: no players row
    timezone: str | None
    balance: int | None
    rfm_group: str | None
    risk_profile: str | None
    play_hours: Any  # the jsonb's text (or a list)
    last_visit: Any  # text (PostgreSQL's timestamptz as text, SQLite's naive UTC) or None
    month_tokens: Any  # PostgreSQL's SUM of a bigint is a numeric
    spent: Any  # (today, this week): PostgreSQL's array or SQLite's JSON text; None without a spend limit
    harm_markers: str | None  # comma-separated
    peak_hour: int | None
    age_verified: Any  # PostgreSQL's bool, SQLite's 0/1; None without a players row
    birth_date: Any  # a date (PostgreSQL) or its text (SQLite)
    next_stage: (
        Any  # [id, stage, name, price, level] of the first active stage not unlocked, JSON; None unless verified
    )


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
    json_array: str


def _context_sql(dialect: _Dialect) -> str:
    """The statement; spend today and this week come from one scan of the week's SPEND ledger rows (the local day
    starts inside the local week), the day's share by a FILTER, as a pair: ``pair`` opens and closes it."""
    visit_as_text, spent_today, spent_this_week, pair, string_agg, json_array = dialect
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
  p.age_verified, p.birth_date,
  CASE WHEN p.age_verified THEN (
    SELECT {json_array}(c.id, c.stage, c.name, c.token_price, c.required_segment_level) FROM adult_content c
    WHERE c.is_active AND NOT EXISTS (SELECT 1 FROM content_unlocks u WHERE u.user_id = p.id AND u.content_id = c.id)
    ORDER BY c.stage LIMIT 1
  ) END,
  {_PROTECTION_COLUMNS}
FROM (SELECT 1 AS one) AS one
LEFT JOIN players p ON p.id = %s
LEFT JOIN player_protection pp ON pp.player_id = p.id
LEFT JOIN wallets w ON w.player_id = p.id
LEFT JOIN user_segments s ON s.user_id = p.id
LEFT JOIN player_play_hours ph ON ph.user_id = p.id
"""  # noqa: S608 (names from code, values bound)


# Parameters, in order: month start, now (day), now (week), player id. The connection's time zone is UTC
# (Django's, with USE_TZ), so a timestamptz as text ends in "+00". The spend pair is a bigint array.
_POSTGRESQL_DIALECT = _Dialect(
    visit_as_text="v.visit_timestamp::text",
    spent_today="l.created_at >= (date_trunc('day', %s::timestamptz AT TIME ZONE p.timezone) AT TIME ZONE p.timezone)",
    spent_this_week="l.created_at >= (date_trunc('week', %s::timestamptz AT TIME ZONE p.timezone) AT TIME ZONE "
    "p.timezone)",
    pair=("ARRAY[", "]::bigint[]"),
    string_agg="string_agg",
    json_array="json_build_array",
)
_CONTEXT_SQL_POSTGRESQL = _context_sql(_POSTGRESQL_DIALECT)

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
    json_array="json_array",
)
_CONTEXT_SQL_SQLITE = _context_sql(_SQLITE_DIALECT)

_N_CONTEXT_COLUMNS = len(ContextRow._fields)  # then the protection row's columns
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


def _context_statement(conn: Any, now: dt.datetime, month_start: dt.datetime, player_id: int) -> tuple[str, list[Any]]:
    if conn.vendor == "postgresql":
        return _CONTEXT_SQL_POSTGRESQL, [month_start, now, now, player_id]
    if conn.vendor == "sqlite":
        adapt = conn.ops.adapt_datetimefield_value
        now_text = adapt(now)
        return _CONTEXT_SQL_SQLITE, [adapt(month_start), now_text, adapt(now - _WEEK_AND_A_DAY), now_text, player_id]
    raise NotImplementedError(f"recommendation context: no SQL for {conn.vendor}")


def recommendation_context(*, player_id: int, now: dt.datetime) -> Context:
    """Everything ``recommendations.engine.recommend`` needs for ``player_id`` at ``now``: one SQL statement
    (player, protection, balance, segment, play hours, last Company A visit, Company A tokens this month, spend
    today and this week, harm markers, population peak hour, the age verification and, for a verified player, the
    first active content stage they have not unlocked) and one hot-store round trip (the win streak and the live
    harm signals).

    A player without a players row gets a new player's context (no segment, balance 0, never visited, the
    business timezone, Korean). Without a ``user_segments`` row the segment and risk profile are None, which the
    engine treats as Low (Quiz) and "no quiz taken". The quiz is taken when the player has a risk profile.
    """
    conn = connections[DEFAULT_DB_ALIAS]
    sql, params = _context_statement(conn, now, business_month_start(now), player_id)
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        row: Sequence[Any] = cursor.fetchone()
    timezone = row[ContextRow._fields.index("timezone")] or settings.BUSINESS_TIMEZONE
    # Spec 2.3.2's win streak and the live harm signals: one hot-store round trip (players.selectors.live_read).
    # The hot store down: streak 0 and no live signals, since a recommendation never fails for them (the nightly
    # markers and the player's own settings still apply).
    streak, live = live_read(player_id=player_id, now=now, tz=zone(timezone))
    return _context_from_row(row, now=now, streak=streak, live_signals=live)


def _context_from_row(
    row: Sequence[Any], *, now: dt.datetime, streak: int, live_signals: Mapping[str, Mapping[str, Any]]
) -> Context:
    r = ContextRow._make(row[:_N_CONTEXT_COLUMNS])
    peak = DEFAULT_PEAK_HOUR if r.peak_hour is None else int(r.peak_hour)
    if r.locale is None or r.timezone is None:  # no players row
        return Context(
            now=now,
            win_streak=streak,
            timezone=settings.BUSINESS_TIMEZONE,
            population_peak_hour=peak,
            live_signals=live_signals,
        )
    paused: str | None = None
    paused_until: dt.datetime | None = None
    limit_reached = False
    limit_left: int | None = None
    protection = protection_from_row(row[_N_CONTEXT_COLUMNS:])
    if protection is not None:
        protection.apply_due(now)  # a pending raise whose time has come counts, as in the wallet (not saved)
        if protection.is_self_excluded(now):
            paused, paused_until = SELF_EXCLUSION, protection.self_excluded_until
        elif protection.is_cooling_off(now):
            paused, paused_until = COOL_OFF, protection.cool_off_until
        daily, weekly = protection.daily_spend_limit, protection.weekly_spend_limit
        spent_today, spent_week = _spent_pair(r.spent)
        limit_reached = (daily is not None and spent_today >= daily) or (weekly is not None and spent_week >= weekly)
        lefts = [limit - spent for limit, spent in ((daily, spent_today), (weekly, spent_week)) if limit is not None]
        limit_left = max(min(lefts), 0) if lefts else None
    risk = r.risk_profile or None
    adult = is_verified_adult(
        age_verified=bool(r.age_verified), birth_date=_date(r.birth_date), today=business_today(now)
    )
    return Context(
        now=now,
        segment=r.rfm_group or None,
        risk_profile=risk,
        balance=int(r.balance or 0),
        win_streak=streak,
        last_corporate_visit_at=_aware(r.last_visit),
        corporate_tokens_month=int(r.month_tokens or 0),
        quiz_taken=risk is not None,
        paused=paused,
        paused_until=paused_until,
        spend_limit_reached=limit_reached,
        spend_limit_left=limit_left,
        harm_markers=frozenset(r.harm_markers.split(",")) if r.harm_markers else frozenset(),
        live_signals=live_signals,
        play_hours=_play_hours(r.play_hours),
        locale=r.locale,
        timezone=r.timezone,
        population_peak_hour=peak,
        verified_adult=adult,
        next_stage=_next_stage(r.next_stage) if adult else None,
    )


def _date(value: Any) -> dt.date | None:
    """A date from the statement: PostgreSQL's date, or SQLite's text."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)


def _next_stage(value: Any) -> NextStage | None:
    """The next stage from the statement's JSON array (PostgreSQL's driver parses it; SQLite gives its text)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)):
        value = orjson.loads(value)
    content_id, stage, name, price, level = value
    return NextStage(int(content_id), int(stage), str(name), int(price), int(level))


# --- the play-hour rollup's reads ------------------------------------------------------------------------------

ROUND_TYPES = ("GAME_PLAY", "FAIL_GAME")  # a game round, won, lost or failed


def play_hour_counts(
    *, first_id: int, last_id: int, timezone: str, since: dt.datetime, until: dt.datetime
) -> list[tuple[int, int, int]]:
    """``(user_id, local hour, rounds)`` for the players with ids in [first_id, last_id] whose timezone is
    ``timezone``: their game rounds in [since, until), grouped by hour of day on their clock. One query."""
    return actions_by_local_hour(
        first_id=first_id, last_id=last_id, timezone=timezone, action_types=ROUND_TYPES, since=since, until=until
    )


def served_row_counts(
    *, impressions_of: Sequence[int], suppressions_of: Sequence[int], since: dt.datetime, until: dt.datetime
) -> dict[tuple[str, int], int]:
    """Rows recorded in [since, until) per kind (``impression``, ``suppression``) and player: the impressions of the
    players ``impressions_of`` and the suppressions of ``suppressions_of``. One statement (a UNION ALL of two grouped
    counts, each on its table's ``(user_id, served_at)`` index; just one of them when the other list is empty)."""
    from django.db.models import Count, Value

    from recommendations.models import RecommendationImpression, RecommendationSuppression

    parts: list[Any] = []
    for kind, model, player_ids in (
        ("impression", RecommendationImpression, impressions_of),
        ("suppression", RecommendationSuppression, suppressions_of),
    ):
        if player_ids:
            parts.append(
                model.objects.filter(user_id__in=player_ids, served_at__gte=since, served_at__lt=until)
                .values("user_id")
                .annotate(n=Count("*"), kind=Value(kind))
                .values_list("kind", "user_id", "n")
            )
    if not parts:
        return {}
    query = parts[0] if len(parts) == 1 else parts[0].union(parts[1], all=True)
    return {(str(kind), int(user_id)): int(n) for kind, user_id, n in query}


# --- message variants: the bandit's posteriors, and the admin's figures ------------------------------------------

PosteriorKey = tuple[str, str, str, str]  # (message_key, variant, rfm_group, locale); variant "" = the default text


def variant_posteriors() -> dict[PosteriorKey, tuple[float, float]]:
    """Every ``VariantPosterior`` as ``{(message_key, variant, rfm_group, locale): (alpha, beta)}``, in one query."""
    from recommendations.models import VariantPosterior

    rows = VariantPosterior.objects.values_list("message_key", "variant", "rfm_group", "locale", "alpha", "beta")
    return {(key, variant, group, locale): (alpha, beta) for key, variant, group, locale, alpha, beta in rows}


VARIANT_SHARE_DAYS = 7


def variant_admin_figures(
    refs: Iterable[VariantRef], *, now: dt.datetime | None = None
) -> dict[VariantRef, VariantFigures]:
    """The admin's figures (``texts.figures.VariantFigures``) of the variants ``refs`` ``(key, locale, name)``: the
    posterior mean pooled over the RFM groups (``alpha / (alpha + beta)`` of 1 plus the groups' alpha - 1 and beta - 1)
    and the variant's share of its message's shown impressions in that locale over the last ``VARIANT_SHARE_DAYS``
    days (holdout rows left out). Two grouped queries for a page; the second reads the impressions of the page's
    messages since then, by time (an admin page, not a request path)."""
    from django.db.models import Count, Sum

    from recommendations.models import RecommendationImpression, VariantPosterior

    wanted = set(refs)
    keys = sorted({key for key, _, _ in wanted})
    if not keys:
        return {}
    pooled: dict[VariantRef, tuple[float, float]] = {}
    for key, locale, name, alpha, beta, groups in (
        VariantPosterior.objects.filter(message_key__in=keys)
        .values("message_key", "locale", "variant")
        .annotate(a=Sum("alpha"), b=Sum("beta"), n=Count("*"))
        .values_list("message_key", "locale", "variant", "a", "b", "n")
    ):
        pooled[(key, locale, name)] = (1 + alpha - groups, 1 + beta - groups)
    since = (now or django_now()) - dt.timedelta(days=VARIANT_SHARE_DAYS)
    shown: dict[VariantRef, int] = {}
    totals: dict[tuple[str, str], int] = {}
    for key, locale, name, n in (
        RecommendationImpression.objects.filter(message_key__in=keys, served_at__gte=since, holdout=False)
        .values("message_key", "locale", "variant")
        .annotate(n=Count("*"))
        .values_list("message_key", "locale", "variant", "n")
    ):
        shown[(key, locale, name)] = n
        totals[(key, locale)] = totals.get((key, locale), 0) + n
    figures = {}
    for ref in wanted:
        key, locale, _ = ref
        belief = pooled.get(ref)
        total = totals.get((key, locale), 0)
        figures[ref] = VariantFigures(
            posterior_mean=None if belief is None else belief[0] / (belief[0] + belief[1]),
            share_7d=None if total == 0 else shown.get(ref, 0) / total,
        )
    return figures
