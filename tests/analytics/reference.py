"""The figures of docs/metrics.md computed straight from the raw tables, written apart from ``analytics.sql``: one plain
query per figure and day, business dates by the fixed KST offset on SQLite (``date(ts, '+9 hours')``) and by
``AT TIME ZONE`` on PostgreSQL, date bounds computed here in Python. Peak hours need each player's own clock, which
SQLite cannot name: the rows come from SQL and Python's zoneinfo buckets them."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections import Counter
from typing import Any

from django.db import connection

# Written out here, not read from the registry: docs/metrics.md's list.
APP = (
    "('GAME_PLAY', 'FAIL_GAME', 'CLAIM_REWARD', 'VIEW_CONTENT', 'UNLOCK_CONTENT', 'BUY_ITEM', 'QUIZ_ANSWER', "
    "'SESSION_START', 'SPEND_CYBER_TOKENS', 'PURCHASE_CYBER_TOKENS')"
)
SPENDS = "('SPEND_CYBER_TOKENS', 'UNLOCK_CONTENT')"


def _sql(text: str) -> str:
    pg = connection.vendor == "postgresql"
    text = re.sub(
        r"BD\(([\w.]+)\)",
        (lambda m: f"CAST({m.group(1)} AT TIME ZONE 'Asia/Seoul' AS date)")
        if pg
        else (lambda m: f"date({m.group(1)}, '+9 hours')"),
        text,
    )
    text = re.sub(r"N\(([\w.]+), (\w+)\)", r"CAST(J(\1, \2) AS bigint)", text)
    text = re.sub(
        r"J\(([\w.]+), (\w+)\)",
        (lambda m: f"({m.group(1)} ->> '{m.group(2)}')")
        if pg
        else (lambda m: f"json_extract({m.group(1)}, '$.{m.group(2)}')"),
        text,
    )
    return re.sub(
        r":(\w+)", (lambda m: f"CAST(%({m.group(1)})s AS date)") if pg else (lambda m: f"%({m.group(1)})s"), text
    )


def q(text: str, **dates: dt.date) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(_sql(text), {k: v.isoformat() for k, v in dates.items()})
        return cursor.fetchall()


def one(text: str, **dates: dt.date) -> int:
    return int(q(text, **dates)[0][0] or 0)


def days(d: dt.date, n: int) -> dt.date:
    return d + dt.timedelta(days=n)


def group_of(user: str, day: str) -> str:
    return (
        f"(SELECT h.to_group FROM user_segment_history h WHERE h.user_id = {user} AND h.as_of <= :{day} "
        "ORDER BY h.as_of DESC, h.id DESC LIMIT 1)"
    )


def active_between(a: dt.date, d: dt.date) -> int:
    return one(
        f"SELECT COUNT(DISTINCT user_id) FROM user_actions WHERE action_type IN {APP} "
        "AND BD(action_timestamp) BETWEEN :a AND :d",
        a=a,
        d=d,
    )


def daily(d: dt.date) -> dict[str, Any]:
    corporate_earn = "(action_type = 'EARN_CYBER_TOKENS' AND J(metadata, source) = 'corporate')"
    earned = dict(
        q(
            "SELECT J(metadata, source), SUM(N(metadata, earned_tokens)) FROM user_actions "
            "WHERE action_type = 'EARN_CYBER_TOKENS' AND BD(action_timestamp) = :d GROUP BY J(metadata, source)",
            d=d,
        )
    )
    loop = q(
        f"SELECT COUNT(*), SUM(CASE WHEN EXISTS (SELECT 1 FROM user_actions s WHERE s.user_id = e.user_id "
        f"AND s.action_type IN {SPENDS} AND s.action_timestamp >= e.t AND BD(s.action_timestamp) <= :d7) "
        "THEN 1 ELSE 0 END) "
        f"FROM (SELECT user_id, MIN(action_timestamp) AS t FROM user_actions WHERE {corporate_earn} "
        "AND BD(action_timestamp) = :d GROUP BY user_id) e",
        d=d,
        d7=days(d, 7),
    )[0]
    mau = active_between(days(d, -29), d)
    return {
        "date": d.isoformat(),
        "dau": active_between(d, d),
        "wau": active_between(days(d, -6), d),
        "mau": mau,
        "new_players": one(
            f"SELECT COUNT(*) FROM (SELECT user_id, MIN(BD(action_timestamp)) AS f FROM user_actions "
            f"WHERE action_type IN {APP} GROUP BY user_id) x WHERE x.f = :d",
            d=d,
        ),
        "corporate_only_players": one(
            f"SELECT COUNT(DISTINCT c.user_id) FROM user_actions c WHERE BD(c.action_timestamp) = :d "
            "AND (c.action_type = 'CORPORATE_VISIT' "
            "OR (c.action_type = 'EARN_CYBER_TOKENS' AND J(c.metadata, source) = 'corporate')) "
            f"AND NOT EXISTS (SELECT 1 FROM user_actions a WHERE a.user_id = c.user_id AND a.action_type IN {APP} "
            "AND BD(a.action_timestamp) = :d)",
            d=d,
        ),
        "paying_players_30d": one(
            "SELECT COUNT(DISTINCT user_id) FROM user_actions WHERE action_type = 'PURCHASE_CYBER_TOKENS' "
            "AND BD(action_timestamp) BETWEEN :a AND :d",
            a=days(d, -29),
            d=d,
        ),
        "whale_players": one(
            f"SELECT COUNT(DISTINCT a.user_id) FROM user_actions a WHERE a.action_type IN {APP} "
            f"AND BD(a.action_timestamp) BETWEEN :a AND :d AND {group_of('a.user_id', 'd')} = 'Whale'",
            a=days(d, -29),
            d=d,
        ),
        "tokens_earned": {
            "corporate": int(earned.get("corporate") or 0),
            "in_app": int(earned.get("in_app") or 0),
            "reward": int(earned.get("reward") or 0),
            "purchase": one(
                "SELECT SUM(N(metadata, tokens)) FROM user_actions WHERE action_type = 'PURCHASE_CYBER_TOKENS' "
                "AND BD(action_timestamp) = :d",
                d=d,
            ),
        },
        "tokens_spent": {
            "games": one(
                "SELECT SUM(N(metadata, spent_tokens)) FROM user_actions WHERE action_type = 'SPEND_CYBER_TOKENS' "
                "AND BD(action_timestamp) = :d",
                d=d,
            ),
            "content": one(
                "SELECT SUM(N(metadata, spent_tokens)) FROM user_actions WHERE action_type = 'UNLOCK_CONTENT' "
                "AND BD(action_timestamp) = :d",
                d=d,
            ),
        },
        "tokens_refunded": -one(
            "SELECT SUM(amount) FROM token_ledger WHERE kind = 'REFUND' AND BD(created_at) = :d", d=d
        ),
        "net_issuance": one("SELECT SUM(amount) FROM token_ledger WHERE BD(created_at) = :d", d=d),
        "outstanding_balance": one("SELECT SUM(amount) FROM token_ledger WHERE BD(created_at) <= :d", d=d),
        "corporate_loop": {"earners": int(loop[0] or 0), "spent_within_7d": int(loop[1] or 0)},
        "churned_14d": mau - active_between(days(d, -13), d),
    }


def cohort(c: dt.date, today: dt.date) -> dict[str, Any]:
    first = (
        f"SELECT user_id FROM user_actions WHERE action_type IN {APP} GROUP BY user_id "
        "HAVING MIN(BD(action_timestamp)) = :c"
    )
    out: dict[str, Any] = {
        "date": c.isoformat(),
        "size": len(q(first, c=c)),
        "retained": {},
        "retained_on_or_after": {},
    }
    for n in (1, 7, 14, 30):
        reached = days(c, n) <= today
        for key, op in (("retained", "="), ("retained_on_or_after", ">=")):
            value = one(
                f"SELECT COUNT(*) FROM ({first}) f WHERE EXISTS (SELECT 1 FROM user_actions a "
                "WHERE a.user_id = f.user_id "
                f"AND a.action_type IN {APP} AND BD(a.action_timestamp) {op} :cn)",
                c=c,
                cn=days(c, n),
            )
            out[key][str(n)] = value if reached else None
    return out


def monthly_churn(month: dt.date) -> tuple[int, int]:
    prev = dt.date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    nxt = dt.date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    base = (
        f"SELECT DISTINCT user_id FROM user_actions WHERE action_type IN {APP} "
        "AND BD(action_timestamp) >= :p AND BD(action_timestamp) < :m"
    )
    churned = one(
        f"SELECT COUNT(*) FROM ({base}) b WHERE NOT EXISTS (SELECT 1 FROM user_actions a WHERE a.user_id = b.user_id "
        f"AND a.action_type IN {APP} AND BD(a.action_timestamp) >= :m AND BD(a.action_timestamp) < :n)",
        p=prev,
        m=month,
        n=nxt,
    )
    return len(q(base, p=prev, m=month)), churned


def peak_hours(a: dt.date, d: dt.date) -> Counter[tuple[int, int]]:
    rows = q(
        f"SELECT a.action_timestamp, p.timezone FROM user_actions a JOIN players p ON p.id = a.user_id "
        f"WHERE a.action_type IN {APP} AND BD(a.action_timestamp) BETWEEN :a AND :d",
        a=a,
        d=d,
    )
    cells: Counter[tuple[int, int]] = Counter()
    for ts, tz in rows:
        if isinstance(ts, str):
            ts = dt.datetime.fromisoformat(ts).replace(tzinfo=dt.UTC)
        local = ts.astimezone(zoneinfo.ZoneInfo(tz))
        cells[(local.isoweekday(), local.hour)] += 1
    return cells


def rfm_mix(d: dt.date) -> dict[str, int]:
    rows = q(
        f"SELECT g, COUNT(*) FROM (SELECT {group_of('u.user_id', 'd')} AS g FROM "
        "(SELECT DISTINCT user_id FROM user_segment_history) u) x WHERE g IS NOT NULL GROUP BY g",
        d=d,
    )
    return {g: int(n) for g, n in rows}


def rfm_transitions(d: dt.date) -> set[tuple[str | None, str, int]]:
    rows = q(
        f"SELECT p, c, COUNT(*) FROM (SELECT {group_of('u.user_id', 'b')} AS p, {group_of('u.user_id', 'd')} AS c FROM "
        "(SELECT DISTINCT user_id FROM user_segment_history) u) x WHERE c IS NOT NULL GROUP BY p, c",
        d=d,
        b=days(d, -1),
    )
    return {(p, c, int(n)) for p, c, n in rows}


def proposals(a: dt.date, d: dt.date) -> set[tuple[str, str, str, int, int]]:
    rows = q(
        "SELECT proposal_type, g, locale, COUNT(*), SUM(clicked) FROM (SELECT i.proposal_type, "
        "COALESCE((SELECT h.to_group FROM user_segment_history h WHERE h.user_id = i.user_id "
        "AND h.as_of <= BD(i.served_at) ORDER BY h.as_of DESC, h.id DESC LIMIT 1), 'Low') AS g, p.locale, "
        "CASE WHEN i.clicked_at IS NULL THEN 0 ELSE 1 END AS clicked FROM recommendation_impressions i "
        "JOIN players p ON p.id = i.user_id WHERE BD(i.served_at) BETWEEN :a AND :d AND NOT i.holdout) x "
        "GROUP BY proposal_type, g, locale",
        a=a,
        d=d,
    )
    return {(t, g, loc, int(n), int(c)) for t, g, loc, n, c in rows}


def coverage(as_of: dt.date) -> tuple[int, int]:
    """The run's Low players: at risk (R > 15, F < 5 or no action), and the others."""
    at_risk = one(
        "SELECT COUNT(*) FROM user_segments WHERE as_of = :d AND rfm_group = 'Low' "
        "AND (recency_days IS NULL OR recency_days > 15 OR frequency < 5)",
        d=as_of,
    )
    low = one("SELECT COUNT(*) FROM user_segments WHERE as_of = :d AND rfm_group = 'Low'", d=as_of)
    return at_risk, low - at_risk


# --- the dashboard's filters: the same figures for the players of one RFM group (on the day) and one locale ----------


def kept(user: str, group: str | None, locale: str | None) -> str:
    """Conditions on the player ``user``: their group on ``:d`` (the latest history row on or before it; Low when
    none) is ``group``, their ``players.locale`` is ``locale``. Test constants, written into the text."""
    out = ""
    if group:
        out += f" AND COALESCE({group_of(user, 'd')}, 'Low') = '{group}'"
    if locale:
        out += f" AND (SELECT p.locale FROM players p WHERE p.id = {user}) = '{locale}'"
    return out


def player_counts(d: dt.date, *, group: str | None = None, locale: str | None = None) -> dict[str, Any]:
    """DAU, WAU, MAU, new players, paying players and churned of day ``d`` for the players ``kept`` on ``d``."""

    def active(a: dt.date, action_types: str = APP) -> int:
        return one(
            f"SELECT COUNT(DISTINCT u.user_id) FROM user_actions u WHERE u.action_type IN {action_types} "
            f"AND BD(u.action_timestamp) BETWEEN :a AND :d{kept('u.user_id', group, locale)}",
            a=a,
            d=d,
        )

    mau = active(days(d, -29))
    return {
        "date": d.isoformat(),
        "dau": active(d),
        "wau": active(days(d, -6)),
        "mau": mau,
        "new_players": one(
            f"SELECT COUNT(*) FROM (SELECT user_id, MIN(BD(action_timestamp)) AS f FROM user_actions "
            f"WHERE action_type IN {APP} GROUP BY user_id) x WHERE x.f = :d{kept('x.user_id', group, locale)}",
            d=d,
        ),
        "paying_players_30d": active(days(d, -29), "('PURCHASE_CYBER_TOKENS')"),
        "churned_14d": mau - active(days(d, -13)),
    }


def cohort_kept(c: dt.date, today: dt.date, *, group: str | None = None, locale: str | None = None) -> dict[str, Any]:
    """``cohort`` for the players of cohort c ``kept`` on day c."""
    first = (
        f"SELECT user_id FROM user_actions WHERE action_type IN {APP} GROUP BY user_id "
        "HAVING MIN(BD(action_timestamp)) = :d"
    )
    first = f"SELECT f0.user_id FROM ({first}) f0 WHERE 1 = 1{kept('f0.user_id', group, locale)}"
    out: dict[str, Any] = {
        "date": c.isoformat(),
        "size": len(q(first, d=c)),
        "retained": {},
        "retained_on_or_after": {},
    }
    for n in (1, 7, 14, 30):
        for key, op in (("retained", "="), ("retained_on_or_after", ">=")):
            value = one(
                f"SELECT COUNT(*) FROM ({first}) f WHERE EXISTS (SELECT 1 FROM user_actions a "
                f"WHERE a.user_id = f.user_id AND a.action_type IN {APP} AND BD(a.action_timestamp) {op} :cn)",
                d=c,
                cn=days(c, n),
            )
            out[key][str(n)] = value if days(c, n) <= today else None
    return out
