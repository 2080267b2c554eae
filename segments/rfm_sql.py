"""The nightly RFM batch as SQL text (design brief section 4): one shape per database vendor.

Every value that comes from data or from the operator (thresholds, group names, reward amounts, dates,
ids) travels as a named parameter; the SQL text is built only from the rule *shape* (which bounds are
set) and from code constants (column names, the scratch table's name, derived from the run id).

1. ``stage``: one ``CREATE TABLE ... AS SELECT`` computes, for every covered player, R, F, M, the Company
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

from segments.models import GROUP_RANK, Group

WINDOW_DAYS = 30

# The columns of the scratch table that user_segments and the history take over, in this order.
COMPUTED = ("recency_days", "frequency", "monetary", "corporate_tokens_30d", "corporate_visits_30d", "balance",
            "last_action_at")


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
    whens = " ".join(f"WHEN {params.add(r.group)} THEN {params.add(int(r.upgrade_reward_tokens))}"
                     for r in rules if r.enabled and r.upgrade_reward_tokens > 0)
    return f"CASE {column} {whens} ELSE 0 END" if whens else "0"


def window(as_of: dt.date, tz: str) -> tuple[dt.datetime, dt.datetime]:
    """[D - 30 days, D): the ends are midnights in the business timezone, as aware UTC datetimes."""
    zone = zoneinfo.ZoneInfo(tz)
    start = dt.datetime.combine(as_of - dt.timedelta(days=WINDOW_DAYS), dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(as_of, dt.time.min, tzinfo=zone)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


# --- 1. stage ------------------------------------------------------------------------------------------------
#
# Covered: every player with a segment row or an action in the window. R comes from the
# last action in the window, else (a segment row, no action in the window) from the last action before it,
# found through the (user_id, action_timestamp) index for those players only; no action at all: R is null.
# A row already computed for a later date (``is_newer``) is left alone by apply. An action of an id without a
# players row (the log has no foreign key, decision 0003) is left out where rows are written (``KNOWN_PLAYER``),
# checked there for the players without a segment row only, not by a join of every player here.

_AGGREGATE_PG = """
  SELECT user_id, count(*) AS f, max(action_timestamp) AS last_ts,
    sum((metadata->>'spent_tokens')::bigint) FILTER (WHERE action_type = 'SPEND_CYBER_TOKENS') AS m,
    sum((metadata->>'earned_tokens')::bigint)
      FILTER (WHERE action_type = 'EARN_CYBER_TOKENS' AND metadata->>'source' = 'corporate') AS ct,
    count(*) FILTER (WHERE action_type = 'CORPORATE_VISIT') AS cv
  FROM user_actions
  WHERE action_timestamp >= %(start)s AND action_timestamp < %(end)s
  GROUP BY user_id"""

_STAGE_PG = """
CREATE UNLOGGED TABLE {table} AS
WITH a AS ({aggregate}
), c AS (
  SELECT coalesce(a.user_id, s.user_id) AS user_id,
    s.user_id IS NOT NULL AS has_row,
    CASE WHEN s.as_of IS NOT NULL THEN s.rfm_group END AS old_group,
    coalesce(s.as_of > %(as_of)s::date, false) AS is_newer,
    coalesce(a.last_ts, pr.ts) AS last_action_at,
    coalesce(a.f, 0)::integer AS frequency,
    coalesce(a.m, 0)::bigint AS monetary,
    coalesce(a.ct, 0)::bigint AS corporate_tokens_30d,
    coalesce(a.cv, 0)::integer AS corporate_visits_30d,
    coalesce(w.balance, 0)::bigint AS balance
  FROM a FULL JOIN user_segments s ON s.user_id = a.user_id
  LEFT JOIN LATERAL (
    SELECT max(x.action_timestamp) AS ts FROM user_actions x
    WHERE a.user_id IS NULL AND x.user_id = s.user_id AND x.action_timestamp < %(start)s
  ) pr ON true
  LEFT JOIN wallets w ON w.player_id = coalesce(a.user_id, s.user_id)
), r AS (
  -- OFFSET 0 keeps this a subquery: R is computed once per row, not once per mention in the CASE below.
  SELECT c.*, (%(as_of)s::date - (c.last_action_at AT TIME ZONE %(tz)s)::date) AS recency_days FROM c OFFSET 0
)
SELECT r.*, {group_case} AS new_group FROM r ORDER BY user_id
"""

# SQLite: the business date of a UTC time by Django's own SQL function (registered on every SQLite connection,
# the one the ORM's TruncDate uses); json_extract for the metadata; no FULL JOIN (older SQLite builds lack it).
_STAGE_SQLITE = """
CREATE TABLE {table} AS
WITH a AS (
  SELECT user_id, count(*) AS f, max(action_timestamp) AS last_ts,
    sum(CASE WHEN action_type = 'SPEND_CYBER_TOKENS' THEN json_extract(metadata, '$.spent_tokens') END) AS m,
    sum(CASE WHEN action_type = 'EARN_CYBER_TOKENS' AND json_extract(metadata, '$.source') = 'corporate'
        THEN json_extract(metadata, '$.earned_tokens') END) AS ct,
    sum(CASE WHEN action_type = 'CORPORATE_VISIT' THEN 1 ELSE 0 END) AS cv
  FROM user_actions
  WHERE action_timestamp >= %(start)s AND action_timestamp < %(end)s
  GROUP BY user_id
), u AS (
  SELECT user_id FROM a UNION SELECT user_id FROM user_segments
), c AS (
  SELECT u.user_id AS user_id,
    s.user_id IS NOT NULL AS has_row,
    CASE WHEN s.as_of IS NOT NULL THEN s.rfm_group END AS old_group,
    coalesce(s.as_of > %(as_of)s, 0) AS is_newer,
    coalesce(a.last_ts, CASE WHEN a.user_id IS NULL THEN (
      SELECT max(x.action_timestamp) FROM user_actions x WHERE x.user_id = u.user_id AND x.action_timestamp < %(start)s
    ) END) AS last_action_at,
    CAST(coalesce(a.f, 0) AS INTEGER) AS frequency,
    CAST(coalesce(a.m, 0) AS INTEGER) AS monetary,
    CAST(coalesce(a.ct, 0) AS INTEGER) AS corporate_tokens_30d,
    CAST(coalesce(a.cv, 0) AS INTEGER) AS corporate_visits_30d,
    CAST(coalesce(w.balance, 0) AS INTEGER) AS balance
  FROM u
  JOIN players p ON p.id = u.user_id
  LEFT JOIN a ON a.user_id = u.user_id
  LEFT JOIN user_segments s ON s.user_id = u.user_id
  LEFT JOIN wallets w ON w.player_id = u.user_id
), r AS (
  SELECT c.*, CAST(julianday(%(as_of)s) - julianday(django_datetime_cast_date(c.last_action_at, %(tz)s, 'UTC'))
    AS INTEGER) AS recency_days FROM c
)
SELECT r.*, {group_case} AS new_group FROM r ORDER BY user_id
"""


def stage_sql(vendor: str, table: str, rules: Sequence[Rule]) -> tuple[str, Params]:
    """The statement that fills the scratch table; the caller adds start, end, as_of and tz."""
    params = Params()
    case = group_case(rules, params, prefix="r.")
    if vendor == "postgresql":
        return _STAGE_PG.format(table=table, aggregate=_AGGREGATE_PG, group_case=case), params
    return _STAGE_SQLITE.format(table=table, group_case=case), params


def aggregate_sql() -> str:
    """The window's bare aggregate (PostgreSQL), as the batch computes it: for benchmarks."""
    return _AGGREGATE_PG


# --- 2. apply, one user-id range -------------------------------------------------------------------------------

KNOWN_PLAYER = "(st.has_row OR EXISTS (SELECT 1 FROM players p WHERE p.id = st.user_id))"


def streaks_source(vendor: str) -> str:
    """The streak counts read from the hot store, as a relation (user_id, streak): arrays or a JSON list."""
    if vendor == "postgresql":
        return "SELECT * FROM unnest(%(k_ids)s::bigint[], %(k_streaks)s::integer[]) AS k(user_id, streak)"
    return ("SELECT CAST(json_extract(j.value, '$[0]') AS INTEGER) AS user_id, "
            "CAST(json_extract(j.value, '$[1]') AS INTEGER) AS streak FROM json_each(%(k_json)s) AS j")


def streak_params(vendor: str, streaks: Mapping[int, int]) -> dict[str, Any]:
    """The non-zero streaks as parameters (a missing key is a streak of 0)."""
    items = sorted((uid, n) for uid, n in streaks.items() if n)
    if vendor == "postgresql":
        return {"k_ids": "{" + ",".join(str(u) for u, _ in items) + "}",
                "k_streaks": "{" + ",".join(str(n) for _, n in items) + "}"}
    import orjson

    return {"k_json": orjson.dumps(items).decode()}


def history_sql(vendor: str, table: str, rules: Sequence[Rule]) -> tuple[str, Params]:
    """History rows for the range's group changes (the first group counts as one, from null).

    A rise (from a computed group to a higher tier) into a group with a reward, in a run that pays, is
    ``pending``: the reward is paid after commit, exactly once (``services.segment_reward_pay``).
    """
    params = Params()
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
) h
"""
    return sql, params


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
"""


def insert_sql(vendor: str, table: str) -> str:
    """The range's players without a row: inserted. One made meanwhile by ``get_or_create_segment`` (a Low
    placeholder) takes the computed values instead; its risk profile stays."""
    columns = ", ".join(COMPUTED)
    values = ", ".join(f"st.{c}" for c in COMPUTED)
    updates = ", ".join(f"{c} = excluded.{c}" for c in ("rfm_group", "as_of", *COMPUTED, "streak_count",
                                                          "last_updated"))
    return f"""
INSERT INTO user_segments (user_id, rfm_group, risk_profile, as_of, {columns}, streak_count, last_updated)
SELECT st.user_id, st.new_group, NULL, {typed("as_of", "date", vendor)}, {values}, coalesce(k.streak, 0),
  {typed("now", "timestamptz", vendor)}
FROM {table} st LEFT JOIN ({streaks_source(vendor)}) k ON k.user_id = st.user_id
WHERE st.user_id BETWEEN %(lo)s AND %(hi)s AND NOT st.has_row AND {KNOWN_PLAYER}
ON CONFLICT (user_id) DO UPDATE SET {updates}
WHERE user_segments.as_of IS NULL OR user_segments.as_of <= excluded.as_of
"""
