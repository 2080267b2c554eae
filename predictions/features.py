"""The players' features as of a business day, set-based (docs/predictions.md lists each with its definition).

As of day D means: the instant ``T`` = 00:00 of D in ``BUSINESS_TIMEZONE`` (``day_start``); every feature reads only
rows whose own timestamp is before ``T`` (actions, ledger rows, segment history, quiz submissions, unlocks), never a
current-state column (``wallets.balance``, ``user_segments.rfm_group`` are "now"). Windows ("7 days") are the business
days [D - 7, D). The players scored are those with any action before ``T``.

Five statements, each one pass over its table grouped by player (PostgreSQL runs the actions' one as a parallel hash
aggregate), read in chunks (``fetchmany``) into numpy arrays: no query per player. They read other apps' tables
(reads only), in one statement each, where one statement is the point (docs/ARCHITECTURE.md). The SQL text is built
from code constants only (action types from the registry); values are parameters.

The labels (``labels_compute``) look the other way: [T, T + horizon).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from django.conf import settings
from django.db import connection, transaction

from activity.registry import app_activity_types
from core.sql import Dialect
from core.timezones import business_day_start as day_start

FETCH_ROWS = 50_000
WORK_MEM = "192MB"  # per sort or hash of each of PostgreSQL's parallel workers, for these statements only
NIGHT_HOURS = (0, 6)  # [00:00, 06:00) on the business clock

# key -> one-line definition (the order is the models' column order).
FEATURES: dict[str, str] = {
    "corporate_visits_7d": "Company A visits (CORPORATE_VISIT) in the last 7 days",
    "corporate_visits_30d": "Company A visits in the last 30 days",
    "corporate_tokens_7d": "tokens earned from Company A (EARN_CYBER_TOKENS, source corporate) in the last 7 days",
    "corporate_tokens_30d": "tokens earned from Company A in the last 30 days",
    "app_days_7d": "business days with any app-activity action in the last 7 days",
    "app_days_30d": "business days with any app-activity action in the last 30 days",
    "app_actions_7d": "app-activity actions in the last 7 days",
    "app_actions_30d": "app-activity actions in the last 30 days",
    "app_trend": "the 7-day rate of app actions over the 30-day rate ((n7 / 7) / (n30 / 30)); empty when n30 = 0",
    "days_since_app": "days from the last app-activity action to the as-of instant; empty when none",
    "days_since_any": "days from the last action of any type to the as-of instant",
    "tenure_days": "days from the first action of any type to the as-of instant",
    "balance": "token balance at the as-of instant: the sum of the player's ledger rows before it",
    "spent_7d": "tokens spent (SPEND ledger rows: buy-ins and content unlocks) in the last 7 days",
    "spent_30d": "tokens spent in the last 30 days",
    "spent_90d": "tokens spent in the last 90 days",
    "purchases_7d": "cash purchases (PURCHASE_CYBER_TOKENS) in the last 7 days",
    "purchases_30d": "cash purchases in the last 30 days",
    "purchases_90d": "cash purchases in the last 90 days",
    "paid_7d": "cash paid (the purchases' amount_paid) in the last 7 days",
    "paid_30d": "cash paid in the last 30 days",
    "paid_90d": "cash paid in the last 90 days",
    "purchases_ever": "cash purchases before the instant (the player's whole history)",
    "paid_ever": "cash paid before the instant (the purchases' amount_paid)",
    "paid_mean": "the mean cash paid per purchase before the instant; empty when none",
    "days_since_purchase": "days from the last cash purchase to the as-of instant; empty when none",
    "days_since_first_purchase": "days from the first cash purchase to the as-of instant; empty when none",
    "purchases_per_30d": "cash purchases ever per 30 days of tenure (30 x purchases_ever / max(tenure_days, 1))",
    "purchase_recency_share": "days_since_purchase / tenure_days: the share of the tenure since the last purchase; "
    "empty when none",
    "night_share_30d": "share of the last 30 days' app actions at 00:00-06:00 business time; empty when none",
    "rfm_group": "RFM group at the as-of instant (latest segment history row before it): Low 0 .. Whale 3",
    "rfm_changes_90d": "segment history rows (group changes) in the last 90 days",
    "risk_profile": "the quiz's risk profile of the latest submission before the instant: Low 0, Moderate 1, High 2",
    "unlocks": "content stages unlocked before the instant",
}
NAMES: tuple[str, ...] = tuple(FEATURES)

GROUP_ORDINAL = {"Low": 0, "Medium": 1, "High Engaged": 2, "Whale": 3}
RISK_ORDINAL = {"Low-Risk": 0, "Moderate-Risk": 1, "High-Risk": 2}


@dataclass(frozen=True)
class FeatureFrame:
    """Features of players as of a day: ``values[i, j]`` is feature ``names[j]`` of player ``user_ids[i]``."""

    as_of: dt.date
    user_ids: npt.NDArray[np.int64]
    values: npt.NDArray[np.float32]
    names: tuple[str, ...]

    def column(self, name: str) -> npt.NDArray[np.float32]:
        return self.values[:, self.names.index(name)]

    def __len__(self) -> int:
        return len(self.user_ids)


def _in_list(values: Sequence[str]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"  # code constants (registry names), not input


def _double(expr: str) -> str:
    return f"CAST({expr} AS double precision)"


def _days_before(d: Dialect, column: str) -> str:
    """Days (fractional) from ``column`` to the instant ``%(t)s``."""
    if d.pg:
        return f"EXTRACT(EPOCH FROM (CAST(%(t)s AS timestamptz) - {column})) / 86400.0"
    return f"(julianday(%(t)s) - julianday({column}))"


def _users_filter(column: str, user_ids: Sequence[int] | None, sample: float | None) -> str:
    parts = []
    if user_ids is not None:
        ids = ", ".join(str(int(u)) for u in user_ids) or "NULL"  # ints, formatted here: no input in the text
        parts.append(f"{column} IN ({ids})")
    if sample is not None and sample < 1.0:
        parts.append(f"{sample_clause(column)} < {int(sample * SAMPLE_MODULUS)}")
    return "".join(f" AND {p}" for p in parts)


SAMPLE_MODULUS = 1_000_003  # a prime: the stable hash sample keeps players whose (id * 7919) mod it is below a cut


def sample_clause(column: str) -> str:
    return f"((({column}) %% {SAMPLE_MODULUS}) * 7919 %% {SAMPLE_MODULUS})"  # %% is the modulo (values bound)


def sample_keep(user_ids: npt.NDArray[np.int64], fraction: float) -> npt.NDArray[np.bool_]:
    """The same sample as ``sample_clause`` computed in numpy."""
    return ((user_ids % SAMPLE_MODULUS) * 7919 % SAMPLE_MODULUS) < int(fraction * SAMPLE_MODULUS)


def _actions_sql(d: Dialect, users: str) -> str:
    """One row per player (one GROUP BY player: PostgreSQL hashes the players in parallel, no sort of the log). The
    business days with app activity in the last 30 days come back as a bit mask (bit k: day D - k), OR-ed by
    ``BIT_OR`` on PostgreSQL and by ``SUM(DISTINCT)`` of the powers of two on SQLite; numpy counts the bits."""
    app = f"a.action_type IN {_in_list(app_activity_types())}"
    hour = d.local_hour("a.action_timestamp", "%(btz)s")
    corporate_earn = f"a.action_type = 'EARN_CYBER_TOKENS' AND {d.json_text('a.metadata', 'source')} = 'corporate'"
    purchase = "a.action_type = 'PURCHASE_CYBER_TOKENS'"
    ts = "a.action_timestamp"
    if d.pg:
        days_back = f"(CAST(%(d0)s AS date) - {d.bdate(ts)})"
        mask = f"BIT_OR(CASE WHEN {ts} >= %(t30)s AND {app} THEN CAST(1 AS bigint) << {days_back} END)"
    else:
        days_back = f"CAST(julianday(%(d0)s) - julianday({d.bdate(ts)}) AS INTEGER)"
        mask = f"SUM(DISTINCT CASE WHEN {ts} >= %(t30)s AND {app} THEN 1 << {days_back} END)"

    def win(then: str, since: str, when: str = "1 = 1") -> str:
        # The window first: the rest (for the night share, the local hour: a time zone conversion, twice) is then
        # computed for the window's rows only (a third less time at a million players, docs/performance.md).
        return _double(f"SUM(CASE WHEN {ts} >= %({since})s AND {when} THEN {then} ELSE 0 END)")

    cv = "a.action_type = 'CORPORATE_VISIT'"
    tokens = _double(d.json_text("a.metadata", "earned_tokens"))  # SUM of a double keeps no numeric state
    paid = _double(d.json_text("a.metadata", "amount_paid"))
    night = f"{app} AND {hour} >= {NIGHT_HOURS[0]} AND {hour} < {NIGHT_HOURS[1]}"
    return f"""
SELECT a.user_id,
  {win("1", "t7", cv)}, {win("1", "t30", cv)},
  {win(tokens, "t7", corporate_earn)}, {win(tokens, "t30", corporate_earn)},
  {_double(f"COALESCE({mask}, 0)")},
  {win("1", "t7", app)}, {win("1", "t30", app)},
  {_days_before(d, f"MAX(CASE WHEN {app} THEN {ts} END)")},
  {_days_before(d, f"MAX({ts})")},
  {_days_before(d, f"MIN({ts})")},
  {win("1", "t7", purchase)}, {win("1", "t30", purchase)}, {win("1", "t90", purchase)},
  {win(paid, "t7", purchase)}, {win(paid, "t30", purchase)}, {win(paid, "t90", purchase)},
  {win("1", "t30", night)},
  {_double(f"SUM(CASE WHEN {purchase} THEN 1 ELSE 0 END)")},
  {_double(f"SUM(CASE WHEN {purchase} THEN {paid} ELSE 0 END)")},
  {_days_before(d, f"MAX(CASE WHEN {purchase} THEN {ts} END)")},
  {_days_before(d, f"MIN(CASE WHEN {purchase} THEN {ts} END)")}
FROM user_actions a
WHERE {ts} < %(t)s{users}
GROUP BY a.user_id
ORDER BY a.user_id"""  # noqa: S608 (names from code, values bound)


def _ledger_sql(d: Dialect, users: str) -> str:
    amount = _double("l.amount")  # summed as doubles: SUM of a bigint keeps a numeric state per player, a third slower

    def spent(since: str) -> str:
        return f"SUM(CASE WHEN l.kind = 'SPEND' AND l.created_at >= %({since})s THEN -{amount} ELSE 0 END)"

    return f"""
SELECT l.player_id, SUM({amount}), {spent("t7")}, {spent("t30")}, {spent("t90")}
FROM token_ledger l
WHERE l.created_at < %(t)s{users}
GROUP BY l.player_id
ORDER BY l.player_id"""  # noqa: S608 (names from code, values bound)


def _segments_sql(d: Dialect, users: str) -> str:
    ordinal = " ".join(f"WHEN '{g}' THEN {n}" for g, n in GROUP_ORDINAL.items())
    return f"""
SELECT h.user_id,
  {_double(f"MAX(CASE WHEN h.rn = 1 THEN CASE h.to_group {ordinal} END END)")},
  {_double("SUM(CASE WHEN h.created_at >= %(t90)s THEN 1 ELSE 0 END)")}
FROM (
  SELECT s.user_id, s.to_group, s.created_at,
    ROW_NUMBER() OVER (PARTITION BY s.user_id ORDER BY s.created_at DESC, s.id DESC) AS rn
  FROM user_segment_history s
  WHERE s.created_at < %(t)s{users}
) h
GROUP BY h.user_id
ORDER BY h.user_id"""  # noqa: S608 (names from code, values bound)


def _quiz_sql(d: Dialect, users: str) -> str:
    ordinal = " ".join(f"WHEN '{r}' THEN {n}" for r, n in RISK_ORDINAL.items())
    return f"""
SELECT q.user_id, {_double(f"MAX(CASE WHEN q.rn = 1 THEN CASE q.risk_profile {ordinal} END END)")}
FROM (
  SELECT s.user_id, s.risk_profile,
    ROW_NUMBER() OVER (PARTITION BY s.user_id ORDER BY s.submitted_at DESC, s.id DESC) AS rn
  FROM quiz_submissions s
  WHERE s.submitted_at < %(t)s{users}
) q
GROUP BY q.user_id
ORDER BY q.user_id"""  # noqa: S608 (names from code, values bound)


def _unlocks_sql(d: Dialect, users: str) -> str:
    return f"""
SELECT u.user_id, {_double("COUNT(*)")}
FROM content_unlocks u
WHERE u.unlocked_at < %(t)s{users}
GROUP BY u.user_id
ORDER BY u.user_id"""  # noqa: S608 (names from code, values bound)


def _stream(statement: str, params: dict[str, Any]) -> Iterator[list[tuple[Any, ...]]]:
    """The statement's rows in chunks of Python objects (``fetchmany``). Not a server-side cursor: PostgreSQL never
    runs a cursor's query in parallel, and these are one row per player (the driver holds them as text: about 200
    bytes a player), while the scan behind them is the whole log."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield rows


def _read(statement: str, params: dict[str, Any], width: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """(user ids, values (n, width)) of a statement whose rows are (user_id, value, ...) in user id order."""
    ids: list[npt.NDArray[np.int64]] = []
    values: list[npt.NDArray[np.float64]] = []
    for rows in _stream(statement, params):
        block = np.array(rows, dtype=np.float64).reshape(len(rows), width + 1)
        ids.append(np.array([r[0] for r in rows], dtype=np.int64))
        values.append(block[:, 1:])
    if not ids:
        return np.zeros(0, dtype=np.int64), np.zeros((0, width), dtype=np.float64)
    return np.concatenate(ids), np.concatenate(values)


def params_for(as_of: dt.date) -> dict[str, Any]:
    ops = connection.ops

    def at(days: int) -> Any:
        return ops.adapt_datetimefield_value(day_start(as_of - dt.timedelta(days=days)))

    def day(days: int) -> Any:
        return ops.adapt_datefield_value(as_of - dt.timedelta(days=days))

    return {
        "t": at(0),
        "t7": at(7),
        "t30": at(30),
        "t90": at(90),
        "d0": day(0),
        "btz": settings.BUSINESS_TIMEZONE,
    }


def features_compute(
    *, as_of: dt.date, user_ids: Sequence[int] | None = None, sample: float | None = None
) -> FeatureFrame:
    """Every feature of ``FEATURES`` for the players with any action before ``as_of`` (business day), or those of
    ``user_ids`` among them; ``sample`` (0-1) keeps a stable hash sample of them (training)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:  # the player-day aggregate sorts or hashes in memory, not on disk
                cursor.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        return _features(as_of, user_ids, sample)


def _features(as_of: dt.date, user_ids: Sequence[int] | None, sample: float | None) -> FeatureFrame:
    d = Dialect(connection.vendor)
    params = params_for(as_of)
    col = {name: j for j, name in enumerate(NAMES)}

    ids, acts = _read(_actions_sql(d, _users_filter("a.user_id", user_ids, sample)), params, 21)
    n = len(ids)
    values = np.full((n, len(NAMES)), np.nan, dtype=np.float32)
    order = [
        "corporate_visits_7d", "corporate_visits_30d", "corporate_tokens_7d", "corporate_tokens_30d",
        "", "app_actions_7d", "app_actions_30d",
        "days_since_app", "days_since_any", "tenure_days",
        "purchases_7d", "purchases_30d", "purchases_90d", "paid_7d", "paid_30d", "paid_90d",
        "", "purchases_ever", "paid_ever", "days_since_purchase", "days_since_first_purchase",
    ]  # fmt: skip
    for j, name in enumerate(order):
        if name:
            values[:, col[name]] = acts[:, j]
    days = acts[:, 4].astype(np.int64)  # bit k set: app activity on day D - k (k = 1..30)
    values[:, col["app_days_7d"]] = _bits(days & 0b1111_1110)
    values[:, col["app_days_30d"]] = _bits(days)
    n7, n30, night = acts[:, 5], acts[:, 6], acts[:, 16]
    with np.errstate(divide="ignore", invalid="ignore"):
        values[:, col["app_trend"]] = np.where(n30 > 0, (n7 / 7.0) / (n30 / 30.0), np.nan)
        values[:, col["night_share_30d"]] = np.where(n30 > 0, night / n30, np.nan)
        bought, paid = acts[:, 17], acts[:, 18]
        values[:, col["paid_mean"]] = np.where(bought > 0, paid / bought, np.nan)
        # Rates and shares of the tenure carry over between players of different ages (BG/NBD's x / T and t_x / T):
        # the training dates see younger players than the scoring date does.
        tenure = acts[:, 9]
        values[:, col["purchases_per_30d"]] = 30.0 * bought / np.maximum(tenure, 1.0)
        values[:, col["purchase_recency_share"]] = np.where(bought > 0, acts[:, 19] / np.maximum(tenure, 1e-9), np.nan)
    # The ledger: balance and spends; a player with no ledger row has a balance of 0 and spent nothing.
    for name in ("balance", "spent_7d", "spent_30d", "spent_90d"):
        values[:, col[name]] = 0.0
    ledger = _ledger_sql(d, _users_filter("l.player_id", user_ids, sample))
    _merge(values, ids, ledger, params, col, ["balance", "spent_7d", "spent_30d", "spent_90d"])
    values[:, col["rfm_changes_90d"]] = 0.0
    segments = _segments_sql(d, _users_filter("s.user_id", user_ids, sample))
    _merge(values, ids, segments, params, col, ["rfm_group", "rfm_changes_90d"])
    _merge(values, ids, _quiz_sql(d, _users_filter("s.user_id", user_ids, sample)), params, col, ["risk_profile"])
    values[:, col["unlocks"]] = 0.0
    _merge(values, ids, _unlocks_sql(d, _users_filter("u.user_id", user_ids, sample)), params, col, ["unlocks"])
    return FeatureFrame(as_of=as_of, user_ids=ids, values=values, names=NAMES)


def _bits(masks: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """How many bits each mask has set."""
    as_bytes = masks.astype("<i8").view(np.uint8).reshape(-1, 8)
    return np.unpackbits(as_bytes, axis=1).sum(axis=1).astype(np.float32)


def _merge(
    values: npt.NDArray[np.float32],
    ids: npt.NDArray[np.int64],
    statement: str,
    params: dict[str, Any],
    col: dict[str, int],
    names: list[str],
) -> None:
    """Write a per-player statement's columns into the rows of the players ``ids`` holds (others are dropped)."""
    got_ids, got = _read(statement, params, len(names))
    if not len(ids) or not len(got_ids):
        return
    pos = np.searchsorted(ids, got_ids)
    pos_clipped = np.minimum(pos, len(ids) - 1)
    known = ids[pos_clipped] == got_ids
    for j, name in enumerate(names):
        target = values[:, col[name]]
        column = got[known, j]
        keep = ~np.isnan(column)
        target[pos_clipped[known][keep]] = column[keep]


@dataclass(frozen=True)
class Labels:
    """What happened after the as-of instant, for the players of a frame (same order)."""

    churned: npt.NDArray[np.bool_]  # no app-activity action in [T, T + churn horizon)
    spend: npt.NDArray[np.float64]  # sum of amount_paid of PURCHASE_CYBER_TOKENS in [T, T + LTV horizon)


def labels_compute(*, as_of: dt.date, user_ids: npt.NDArray[np.int64], churn_days: int, ltv_days: int) -> Labels:
    """Churn and LTV labels of ``user_ids`` (sorted) as of ``as_of``: one statement over [T, T + the longer horizon)."""
    d = Dialect(connection.vendor)
    ops = connection.ops
    app = f"a.action_type IN {_in_list(app_activity_types())}"
    paid = _double(d.json_text("a.metadata", "amount_paid"))
    statement = f"""
SELECT a.user_id,
  {_double(f"SUM(CASE WHEN {app} AND a.action_timestamp < %(tn)s THEN 1 ELSE 0 END)")},
  {_double(f"SUM(CASE WHEN a.action_type = 'PURCHASE_CYBER_TOKENS' AND a.action_timestamp < %(th)s THEN {paid} ELSE 0 END)")}
FROM user_actions a
WHERE a.action_timestamp >= %(t)s AND a.action_timestamp < %(te)s
GROUP BY a.user_id
ORDER BY a.user_id"""  # noqa: S608, E501 (names from code, values bound)
    params = {
        "t": ops.adapt_datetimefield_value(day_start(as_of)),
        "tn": ops.adapt_datetimefield_value(day_start(as_of + dt.timedelta(days=churn_days))),
        "th": ops.adapt_datetimefield_value(day_start(as_of + dt.timedelta(days=ltv_days))),
        "te": ops.adapt_datetimefield_value(day_start(as_of + dt.timedelta(days=max(churn_days, ltv_days)))),
    }
    got_ids, got = _read(statement, params, 2)
    app_actions = np.zeros(len(user_ids), dtype=np.float64)
    spend = np.zeros(len(user_ids), dtype=np.float64)
    if len(user_ids) and len(got_ids):
        pos = np.minimum(np.searchsorted(user_ids, got_ids), len(user_ids) - 1)
        known = user_ids[pos] == got_ids
        app_actions[pos[known]] = got[known, 0]
        spend[pos[known]] = got[known, 1]
    return Labels(churned=app_actions == 0, spend=spend)


def cheapest_purchase(*, before: dt.date) -> float | None:
    """The smallest positive ``amount_paid`` of a cash purchase before 00:00 of ``before`` (None without one)."""
    d = Dialect(connection.vendor)
    paid = _double(d.json_text("a.metadata", "amount_paid"))
    statement = f"""
SELECT MIN({paid}) FROM user_actions a
WHERE a.action_type = 'PURCHASE_CYBER_TOKENS' AND a.action_timestamp < %(t)s AND {paid} > 0"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(statement, {"t": connection.ops.adapt_datetimefield_value(day_start(before))})
        (value,) = cursor.fetchone()
    return None if value is None else float(value)


def history_span() -> tuple[dt.date, dt.date] | None:
    """The business days of the first and the last action in the log (None when it is empty)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(action_timestamp), MAX(action_timestamp) FROM user_actions")
        first, last = cursor.fetchone()
    if first is None:
        return None
    zone = zoneinfo.ZoneInfo(settings.BUSINESS_TIMEZONE)

    def business_day(value: Any) -> dt.date:
        if isinstance(value, str):  # SQLite's aggregate of a text column
            value = dt.datetime.fromisoformat(value)
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(zone).date()

    return business_day(first), business_day(last)
