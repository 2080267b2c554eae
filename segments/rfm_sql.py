"""The nightly RFM batch as SQL text (design brief section 4): one shape per database vendor.

Every value that comes from data or from the operator (thresholds, group names, reward amounts, dates,
ids) travels as a named parameter; the SQL text is built only from the rule *shape* (which bounds are
set) and from code constants (column names, the scratch table's name, derived from the run id).

1. ``stage``: one ``CREATE TABLE ... AS SELECT`` computes, for every known player, R, F, M, the Company
   A figures, the balance, the new group (the rules' ``CASE``) and the previous group. On PostgreSQL the
   window's aggregate runs as a parallel plan (a data-modifying statement could not) into an UNLOGGED table.
   Its rows are written in user-id order, so a range's rows are neighbours (read once, in index order).
2. ``apply`` (per user-id range, one transaction): history rows for the group changes, an UPDATE of the
   rows that differ (``IS DISTINCT FROM``: a re-run of the same date writes nothing), an INSERT of the players
   first seen.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from activity.registry import SPENDING_TYPES
from segments.models import GROUP_RANK, Group

WINDOW_DAYS = 30

# What the figures mean, recorded on each run: an incremental run may start only from a run whose figures meant the
# same (a change would be added to totals counted another way). 1: M counted SPEND_CYBER_TOKENS only; 2: M counts
# every spend, content unlocks too (``SPENDING_TYPES``; issue 15).
FIGURES_VERSION = 2
_SPENDING = "(" + ", ".join(f"'{t}'" for t in SPENDING_TYPES) + ")"  # code constants, not input

# The columns of the scratch table that user_segments and the history take over, in this order.
COMPUTED = (
    "recency_days",
    "frequency",
    "monetary",
    "corporate_tokens_30d",
    "corporate_visits_30d",
    "balance",
    "last_action_at",
)


@dataclass(frozen=True)
class Rule:
    """A segment rule as a run uses it (a snapshot: later edits do not reach a running batch)."""

    group: str
    enabled: bool = True
    min_recency_days: int | None = None
    max_recency_days: int | None = None
    min_frequency: int | None = None
    max_frequency: int | None = None
    min_monetary: int | None = None
    max_monetary: int | None = None
    require_min_balance: bool = False
    min_balance: int | None = None
    require_corporate_visits: bool = False
    min_corporate_visits: int | None = None
    max_corporate_visits: int | None = None
    upgrade_reward_tokens: int = 0

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> Rule:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def bounds(self) -> list[tuple[str, str, int]]:
        """(column, operator, value) for each condition in force."""
        found: list[tuple[str, str, int]] = []

        def add(column: str, op: str, value: int | None) -> None:
            if value is not None:
                found.append((column, op, value))

        add("recency_days", ">=", self.min_recency_days)
        add("recency_days", "<=", self.max_recency_days)
        add("frequency", ">=", self.min_frequency)
        add("frequency", "<=", self.max_frequency)
        add("monetary", ">=", self.min_monetary)
        add("monetary", "<=", self.max_monetary)
        if self.require_min_balance:
            add("balance", ">=", self.min_balance)
        if self.require_corporate_visits:
            add("corporate_visits_30d", ">=", self.min_corporate_visits)
            add("corporate_visits_30d", "<=", self.max_corporate_visits)
        return found


def typed(name: str, sql_type: str, vendor: str) -> str:
    """A named placeholder, with its type spelled out for PostgreSQL (parameters are bound by the server, which
    cannot infer the type of a value in a select list)."""
    return f"%({name})s::{sql_type}" if vendor == "postgresql" else f"%({name})s"


class Params(dict[str, Any]):
    """Named parameters: ``add(value)`` stores the value and answers its placeholder."""

    def add(self, value: Any) -> str:
        name = f"p{len(self)}"
        self[name] = value
        return f"%({name})s"


def group_case(rules: Sequence[Rule], params: Params, prefix: str = "") -> str:
    """The rules as one ``CASE``: the first enabled rule whose bounds all hold names the group, else Low.

    A player with no action at all (R is null) is Low whatever the rules say (design brief section 4).
    """
    whens = []
    for rule in rules:
        if not rule.enabled:
            continue
        conditions = [f"{prefix}recency_days IS NOT NULL"]
        conditions += [f"{prefix}{column} {op} {params.add(value)}" for column, op, value in rule.bounds()]
        whens.append(f"WHEN {' AND '.join(conditions)} THEN {params.add(rule.group)}")
    low = params.add(str(Group.LOW))
    return f"CASE {' '.join(whens)} ELSE {low} END" if whens else low


def rank_case(column: str, params: Params) -> str:
    whens = " ".join(f"WHEN {params.add(str(g))} THEN {rank}" for g, rank in GROUP_RANK.items())
    return f"CASE {column} {whens} ELSE 0 END"


def reward_case(column: str, rules: Sequence[Rule], params: Params) -> str:
    whens = " ".join(
        f"WHEN {params.add(r.group)} THEN {params.add(int(r.upgrade_reward_tokens))}"
        for r in rules
        if r.enabled and r.upgrade_reward_tokens > 0
    )
    return f"CASE {column} {whens} ELSE 0 END" if whens else "0"


def window(as_of: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """[D - 30 days, D): the ends are midnights in the business timezone, as aware UTC datetimes."""
    zone = zoneinfo.ZoneInfo(tz)
    start = dt.datetime.combine(as_of - dt.timedelta(days=WINDOW_DAYS), dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(as_of, dt.time.min, tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


# --- 1. stage ------------------------------------------------------------------------------------------------
#
# Every statement counts only actions with ids up to the run's watermark (``activity.selectors.actions_watermark``:
# every id at or below it had committed when the run began), so what a run counted is exactly "the actions of its
# window with id <= watermark" and the next run can tell which actions it has not counted yet.
#
# Full: covered is every known player, that is every players row (a segment row has one; an action of an id
# without one, which the log allows, decision 0003, gets no row: user_segments has the foreign key). R comes from
# the last action in the window, else (no action in the window) from the last action before it, found through the
# (user_id, action_timestamp) index for those players only; no action at all: R is null. A row already computed
# for a later date (``is_newer``) is left alone by apply.


def _sums(vendor: str, *, weight: str = "", prefix: str = "") -> str:
    """The window's per-player figures as aggregate expressions: F (count), the last action, M (the ``spent_tokens``
    of every spend: game buy-ins and content unlocks), the Company A tokens and visits. ``weight``: an expression
    (+1, 0 or -1 per row) that each figure is multiplied by (the incremental change); the last action is taken over
    the rows of weight 0 or more."""
    col = f"{prefix}action_timestamp"
    typ, meta = f"{prefix}action_type", f"{prefix}metadata"
    w = f"{weight} * " if weight else ""
    if vendor == "postgresql":
        spent, earned = f"({meta}->>'spent_tokens')::bigint", f"({meta}->>'earned_tokens')::bigint"
        corporate = f"{typ} = 'EARN_CYBER_TOKENS' AND {meta}->>'source' = 'corporate'"
        return (
            f"{f'sum({weight})' if weight else 'count(*)'} AS f, "
            f"max({col}){f' FILTER (WHERE {weight} >= 0)' if weight else ''} AS last_ts, "
            f"sum({w}{spent}) FILTER (WHERE {typ} IN {_SPENDING}) AS m, "
            f"sum({w}{earned}) FILTER (WHERE {corporate}) AS ct, "
            f"{f'sum({weight})' if weight else 'count(*)'} FILTER (WHERE {typ} = 'CORPORATE_VISIT') AS cv"
        )
    spent, earned = f"json_extract({meta}, '$.spent_tokens')", f"json_extract({meta}, '$.earned_tokens')"
    corporate = f"{typ} = 'EARN_CYBER_TOKENS' AND json_extract({meta}, '$.source') = 'corporate'"
    one = weight or "1"
    return (
        f"{f'sum({weight})' if weight else 'count(*)'} AS f, "
        f"max({f'CASE WHEN {weight} >= 0 THEN {col} END' if weight else col}) AS last_ts, "
        f"sum(CASE WHEN {typ} IN {_SPENDING} THEN {w}{spent} END) AS m, "
        f"sum(CASE WHEN {corporate} THEN {w}{earned} END) AS ct, "
        f"sum(CASE WHEN {typ} = 'CORPORATE_VISIT' THEN {one} ELSE 0 END) AS cv"
    )


_BARE_AGGREGATE_PG = f"""
  SELECT user_id, {_sums("postgresql")}
  FROM user_actions
  WHERE action_timestamp >= %(start)s AND action_timestamp < %(end)s
  GROUP BY user_id"""  # noqa: S608 (names from code, values bound)
_AGGREGATE_PG = _BARE_AGGREGATE_PG.replace("< %(end)s", "< %(end)s AND id <= %(watermark)s")

_STAGE_PG = """
CREATE UNLOGGED TABLE {table} AS
WITH a AS ({aggregate}
), c AS (
  SELECT p.id AS user_id,
    s.user_id IS NOT NULL AS has_row,
    CASE WHEN s.as_of IS NOT NULL THEN s.rfm_group END AS old_group,
    coalesce(s.as_of > %(as_of)s::date, false) AS is_newer,
    coalesce(a.last_ts, pr.ts) AS last_action_at,
    coalesce(a.f, 0)::integer AS frequency,
    coalesce(a.m, 0)::bigint AS monetary,
    coalesce(a.ct, 0)::bigint AS corporate_tokens_30d,
    coalesce(a.cv, 0)::integer AS corporate_visits_30d,
    coalesce(w.balance, 0)::bigint AS balance
  FROM players p
  LEFT JOIN a ON a.user_id = p.id
  LEFT JOIN user_segments s ON s.user_id = p.id
  LEFT JOIN LATERAL (
    SELECT max(x.action_timestamp) AS ts FROM user_actions x
    WHERE a.user_id IS NULL AND x.user_id = p.id AND x.action_timestamp < %(start)s AND x.id <= %(watermark)s
  ) pr ON true
  LEFT JOIN wallets w ON w.player_id = p.id
){tail} ORDER BY user_id
"""

# R, then the group: shared by every way of computing the rows (``c``: user_id, has_row, old_group, is_newer,
# last_action_at, the figures, balance). PostgreSQL: OFFSET 0 keeps ``r`` a subquery, so R is computed once per
# row, not once per mention in the CASE.
_TAIL_PG = """, r AS (
  SELECT c.*, (%(as_of)s::date - (c.last_action_at AT TIME ZONE %(tz)s::text)::date) AS recency_days FROM c OFFSET 0
)
SELECT r.*, {group_case} AS new_group FROM r"""

# SQLite: the business date of a UTC time by Django's own SQL function (registered on every SQLite connection,
# the one the ORM's TruncDate uses); json_extract for the metadata; no FULL JOIN (older SQLite builds lack it).
_TAIL_SQLITE = """, r AS (
  SELECT c.*, CAST(julianday(%(as_of)s) - julianday(django_datetime_cast_date(c.last_action_at, %(tz)s, 'UTC'))
    AS INTEGER) AS recency_days FROM c
)
SELECT r.*, {group_case} AS new_group FROM r"""

_STAGE_SQLITE = f"""
CREATE TABLE {{table}} AS
WITH a AS (
  SELECT user_id, {_sums("sqlite")}
  FROM user_actions
  WHERE action_timestamp >= %(start)s AND action_timestamp < %(end)s AND id <= %(watermark)s
  GROUP BY user_id
), c AS (
  SELECT p.id AS user_id,
    s.user_id IS NOT NULL AS has_row,
    CASE WHEN s.as_of IS NOT NULL THEN s.rfm_group END AS old_group,
    coalesce(s.as_of > %(as_of)s, 0) AS is_newer,
    coalesce(a.last_ts, CASE WHEN a.user_id IS NULL THEN (
      SELECT max(x.action_timestamp) FROM user_actions x WHERE x.user_id = p.id AND x.action_timestamp < %(start)s
        AND x.id <= %(watermark)s
    ) END) AS last_action_at,
    CAST(coalesce(a.f, 0) AS INTEGER) AS frequency,
    CAST(coalesce(a.m, 0) AS INTEGER) AS monetary,
    CAST(coalesce(a.ct, 0) AS INTEGER) AS corporate_tokens_30d,
    CAST(coalesce(a.cv, 0) AS INTEGER) AS corporate_visits_30d,
    CAST(coalesce(w.balance, 0) AS INTEGER) AS balance
  FROM players p
  LEFT JOIN a ON a.user_id = p.id
  LEFT JOIN user_segments s ON s.user_id = p.id
  LEFT JOIN wallets w ON w.player_id = p.id
){{tail}} ORDER BY user_id
"""  # noqa: S608 (names from code, values bound)


def _tail(vendor: str, rules: Sequence[Rule], params: Params) -> str:
    template = _TAIL_PG if vendor == "postgresql" else _TAIL_SQLITE
    return template.format(group_case=group_case(rules, params, prefix="r."))


def stage_sql(vendor: str, table: str, rules: Sequence[Rule]) -> tuple[str, Params]:
    """A full run's statement that fills the scratch table; the caller adds start, end, as_of, tz, watermark."""
    params = Params()
    tail = _tail(vendor, rules, params)
    if vendor == "postgresql":
        return _STAGE_PG.format(table=table, aggregate=_AGGREGATE_PG, tail=tail), params
    return _STAGE_SQLITE.format(table=table, tail=tail), params


def aggregate_sql() -> str:
    """The window's bare aggregate (PostgreSQL): a full run's, without the watermark condition. For benchmarks."""
    return _BARE_AGGREGATE_PG


# --- 1'. incremental: what changed since the base run, then each range computed from it -----------------------
#
# The base run B (as of P, watermark W_B) counted {id <= W_B, time in [P-30, P)}; this run (as of D >= P,
# watermark W) counts {id <= W, time in [D-30, D)}. The difference, per player, is three scans, each bounded
# by the BRIN on time or the primary key:
#   +1  time in [P, D), id <= W                 the days that entered the window (whenever they were logged);
#   +1  id in (W_B, W], time in [D-30, P)        actions logged since B for days B had counted (late ones);
#    0  id in (W_B, W], time before D-30         as late, older than the window: only the last action moves;
#   -1  time in [P-30, D-30), id <= W_B         the days that left the window, as B counted them.
# A row that B left (``as_of = P``) is then its stored figures plus the change, and its last action the later of
# the two (so a player whose actions have all left the window keeps R counting from the last one); any other
# covered player (a row B did not compute: a placeholder, a row of another date; or a player without a row, with
# or without actions) is computed from its own actions, through the (user_id, time) index.

_DELTA = """
CREATE {unlogged}TABLE {{table}} AS
SELECT user_id, {sums}
FROM (
  SELECT 1 AS w, user_id, action_type, metadata, action_timestamp FROM user_actions
  WHERE action_timestamp >= %(base_end)s AND action_timestamp < %(end)s AND id <= %(watermark)s
  UNION ALL
  SELECT CASE WHEN action_timestamp >= %(start)s THEN 1 ELSE 0 END, user_id, action_type, metadata, action_timestamp
  FROM user_actions WHERE id > %(base_watermark)s AND id <= %(watermark)s AND action_timestamp < %(base_end)s
  UNION ALL
  SELECT -1, user_id, action_type, metadata, action_timestamp FROM user_actions
  WHERE action_timestamp >= %(base_start)s AND action_timestamp < %(start)s AND id <= %(base_watermark)s
) x
GROUP BY user_id ORDER BY user_id
"""
_DELTA_PG = _DELTA.format(unlogged="UNLOGGED ", sums=_sums("postgresql", weight="x.w", prefix="x."))
_DELTA_SQLITE = _DELTA.format(unlogged="", sums=_sums("sqlite", weight="x.w", prefix="x."))


def delta_sql(vendor: str, table: str) -> str:
    """An incremental run's first statement: per player, the change of the window since the base run. Parameters:
    start, end (this run's window), base_start, base_end (the base's), watermark, base_watermark."""
    return (_DELTA_PG if vendor == "postgresql" else _DELTA_SQLITE).format(table=table)


# One range: every player in [lo, hi] (the players rows: every known player is covered every night), with their
# row of user_segments and their change, if any, and the wallet; ``base`` marks a row the base run computed: its
# figures are the stored ones plus the change. The others' come from their own actions, by LATERAL subqueries run
# for them only (the UNION's second branch: a few players a night).
_SOURCE_PG = f"""
WITH j AS (
  SELECT p.id AS user_id, s.user_id IS NOT NULL AS has_row,
    coalesce(s.as_of = %(base_as_of)s::date, false) AS base,
    CASE WHEN s.as_of IS NOT NULL THEN s.rfm_group END AS old_group,
    coalesce(s.as_of > %(as_of)s::date, false) AS is_newer,
    s.last_action_at AS s_last, s.frequency AS s_f, s.monetary AS s_m, s.corporate_tokens_30d AS s_ct,
    s.corporate_visits_30d AS s_cv, d.f, d.last_ts, d.m, d.ct, d.cv, coalesce(w.balance, 0)::bigint AS balance
  FROM (SELECT id FROM players WHERE id BETWEEN %(lo)s AND %(hi)s) p
  LEFT JOIN (SELECT * FROM user_segments WHERE user_id BETWEEN %(lo)s AND %(hi)s) s ON s.user_id = p.id
  LEFT JOIN (SELECT * FROM {{delta}} WHERE user_id BETWEEN %(lo)s AND %(hi)s) d ON d.user_id = p.id
  LEFT JOIN (SELECT player_id, balance FROM wallets WHERE player_id BETWEEN %(lo)s AND %(hi)s) w
    ON w.player_id = p.id
), c AS (
  SELECT j.user_id, j.has_row, j.old_group, j.is_newer, greatest(j.s_last, j.last_ts) AS last_action_at,
    (j.s_f + coalesce(j.f, 0))::integer AS frequency, (j.s_m + coalesce(j.m, 0))::bigint AS monetary,
    (j.s_ct + coalesce(j.ct, 0))::bigint AS corporate_tokens_30d,
    (j.s_cv + coalesce(j.cv, 0))::integer AS corporate_visits_30d, j.balance
  FROM j WHERE j.base
  UNION ALL
  SELECT j.user_id, j.has_row, j.old_group, j.is_newer, coalesce(a.last_ts, pr.ts),
    a.f::integer, coalesce(a.m, 0)::bigint, coalesce(a.ct, 0)::bigint, a.cv::integer, j.balance
  FROM j
  CROSS JOIN LATERAL (
    SELECT {_sums("postgresql", prefix="x.")} FROM user_actions x
    WHERE x.user_id = j.user_id AND x.action_timestamp >= %(start)s AND x.action_timestamp < %(end)s
      AND x.id <= %(watermark)s
  ) a
  LEFT JOIN LATERAL (
    SELECT max(x.action_timestamp) AS ts FROM user_actions x
    WHERE a.f = 0 AND x.user_id = j.user_id AND x.action_timestamp < %(start)s AND x.id <= %(watermark)s
  ) pr ON true
  WHERE NOT j.base
){{tail}}
"""  # noqa: S608 (names from code, values bound)

# SQLite: no LATERAL: the non-base players' figures by one aggregate of their own actions (``a``), joined.
# SQLite's max() of two values is NULL when either is.
_SOURCE_SQLITE = f"""
CREATE TEMPORARY TABLE {{table}} AS
WITH u AS (
  SELECT id AS user_id FROM players WHERE id BETWEEN %(lo)s AND %(hi)s
), j AS (
  SELECT u.user_id, s.user_id IS NOT NULL AS has_row, coalesce(s.as_of = %(base_as_of)s, 0) AS base, s.as_of,
    s.rfm_group, s.last_action_at AS s_last, s.frequency AS s_f, s.monetary AS s_m, s.corporate_tokens_30d AS s_ct,
    s.corporate_visits_30d AS s_cv, d.f, d.last_ts, d.m, d.ct, d.cv
  FROM u LEFT JOIN user_segments s ON s.user_id = u.user_id LEFT JOIN {{delta}} d ON d.user_id = u.user_id
), a AS (
  SELECT x.user_id, {_sums("sqlite", prefix="x.")} FROM user_actions x
  WHERE x.user_id IN (SELECT user_id FROM j WHERE NOT j.base)
    AND x.action_timestamp >= %(start)s AND x.action_timestamp < %(end)s AND x.id <= %(watermark)s
  GROUP BY x.user_id
), c AS (
  SELECT j.user_id, j.has_row,
    CASE WHEN j.as_of IS NOT NULL THEN j.rfm_group END AS old_group,
    coalesce(j.as_of > %(as_of)s, 0) AS is_newer,
    CASE WHEN j.base THEN (CASE WHEN j.last_ts IS NOT NULL AND (j.s_last IS NULL OR j.last_ts > j.s_last)
                                THEN j.last_ts ELSE j.s_last END)
         ELSE coalesce(a.last_ts, (SELECT max(x.action_timestamp) FROM user_actions x
                                   WHERE x.user_id = j.user_id AND x.action_timestamp < %(start)s
                                     AND x.id <= %(watermark)s)) END AS last_action_at,
    CAST(CASE WHEN j.base THEN j.s_f + coalesce(j.f, 0) ELSE coalesce(a.f, 0) END AS INTEGER) AS frequency,
    CAST(CASE WHEN j.base THEN j.s_m + coalesce(j.m, 0) ELSE coalesce(a.m, 0) END AS INTEGER) AS monetary,
    CAST(CASE WHEN j.base THEN j.s_ct + coalesce(j.ct, 0) ELSE coalesce(a.ct, 0) END AS INTEGER)
      AS corporate_tokens_30d,
    CAST(CASE WHEN j.base THEN j.s_cv + coalesce(j.cv, 0) ELSE coalesce(a.cv, 0) END AS INTEGER)
      AS corporate_visits_30d,
    CAST(coalesce(w.balance, 0) AS INTEGER) AS balance
  FROM j LEFT JOIN a ON a.user_id = j.user_id LEFT JOIN wallets w ON w.player_id = j.user_id
){{tail}}
"""  # noqa: S608 (names from code, values bound)


def source_sql(vendor: str, delta: str, rules: Sequence[Rule], params: Params) -> str:
    """An incremental run's rows for one range, with the stage's columns: a SELECT on PostgreSQL (the range's
    statement reads it as its first CTE, ``apply_sql``), a ``CREATE TEMPORARY TABLE range_source AS`` on SQLite.
    Parameters: lo, hi, as_of, base_as_of, start, end, tz, watermark."""
    tail = _tail(vendor, rules, params)
    if vendor == "postgresql":
        return _SOURCE_PG.format(delta=delta, tail=tail)
    return _SOURCE_SQLITE.format(table=SQLITE_RANGE_SOURCE, delta=delta, tail=tail)


SQLITE_RANGE_SOURCE = "segment_range_source"


# --- 2. apply, one user-id range -------------------------------------------------------------------------------

# Rows are computed for players rows only; this guards the writes against one deleted since a full run's stage.
KNOWN_PLAYER = "(st.has_row OR EXISTS (SELECT 1 FROM players p WHERE p.id = st.user_id))"


def apply_sql(source: str, rules: Sequence[Rule], params: Params) -> str:
    """PostgreSQL: a range applied by one statement. ``st``, the range's rows (``source``: a SELECT), computed
    once and kept in memory; from it the history rows, the UPDATE of the rows that differ, the INSERT of new
    players (``history_sql``, ``update_sql``, ``insert_sql``, as SQLite runs them one by one). Answers the rows
    covered, the history rows, the rows updated and the rows inserted."""
    history = history_sql("postgresql", "st", rules, params)
    return f"""
WITH st AS MATERIALIZED ({source}),
h AS ({history} RETURNING 1),
u AS ({update_sql("postgresql", "st")} RETURNING 1),
i AS ({insert_sql("postgresql", "st")} RETURNING 1)
SELECT (SELECT count(*) FROM st), (SELECT count(*) FROM h), (SELECT count(*) FROM u), (SELECT count(*) FROM i)
"""  # noqa: S608 (names from code, values bound)


def streaks_source(vendor: str) -> str:
    """The streak counts read from the hot store, as a relation (user_id, streak): arrays or a JSON list."""
    if vendor == "postgresql":
        return "SELECT * FROM unnest(%(k_ids)s::bigint[], %(k_streaks)s::integer[]) AS k(user_id, streak)"
    return (
        "SELECT CAST(json_extract(j.value, '$[0]') AS INTEGER) AS user_id, "
        "CAST(json_extract(j.value, '$[1]') AS INTEGER) AS streak FROM json_each(%(k_json)s) AS j"
    )


def streak_params(vendor: str, streaks: Mapping[int, int]) -> dict[str, Any]:
    """The non-zero streaks as parameters (a missing key is a streak of 0)."""
    items = sorted((uid, n) for uid, n in streaks.items() if n)
    if vendor == "postgresql":
        return {
            "k_ids": "{" + ",".join(str(u) for u, _ in items) + "}",
            "k_streaks": "{" + ",".join(str(n) for _, n in items) + "}",
        }
    import orjson

    return {"k_json": orjson.dumps(items).decode()}


def history_sql(vendor: str, table: str, rules: Sequence[Rule], params: Params) -> str:
    """History rows for the range's group changes (the first group counts as one, from null).

    A rise (from a computed group to a higher tier) into a group with a reward, in a run that pays, is
    ``pending``: the reward is paid after commit, exactly once (``services.segment_reward_pay``). The rules'
    values are added to ``params``.
    """
    rank_new, rank_old = rank_case("st.new_group", params), rank_case("st.old_group", params)
    amount = reward_case("st.new_group", rules, params)
    sql = f"""
INSERT INTO user_segment_history (user_id, as_of, from_group, to_group, recency_days, frequency, monetary,
  corporate_tokens_30d, corporate_visits_30d, balance, last_action_at, run_id, created_at, reward_tokens, reward_state)
SELECT h.user_id, {typed("as_of", "date", vendor)}, h.old_group, h.new_group, h.recency_days, h.frequency,
  h.monetary, h.corporate_tokens_30d, h.corporate_visits_30d, h.balance, h.last_action_at,
  {typed("run", "bigint", vendor)}, {typed("now", "timestamptz", vendor)},
  CASE WHEN h.reward > 0 THEN h.reward END, CASE WHEN h.reward > 0 THEN 'pending' ELSE 'none' END
FROM (
  SELECT st.*, CASE WHEN %(pay)s AND st.old_group IS NOT NULL AND {rank_new} > {rank_old} THEN {amount} ELSE 0 END
    AS reward
  FROM {table} st
  WHERE st.user_id BETWEEN %(lo)s AND %(hi)s AND NOT st.is_newer
    AND (st.old_group IS NULL OR st.old_group <> st.new_group) AND {KNOWN_PLAYER}
) h"""  # noqa: S608 (names from code, values bound)
    return sql


def update_sql(vendor: str, table: str) -> str:
    """The range's existing rows whose group, date or R/F/M inputs differ: rewritten, with the balance and the
    streak as they are now; other rows are not touched. The balance and the streak are copies of live values
    (the night's rewards move balances): they do not by themselves make a re-run of the same date write.
    (The range is stated for both tables: the planner does not carry a range across the join's equality.)"""
    distinct = "IS DISTINCT FROM" if vendor == "postgresql" else "IS NOT"
    as_of = typed("as_of", "date", vendor)
    compared = [c for c in COMPUTED if c != "balance"]
    mine = ", ".join(f"s.{c}" for c in ("rfm_group", "as_of", *compared))
    theirs = ", ".join(["st.new_group", as_of, *(f"st.{c}" for c in compared)])
    sets = ", ".join(f"{c} = st.{c}" for c in COMPUTED)
    return f"""
UPDATE user_segments AS s
SET rfm_group = st.new_group, as_of = %(as_of)s, {sets}, streak_count = coalesce(k.streak, 0), last_updated = %(now)s
FROM {table} st LEFT JOIN ({streaks_source(vendor)}) k ON k.user_id = st.user_id
WHERE st.user_id BETWEEN %(lo)s AND %(hi)s AND st.has_row AND NOT st.is_newer AND s.user_id = st.user_id
  AND s.user_id BETWEEN %(lo)s AND %(hi)s AND (s.as_of IS NULL OR s.as_of <= %(as_of)s)
  AND ({mine}) {distinct} ({theirs})
"""  # noqa: S608 (names from code, values bound)


def insert_sql(vendor: str, table: str) -> str:
    """The range's players without a row: inserted. One made meanwhile by ``get_or_create_segment`` (a Low
    placeholder) takes the computed values instead; its risk profile stays."""
    columns = ", ".join(COMPUTED)
    values = ", ".join(f"st.{c}" for c in COMPUTED)
    updates = ", ".join(
        f"{c} = excluded.{c}" for c in ("rfm_group", "as_of", *COMPUTED, "streak_count", "last_updated")
    )
    return f"""
INSERT INTO user_segments (user_id, rfm_group, risk_profile, as_of, {columns}, streak_count, last_updated)
SELECT st.user_id, st.new_group, NULL, {typed("as_of", "date", vendor)}, {values}, coalesce(k.streak, 0),
  {typed("now", "timestamptz", vendor)}
FROM {table} st LEFT JOIN ({streaks_source(vendor)}) k ON k.user_id = st.user_id
WHERE st.user_id BETWEEN %(lo)s AND %(hi)s AND NOT st.has_row AND {KNOWN_PLAYER}
ON CONFLICT (user_id) DO UPDATE SET {updates}
WHERE user_segments.as_of IS NULL OR user_segments.as_of <= excluded.as_of
"""  # noqa: S608 (names from code, values bound)
