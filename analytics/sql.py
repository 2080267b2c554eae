"""The rollups as SQL text, one shape for SQLite and PostgreSQL (docs/metrics.md defines each figure).

Each figure family is one statement over a range of business days (never a statement per player or per day). Values
travel as named parameters; the SQL text is built only from code constants (action types from the registry, column
names, the segment rules' shape). The dialect differs in four places only: a timestamp's date and clock on a named
time zone, date arithmetic, JSON metadata (and a JSON array's elements) and the list of days (a recursive CTE).

Reads of other apps' tables here (``user_actions``, ``token_ledger``, ``players``, ``user_segment_history``,
``user_segments``, ``recommendation_impressions``, ``recommendation_suppressions``, ``notifications``,
``player_protection``, ``player_harm_markers``) are reads only, where one statement is the point
(docs/ARCHITECTURE.md); analytics writes only its own tables.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from activity.registry import SPENDING_TYPES, app_activity_types
from core.sql import Dialect
from players.live_harm import LIVE_SIGNALS
from segments.rfm_sql import Rule


def _in_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"  # code constants (registry names), not input


APP = _in_list(app_activity_types())
SPENDING = _in_list(SPENDING_TYPES)
CORPORATE_EARN = "(a.action_type = 'EARN_CYBER_TOKENS' AND {src} = 'corporate')"


# Which actions a statement reads: a range of business days (``s``, ``e``: its UTC bounds) up to the watermark ``wm``
# (a rebuild), or the actions logged since the last refresh, ids in (``lo``, ``hi``] (a refresh merges them in), or
# those of them outside a range (a rebuild's catch-up).
IN_RANGE = "a.action_timestamp >= %(s)s AND a.action_timestamp < %(e)s AND a.id <= %(wm)s"
LOGGED_SINCE = "a.id > %(lo)s AND a.id <= %(hi)s"
LOGGED_SINCE_OUTSIDE = f"{LOGGED_SINCE} AND (a.action_timestamp < %(s)s OR a.action_timestamp >= %(e)s)"


def _earliest(table: str, column: str) -> str:
    """The earlier of the stored and the incoming value (either may be null)."""
    old, new = f"{table}.{column}", f"excluded.{column}"
    return f"CASE WHEN {new} IS NULL THEN {old} WHEN {old} IS NULL OR {new} < {old} THEN {new} ELSE {old} END"


def _latest(table: str, column: str) -> str:
    old, new = f"{table}.{column}", f"excluded.{column}"
    return f"CASE WHEN {new} IS NULL THEN {old} WHEN {old} IS NULL OR {new} > {old} THEN {new} ELSE {old} END"


def player_days_insert(d: Dialect, where: str, *, merge: bool) -> str:
    """Player-days of the actions ``where`` selects: inserted (a rebuilt range, emptied first) or merged into the
    stored rows (counts added, the earliest earn and the latest spend kept): the log is append-only, so adding the
    new actions' figures to a day's row gives what recounting the day would."""
    corporate_earn = CORPORATE_EARN.format(src=d.json_text("a.metadata", "source"))
    day = d.bdate("a.action_timestamp")
    app = f"SUM(CASE WHEN a.action_type IN {APP} THEN 1 ELSE 0 END)"
    corporate = f"SUM(CASE WHEN a.action_type = 'CORPORATE_VISIT' OR {corporate_earn} THEN 1 ELSE 0 END)"  # Company A
    t = "analytics_player_days"
    conflict = (
        f"""
ON CONFLICT (day, user_id) DO UPDATE SET
  app_actions = {t}.app_actions + excluded.app_actions,
  corporate_actions = {t}.corporate_actions + excluded.corporate_actions,
  spends = {t}.spends + excluded.spends,
  purchases = {t}.purchases + excluded.purchases,
  first_corporate_earn_at = {_earliest(t, "first_corporate_earn_at")},
  last_spend_at = {_latest(t, "last_spend_at")}"""
        if merge
        else ""
    )
    return f"""
INSERT INTO analytics_player_days
  (day, user_id, app_actions, corporate_actions, spends, purchases, first_corporate_earn_at, last_spend_at)
SELECT {day}, a.user_id, {app}, {corporate},
  SUM(CASE WHEN a.action_type IN {SPENDING} THEN 1 ELSE 0 END),
  SUM(CASE WHEN a.action_type = 'PURCHASE_CYBER_TOKENS' THEN 1 ELSE 0 END),
  MIN(CASE WHEN {corporate_earn} THEN a.action_timestamp END),
  MAX(CASE WHEN a.action_type IN {SPENDING} THEN a.action_timestamp END)
FROM user_actions a
WHERE {where}
GROUP BY {day}, a.user_id
HAVING {app} > 0 OR {corporate} > 0{conflict}
"""  # noqa: S608 (names from code, values bound)


def player_spans_upsert(d: Dialect, *, users: str) -> str:
    """First and last active day, and whether active on the first day + N (N in ``RETENTION_DAYS``), from all their
    player-days, of the players ``users`` (a subquery) selects."""
    flags = ", ".join(f"active_day_{n}" for n in RETENTION_DAYS)
    on_day = ", ".join(
        f"MAX(CASE WHEN x.day = {d.add_days('x.first_day', n)} THEN 1 ELSE 0 END)" for n in RETENTION_DAYS
    )
    updates = ", ".join(f"{f} = excluded.{f}" for f in ("first_active_day", "last_active_day", *flags.split(", ")))
    return f"""
INSERT INTO analytics_players (user_id, first_active_day, last_active_day, {flags})
SELECT x.user_id, MIN(x.day), MAX(x.day), {on_day}
FROM (SELECT pd.user_id, pd.day, MIN(pd.day) OVER (PARTITION BY pd.user_id) AS first_day FROM analytics_player_days pd
      WHERE pd.app_actions > 0 AND pd.user_id IN ({users})) x
GROUP BY x.user_id
ON CONFLICT (user_id) DO UPDATE SET {updates}
"""  # noqa: S608 (names from code, values bound)


def users_of_days(d: Dialect) -> str:
    days = f"r.day >= {d.date_param('d0')} AND r.day <= {d.date_param('d1')}"
    return f"SELECT r.user_id FROM analytics_player_days r WHERE {days}"  # noqa: S608 (names from code, values bound)


def users_logged(where: str) -> str:
    return f"SELECT a.user_id FROM user_actions a WHERE {where}"  # noqa: S608 (names from code, values bound)


def token_flows_insert(d: Dialect, where: str, *, merge: bool) -> str:
    day = d.bdate("a.action_timestamp")
    source = d.json_text("a.metadata", "source")
    key = (
        f"CASE a.action_type WHEN 'EARN_CYBER_TOKENS' THEN {source} WHEN 'PURCHASE_CYBER_TOKENS' THEN 'purchase' "
        f"WHEN 'SPEND_CYBER_TOKENS' THEN {d.json_text('a.metadata', 'game')} "
        f"ELSE {d.json_text('a.metadata', 'content_id')} END"
    )
    tokens = (
        f"CASE a.action_type WHEN 'EARN_CYBER_TOKENS' THEN {d.json_int('a.metadata', 'earned_tokens')} "
        f"WHEN 'PURCHASE_CYBER_TOKENS' THEN {d.json_int('a.metadata', 'tokens')} "
        f"ELSE {d.json_int('a.metadata', 'spent_tokens')} END"
    )
    direction = (
        "CASE WHEN a.action_type IN ('EARN_CYBER_TOKENS', 'PURCHASE_CYBER_TOKENS') THEN 'earned' ELSE 'spent' END"
    )
    category = (
        "CASE a.action_type WHEN 'SPEND_CYBER_TOKENS' THEN 'game' WHEN 'UNLOCK_CONTENT' THEN 'content' "
        "ELSE 'source' END"
    )
    t = "analytics_token_flows"
    conflict = (
        f"\nON CONFLICT (day, direction, category, key) DO UPDATE SET tokens = {t}.tokens + excluded.tokens, "
        f"actions = {t}.actions + excluded.actions"
        if merge
        else ""
    )
    return f"""
INSERT INTO analytics_token_flows (day, direction, category, key, tokens, actions)
SELECT {day}, {direction}, {category}, COALESCE({key}, ''), SUM({tokens}), COUNT(*)
FROM user_actions a
WHERE {where}
  AND a.action_type IN ('EARN_CYBER_TOKENS', 'PURCHASE_CYBER_TOKENS', 'SPEND_CYBER_TOKENS', 'UNLOCK_CONTENT')
GROUP BY {day}, {direction}, {category}, COALESCE({key}, ''){conflict}
"""  # noqa: S608 (names from code, values bound)


def hour_cells_insert(d: Dialect, where: str, *, merge: bool) -> str:
    tz = "COALESCE(p.timezone, %(btz)s)"
    day = d.bdate("a.action_timestamp")
    weekday = d.local_isodow("a.action_timestamp", tz)
    hour = d.local_hour("a.action_timestamp", tz)
    conflict = (
        "\nON CONFLICT (day, weekday, hour) DO UPDATE SET actions = analytics_hour_cells.actions + excluded.actions"
        if merge
        else ""
    )
    return f"""
INSERT INTO analytics_hour_cells (day, weekday, hour, actions)
SELECT {day}, {weekday}, {hour}, COUNT(*)
FROM user_actions a LEFT JOIN players p ON p.id = a.user_id
WHERE {where} AND a.action_type IN {APP}
GROUP BY {day}, {weekday}, {hour}{conflict}
"""  # noqa: S608 (names from code, values bound)


def action_days(d: Dialect, where: str) -> str:
    """The business dates of the actions ``where`` selects."""
    return f"SELECT DISTINCT {d.bdate('a.action_timestamp')} FROM user_actions a WHERE {where}"  # noqa: S608 (names from code, values bound)


def dirty_ledger_days(d: Dialect) -> str:
    return f"SELECT DISTINCT {d.bdate('l.created_at')} FROM token_ledger l WHERE l.id > %(lo)s AND l.id <= %(hi)s"  # noqa: S608 (names from code, values bound)


DIRTY_HISTORY = "SELECT MIN(h.as_of), MAX(h.id) FROM user_segment_history h WHERE h.id > %(lo)s"
# The dates of the RFM runs finished since the last one seen: every history row of such a run has committed (its ranges
# commit on workers in any order, so an id watermark alone could pass over a row still in flight).
RUNS_DONE_SINCE = "SELECT MIN(r.as_of) FROM segment_runs r WHERE r.status = 'done' AND r.id > %(lo)s"
FIRST_ACTION = "SELECT MIN(a.action_timestamp) FROM user_actions a"
LEDGER_MAX_ID = "SELECT COALESCE(MAX(l.id), 0) FROM token_ledger l"


# --- the day figures, over the rollups, for every day in [d0, d1] ----------------------------------------------


# The trailing windows of the day figures: name, length in days, and which player-days count.
WINDOWS = (
    ("wau", 7, "app_actions > 0"),
    ("active_14d", 14, "app_actions > 0"),
    ("mau", 30, "app_actions > 0"),
    ("paying_players_30d", 30, "purchases > 0"),
)
WINDOW_REACH = 2 * max(w for _, w, _ in WINDOWS) - 2  # how far before d0 a statement reads player-days


def dau_select(d: Dialect) -> str:
    return f"""
SELECT day, COUNT(*) FROM analytics_player_days
WHERE app_actions > 0 AND day >= {d.date_param("d0")} AND day <= {d.date_param("d1")}
GROUP BY day
"""  # noqa: S608 (names from code, values bound)


def windows_select(d: Dialect) -> str:
    """The trailing-window counts (WAU, active in 14 days, MAU, paying in 30 days) of every day in [d0, d1] as changes:
    ``(window, day, change)`` rows, to be summed day by day from d0 (``analytics.services``).

    A player-day x whose player's previous counted day is p covers the days [x, x+W-1] not covered already by p:
    [max(x, p+W), x+W-1]. These spans are disjoint per player, so the count of day d is the number of spans that hold
    it: +1 where a span starts (from d0 on), -1 the day after it ends. One pass over the player-days of
    [d0 - WINDOW_REACH, d1] per kind of counted day (the three app-activity windows share theirs: a day's previous
    counted day matters only within W days), no lookup per player or day."""
    d0, d1 = d.date_param("d0"), d.date_param("d1")
    lows = d.add_days(d0, -WINDOW_REACH)
    counted_rows = list(dict.fromkeys(counted for _, _, counted in WINDOWS))  # one pass per kind of player-day
    ctes = [  # the player-days by (day, previous counted day): a few thousand rows, whatever the players
        f"r{i} AS (SELECT day, prev, COUNT(*) AS n FROM (SELECT day, "  # noqa: S608 (names from code, values bound)
        f"LAG(day) OVER (PARTITION BY user_id ORDER BY day) AS prev FROM analytics_player_days "
        f"WHERE {counted} AND day >= {lows} AND day <= {d1}) x GROUP BY day, prev)"
        for i, counted in enumerate(counted_rows)
    ]
    spans = []
    for name, length, counted in WINDOWS:
        covered = d.add_days("prev", length)
        start = f"CASE WHEN prev IS NULL OR prev <= {d.add_days('day', -length)} THEN day ELSE {covered} END"
        end = d.add_days("day", length - 1)
        rows = f"r{counted_rows.index(counted)}"
        spans.append(f"SELECT '{name}' AS w, {start} AS s, {end} AS e, n FROM {rows}")  # noqa: S608 (names from code, values bound)
    return f"""
WITH {", ".join(ctes)},
spans AS ({" UNION ALL ".join(spans)})
SELECT w, CASE WHEN s < {d0} THEN {d0} ELSE s END, 1, SUM(n) FROM spans WHERE e >= {d0} AND s <= {d1}
GROUP BY w, CASE WHEN s < {d0} THEN {d0} ELSE s END
UNION ALL
SELECT w, {d.add_days("e", 1)}, -1, SUM(n) FROM spans WHERE e >= {d0} AND e < {d1} AND s <= {d1}
GROUP BY w, {d.add_days("e", 1)}
"""  # noqa: S608 (names from code, values bound)


def corporate_select(d: Dialect) -> str:
    """Per day: players with Company A actions only, with any, with a Company A earn, and of those the ones who spent
    in the app within 7 days (the same day after the earn, or the 7 days after)."""
    return f"""
SELECT e.day,
  SUM(CASE WHEN e.app_actions = 0 AND e.corporate_actions > 0 THEN 1 ELSE 0 END),
  SUM(CASE WHEN e.corporate_actions > 0 THEN 1 ELSE 0 END),
  SUM(CASE WHEN e.first_corporate_earn_at IS NOT NULL THEN 1 ELSE 0 END),
  SUM(CASE WHEN e.first_corporate_earn_at IS NOT NULL AND (e.last_spend_at >= e.first_corporate_earn_at OR EXISTS (
      SELECT 1 FROM analytics_player_days s WHERE s.user_id = e.user_id AND s.spends > 0
        AND s.day > e.day AND s.day <= {d.add_days("e.day", 7)})) THEN 1 ELSE 0 END)
FROM analytics_player_days e
WHERE e.day >= {d.date_param("d0")} AND e.day <= {d.date_param("d1")}
GROUP BY e.day
"""  # noqa: S608 (names from code, values bound)


def new_players_select(d: Dialect) -> str:
    return f"""
SELECT first_active_day, COUNT(*) FROM analytics_players
WHERE first_active_day >= {d.date_param("d0")} AND first_active_day <= {d.date_param("d1")}
GROUP BY first_active_day
"""  # noqa: S608 (names from code, values bound)


def groups_cte() -> str:
    """``g(user_id, as_of, to_group, until)``: each player's group from a segment change until the next one (the
    last change of a date wins)."""
    return (
        "g AS (SELECT h.user_id, h.as_of, h.to_group, "
        "LEAD(h.as_of) OVER (PARTITION BY h.user_id ORDER BY h.as_of, h.id) AS until FROM user_segment_history h)"
    )


def held(alias: str, day: str) -> str:
    return f"{alias}.as_of <= {day} AND ({alias}.until IS NULL OR {alias}.until > {day})"


def whales_select(d: Dialect) -> str:
    """Per day: MAU players whose RFM group that day is Whale."""
    return f"""
WITH RECURSIVE {d.days_cte()}, {groups_cte()}
SELECT d.day, COUNT(DISTINCT pd.user_id)
FROM days d
JOIN analytics_player_days pd ON pd.day >= {d.add_days("d.day", -29)} AND pd.day <= d.day AND pd.app_actions > 0
JOIN g ON g.user_id = pd.user_id AND g.to_group = 'Whale' AND {held("g", "d.day")}
GROUP BY d.day
"""  # noqa: S608 (names from code, values bound)


def tokens_select(d: Dialect) -> str:
    return f"""
SELECT day, direction, category, key, SUM(tokens) FROM analytics_token_flows
WHERE day >= {d.date_param("d0")} AND day <= {d.date_param("d1")}
GROUP BY day, direction, category, key
"""  # noqa: S608 (names from code, values bound)


def ledger_before() -> str:
    return "SELECT COALESCE(SUM(l.amount), 0) FROM token_ledger l WHERE l.created_at < %(s)s"


def ledger_days(d: Dialect) -> str:
    """Per business day: the sum of the ledger's amounts (net issuance) and the tokens refunds and chargebacks took
    back (REFUND rows, docs/decisions/0024)."""
    day = d.bdate("l.created_at")
    return f"""
SELECT {day}, SUM(l.amount), SUM(CASE WHEN l.kind = 'REFUND' THEN -l.amount ELSE 0 END)
FROM token_ledger l WHERE l.created_at >= %(s)s AND l.created_at < %(e)s GROUP BY {day}
"""  # noqa: S608 (names from code, values bound)


def rfm_mix_insert(d: Dialect) -> str:
    return f"""
INSERT INTO analytics_rfm_mix (day, rfm_group, players)
WITH RECURSIVE {d.days_cte()}, {groups_cte()}
SELECT d.day, g.to_group, COUNT(*) FROM days d JOIN g ON {held("g", "d.day")}
GROUP BY d.day, g.to_group
"""  # noqa: S608 (names from code, values bound)


def rfm_transitions_insert(d: Dialect) -> str:
    before = d.add_days("d.day", -1)
    return f"""
INSERT INTO analytics_rfm_transitions (day, from_group, to_group, players)
WITH RECURSIVE {d.days_cte()}, {groups_cte()}
SELECT d.day, COALESCE(p.to_group, ''), c.to_group, COUNT(*)
FROM days d JOIN g c ON {held("c", "d.day")}
LEFT JOIN g p ON p.user_id = c.user_id AND {held("p", before)}
GROUP BY d.day, COALESCE(p.to_group, ''), c.to_group
"""  # noqa: S608 (names from code, values bound)


def proposals_insert(d: Dialect) -> str:
    day = d.bdate("i.served_at")
    group = (
        "COALESCE((SELECT h.to_group FROM user_segment_history h WHERE h.user_id = i.user_id "  # noqa: S608 (names from code, values bound)
        f"AND h.as_of <= {day} ORDER BY h.as_of DESC, h.id DESC LIMIT 1), 'Low')"
    )
    return f"""
INSERT INTO analytics_proposals (day, proposal_type, rfm_group, locale, impressions, clicks)
SELECT day, proposal_type, rfm_group, locale, COUNT(*), SUM(clicked)
FROM (
  SELECT {day} AS day, i.proposal_type, {group} AS rfm_group, COALESCE(p.locale, '') AS locale,
    CASE WHEN i.clicked_at IS NULL THEN 0 ELSE 1 END AS clicked
  FROM recommendation_impressions i LEFT JOIN players p ON p.id = i.user_id
  WHERE i.served_at >= %(s)s AND i.served_at < %(e)s AND i.proposal_type <> '' AND NOT i.holdout
) x
GROUP BY day, proposal_type, rfm_group, locale
"""  # noqa: S608 (names from code, values bound)


# --- player protection (docs/metrics.md "Protection") -------------------------------------------------------------

LIVE_HARM_RULE = "live_harm_signals"  # recommendations.engine.harm_reason: the rule of a live signal's suppression
SUPPRESSED = "suppressed"  # notifications' status of a push held back


def protection_suppressions_insert(d: Dialect) -> str:
    """What protection removed from recommendations on the days [d0, d1] (``recommendation_suppressions`` by the
    business day of ``served_at``): all, by proposal type, by rule, and per live signal (the suppressions whose
    ``signals`` name it): distinct players and suppressed proposals."""
    live = d.json_elements("s.signals", "sig")
    t = "analytics_protection"
    return f"""
INSERT INTO {t} (day, figure, key, players, events, computed_at)
WITH s AS (
  SELECT {d.bdate("x.served_at")} AS day, x.user_id, x.proposal_type, x.rule, x.signals
  FROM recommendation_suppressions x WHERE x.served_at >= %(s)s AND x.served_at < %(e)s
)
SELECT day, 'proposals', '', COUNT(DISTINCT user_id), COUNT(*), %(now)s FROM s GROUP BY day
UNION ALL
SELECT day, 'proposals_by_type', proposal_type, COUNT(DISTINCT user_id), COUNT(*), %(now)s FROM s
GROUP BY day, proposal_type
UNION ALL
SELECT day, 'proposals_by_rule', rule, COUNT(DISTINCT user_id), COUNT(*), %(now)s FROM s GROUP BY day, rule
UNION ALL
SELECT s.day, 'live_signal', sig.value, COUNT(DISTINCT s.user_id), COUNT(*), %(now)s FROM s {live}
WHERE s.rule = '{LIVE_HARM_RULE}' AND sig.value IN {_in_list(LIVE_SIGNALS)}
GROUP BY s.day, sig.value
"""  # noqa: S608 (names from code, values bound)


def protection_pushes_insert(d: Dialect) -> str:
    """Pushes suppressed on the days [d0, d1] (``notifications`` with status ``suppressed``, by the business day of
    ``created_at``): all, and by kind and reason (``kind:reason``): distinct players and pushes."""
    return f"""
INSERT INTO analytics_protection (day, figure, key, players, events, computed_at)
WITH p AS (
  SELECT {d.bdate("n.created_at")} AS day, n.user_id, n.kind, n.status_reason
  FROM notifications n
  WHERE n.status = '{SUPPRESSED}' AND n.created_at >= %(s)s AND n.created_at < %(e)s
)
SELECT day, 'pushes', '', COUNT(DISTINCT user_id), COUNT(*), %(now)s FROM p GROUP BY day
UNION ALL
SELECT day, 'pushes_by_reason', kind || ':' || status_reason, COUNT(DISTINCT user_id), COUNT(*), %(now)s FROM p
GROUP BY day, kind, status_reason
"""  # noqa: S608 (names from code, values bound)


# The oldest push still pending: it may yet be suppressed when it is sent, which changes its creation day's figure.
PENDING_PUSHES_FROM = "SELECT MIN(n.created_at) FROM notifications n WHERE n.status = 'pending'"

# The protection state at %(now)s, one row: limits in force (a raise or removal whose time has come counts as done,
# as ``PlayerProtection.apply_due`` does on the next read), cool-offs, self-exclusions, raises still waiting.
PROTECTION_STATE = """
SELECT
  COALESCE(SUM(CASE WHEN (CASE WHEN pp.pending_daily_effective_at <= %(now)s THEN pp.pending_daily_spend_limit
    ELSE pp.daily_spend_limit END) IS NOT NULL THEN 1 ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN (CASE WHEN pp.pending_weekly_effective_at <= %(now)s THEN pp.pending_weekly_spend_limit
    ELSE pp.weekly_spend_limit END) IS NOT NULL THEN 1 ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN pp.cool_off_until > %(now)s THEN 1 ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN pp.self_excluded_until > %(now)s THEN 1 ELSE 0 END), 0),
  COALESCE(SUM(CASE WHEN pp.pending_daily_effective_at > %(now)s OR pp.pending_weekly_effective_at > %(now)s
    THEN 1 ELSE 0 END), 0)
FROM player_protection pp
"""

HARM_MARKERS = "SELECT m.marker, COUNT(DISTINCT m.user_id) FROM player_harm_markers m GROUP BY m.marker"


# --- the rules' coverage (one RFM run's Low players) -------------------------------------------------------------

_NAMES = {
    "recency_days": "R",
    "frequency": "F",
    "monetary": "M",
    "balance": "balance",
    "corporate_visits_30d": "visits",
}
_MISSED = {">=": "<", "<=": ">"}


def coverage_insert(rules: Sequence[Rule], d: Dialect, params: dict[str, Any]) -> str:
    """The run's Low players (``user_segments`` rows as of ``%(as_of)s``) into ``at_risk`` (R > 15, F < 5 or no
    action: the spec's Low) and, for the others, the gap they fell through: for each enabled rule, the conditions it
    misses; the label names the rules missed by the fewest conditions, with what each misses
    (``High Engaged: M < 2000``). Thresholds go into the label as text from the run's rules (code-built, no input)."""
    fails: list[str] = []
    labels: list[str] = []
    for rule in rules:
        if not rule.enabled:
            continue
        bounds = rule.bounds()
        count = " + ".join(f"CASE WHEN s.{c} {op} {int(v)} THEN 0 ELSE 1 END" for c, op, v in bounds) or "0"
        parts = " || ".join(
            f"CASE WHEN s.{c} {op} {int(v)} THEN '' ELSE '{_NAMES.get(c, c)} {_MISSED[op]} {int(v)}; ' END"
            for c, op, v in bounds
        )
        fails.append(f"({count})")
        group = rule.group.replace("'", "")
        labels.append(f"'{group}: ' || " + (parts or "''"))
    if not fails:
        gap = "'no group rules'"
    else:
        least = d.least(fails)
        gap = " || ".join(
            f"CASE WHEN {f} = {least} THEN {label} || '| ' ELSE '' END" for f, label in zip(fails, labels, strict=True)
        )
    params.setdefault("low", "Low")
    return f"""
INSERT INTO analytics_rfm_coverage (day, bucket, players, run_id)
SELECT {d.date_param("as_of")}, bucket, COUNT(*), %(run)s FROM (
  SELECT CASE WHEN s.recency_days IS NULL OR s.recency_days > 15 OR s.frequency < 5 THEN 'at_risk' ELSE {gap} END
    AS bucket
  FROM user_segments s WHERE s.as_of = {d.date_param("as_of")} AND s.rfm_group = %(low)s
) x
GROUP BY bucket
"""  # noqa: S608 (names from code, values bound)


def as_date(value: Any) -> dt.date:
    """A date read back from raw SQL (SQLite answers text)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


# --- reads for the API, over the rollups ---------------------------------------------------------------------------

RETENTION_DAYS = (1, 7, 14, 30)


def retention_select(d: Dialect, *, group: bool = False, locale: bool = False) -> str:
    """Per cohort (first active day in [d0, d1]): size, active on day c+N (the spans' ``active_day_N``), and last
    active on or after c+N; with
    ``group`` / ``locale``, only the players whose group on day c is ``%(group)s`` / whose locale is ``%(locale)s``
    (``players_filter``)."""
    on_day = ", ".join(f"SUM(p.active_day_{n})" for n in RETENTION_DAYS)
    after = ", ".join(
        f"SUM(CASE WHEN p.last_active_day >= {d.add_days('p.first_active_day', n)} THEN 1 ELSE 0 END)"
        for n in RETENTION_DAYS
    )
    cte, joined, where = players_filter("p.user_id", "p.first_active_day", group=group, locale=locale)
    return f"""
{cte}SELECT p.first_active_day, COUNT(*), {on_day}, {after}
FROM analytics_players p{joined}
WHERE p.first_active_day >= {d.date_param("d0")} AND p.first_active_day <= {d.date_param("d1")}{where}
GROUP BY p.first_active_day
"""  # noqa: S608 (names from code, values bound)


COHORT_FIELDS = (
    "day",
    "size",
    *(f"retained_{n}" for n in RETENTION_DAYS),
    *(f"on_or_after_{n}" for n in RETENTION_DAYS),
)
COHORT_COLUMNS = ", ".join(COHORT_FIELDS)


def cohorts_insert(d: Dialect) -> str:
    """The rollup of the cohorts whose first active day is in [d0, d1] (emptied first): ``retention_select``'s
    counts, unfiltered."""
    return f"INSERT INTO analytics_cohorts ({COHORT_COLUMNS})\n{retention_select(d)}"


COHORT_DAYS = "SELECT DISTINCT p.first_active_day FROM analytics_players p"
SPAN_USERS = "SELECT s.user_id FROM analytics_players s"


def cohort_days_of(users: str) -> str:
    """The first active days of the players ``users`` (a subquery) selects: the cohorts whose figures they move."""
    return f"SELECT DISTINCT p.first_active_day FROM analytics_players p WHERE p.user_id IN ({users})"  # noqa: S608 (names from code, values bound)


# --- the dashboard's filters (docs/metrics.md, "Filters"): a player's RFM group on the day, their locale -------------


def players_filter(user: str, day: str, *, group: bool, locale: bool, cte: bool = True) -> tuple[str, str, str]:
    """The pieces that keep only the players whose RFM group on ``day`` is ``%(group)s`` (the ``to_group`` of their
    latest segment change on or before it; Low for a player the batch has not assigned yet) and whose locale
    (``players.locale``) is ``%(locale)s``: a ``WITH`` clause (``cte``: the caller writes its own otherwise), the joins
    and the ``WHERE`` conditions, for the rows whose player is ``user``. A row's player has at most one group held
    on a day (``held``), so the joins never multiply rows."""
    joins = where = ""
    if locale:
        joins += f"\nJOIN players fp ON fp.id = {user} AND fp.locale = %(locale)s"
    if group:
        joins += f"\nLEFT JOIN g fg ON fg.user_id = {user} AND {held('fg', day)}"
        where = " AND COALESCE(fg.to_group, %(low)s) = %(group)s"
    return (f"WITH {groups_cte()}\n" if group and cte else ""), joins, where


# The player counts a filter narrows: name, length in days, and which player-days count (``WINDOWS`` and DAU).
FILTERED_WINDOWS = (
    ("dau", 1, "app"),
    ("wau", 7, "app"),
    ("active_14d", 14, "app"),
    ("mau", 30, "app"),
    ("paying_players_30d", 30, "pay"),
)


def player_counts_select(d: Dialect, *, group: bool, locale: bool, low: bool) -> str:
    """DAU, WAU, active in 14 days, MAU and paying in 30 days of every day in [d0, d1] for the players kept on that
    day (``players_filter``'s rule: locale ``%(locale)s``, group on the day ``%(group)s``; ``low`` when that group is
    Low, which also holds a player on the days before the batch first assigns them one), as changes
    ``(window, day, change)`` to be summed day by day from d0 (``analytics.selectors.player_counts``).

    ``windows_select``'s spans (a player-day x covers [max(x, p+W), x+W-1], p the player's previous counted day:
    disjoint per player), cut to the days the player holds the group: each span is intersected with the player's
    intervals in it (from a segment change until the next), so a player counts on a day only with the group held that
    day. One pass over the kept players' player-days of [d0 - WINDOW_REACH, d1] and over the segment history, whatever
    the range; no join of each day to its window."""
    d0, d1 = d.date_param("d0"), d.date_param("d1")
    lows = d.add_days(d0, -WINDOW_REACH)
    kept_locale = "\n  JOIN players fp ON fp.id = pd.user_id AND fp.locale = %(locale)s" if locale else ""
    ctes = [
        f"r_{name} AS (SELECT pd.user_id, pd.day, LAG(pd.day) OVER (PARTITION BY pd.user_id ORDER BY pd.day) AS prev "  # noqa: S608 (names from code, values bound)
        f"FROM analytics_player_days pd{kept_locale}\n  WHERE {counted} AND pd.day >= {lows} AND pd.day <= {d1})"
        for name, counted in (("app", "pd.app_actions > 0"), ("pay", "pd.purchases > 0"))
    ]
    spans = []
    for name, length, rows in FILTERED_WINDOWS:
        covered = d.add_days("prev", length)
        start = f"CASE WHEN prev IS NULL OR prev <= {d.add_days('day', -length)} THEN day ELSE {covered} END"
        spans.append(
            f"SELECT user_id, '{name}' AS w, {start} AS s, {d.add_days('day', length - 1)} AS e FROM r_{rows} "  # noqa: S608 (names from code, values bound)
            f"WHERE day >= {d.add_days(d0, 1 - length)}"  # a span ending before d0 counts for no day asked
        )
    ctes.append(f"spans AS ({' UNION ALL '.join(spans)})")
    if group:
        ctes.append(groups_cte())
        before_first = never = ""
        if low:  # each player's first assignment: Low before it, and Low throughout for a player with none
            ctes.append(
                "firsts AS (SELECT user_id, MIN(as_of) AS first_as_of FROM user_segment_history GROUP BY user_id)"
            )
            before_first = f" UNION ALL SELECT user_id, NULL, {d.add_days('first_as_of', -1)} FROM firsts"  # noqa: S608
            never = (
                " UNION ALL SELECT sp.w, sp.s, sp.e FROM spans sp LEFT JOIN firsts f ON f.user_id = sp.user_id "
                "WHERE f.user_id IS NULL"
            )
        # The days [s, e] (NULL: unbounded) the player holds the group.
        ctes.append(
            f"iv AS (SELECT g.user_id, g.as_of AS s, {d.add_days('g.until', -1)} AS e FROM g "  # noqa: S608 (names from code, values bound)
            f"WHERE g.to_group = %(group)s AND (g.until IS NULL OR g.until > g.as_of){before_first})"
        )
        ctes.append(
            "kept AS (SELECT sp.w, CASE WHEN iv.s IS NOT NULL AND iv.s > sp.s THEN iv.s ELSE sp.s END AS s, "  # noqa: S608 (names from code, values bound)
            "CASE WHEN iv.e IS NOT NULL AND iv.e < sp.e THEN iv.e ELSE sp.e END AS e "
            "FROM spans sp JOIN iv ON iv.user_id = sp.user_id AND (iv.s IS NULL OR iv.s <= sp.e) "
            f"AND (iv.e IS NULL OR iv.e >= sp.s){never})"
        )
    else:
        ctes.append("kept AS (SELECT w, s, e FROM spans)")
    with_clause = ",\n".join(ctes)
    return f"""
WITH {with_clause}
SELECT w, CASE WHEN s < {d0} THEN {d0} ELSE s END, 1, COUNT(*) FROM kept WHERE e >= {d0} AND s <= {d1} AND s <= e
GROUP BY w, CASE WHEN s < {d0} THEN {d0} ELSE s END
UNION ALL
SELECT w, {d.add_days("e", 1)}, -1, COUNT(*) FROM kept WHERE e >= {d0} AND e < {d1} AND s <= {d1} AND s <= e
GROUP BY w, {d.add_days("e", 1)}
"""  # noqa: S608 (names from code, values bound)


def new_players_filtered_select(d: Dialect, *, group: bool, locale: bool) -> str:
    """New players per day in [d0, d1] whom ``players_filter`` keeps on their first active day."""
    cte, joins, where = players_filter("s.user_id", "s.first_active_day", group=group, locale=locale)
    return f"""
{cte}SELECT s.first_active_day, COUNT(*) FROM analytics_players s{joins}
WHERE s.first_active_day >= {d.date_param("d0")} AND s.first_active_day <= {d.date_param("d1")}{where}
GROUP BY s.first_active_day
"""  # noqa: S608 (names from code, values bound)


def month_churn_insert(d: Dialect) -> str:
    """The rollup of month ``m0`` (emptied first): ``monthly_churn_select``'s two counts."""
    return (
        "INSERT INTO analytics_month_churn (month, active_previous_month, churned)\n"
        f"SELECT {d.date_param('m0')}, COALESCE(t.n, 0), COALESCE(t.churned, 0) FROM ("
        f"{monthly_churn_select(d)}) t"
    )


def monthly_churn_select(d: Dialect) -> str:
    """Players active in [``p0``, ``m0``) (the month before) and of them those not active in [``m0``, ``m1``): the
    two months' player-days grouped by player once (no lookup per player)."""
    return f"""
SELECT SUM(b.before) AS n, SUM(CASE WHEN b.before = 1 AND b.during = 0 THEN 1 ELSE 0 END) AS churned
FROM (SELECT a.user_id, MAX(CASE WHEN a.day < {d.date_param("m0")} THEN 1 ELSE 0 END) AS before,
        MAX(CASE WHEN a.day >= {d.date_param("m0")} THEN 1 ELSE 0 END) AS during
      FROM analytics_player_days a
      WHERE a.app_actions > 0 AND a.day >= {d.date_param("p0")} AND a.day < {d.date_param("m1")}
      GROUP BY a.user_id) b
"""  # noqa: S608 (names from code, values bound)
