"""Reads of the rollups for the API (docs/metrics.md): never the raw log. Each answer is plain data in the shape the
API documents (``analytics.serializers``)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db import connection
from django.db.models import Q, Sum

from analytics import sql
from analytics.models import (
    Cohort,
    Day,
    HourCell,
    MonthChurn,
    ProposalDay,
    ProtectionDay,
    RfmCoverage,
    RfmMix,
    RfmTransition,
    RollupState,
    TokenFlow,
)
from analytics.sql import RETENTION_DAYS
from core.sql import Dialect

GROUPS = ("Low", "Medium", "High Engaged", "Whale")


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _dates(d0: dt.date, d1: dt.date) -> dict[str, Any]:
    ops = connection.ops
    return {"d0": ops.adapt_datefield_value(d0), "d1": ops.adapt_datefield_value(d1)}


def rollup_last_day() -> dt.date | None:
    """The last day rolled up (today at the last refresh), or None before the first."""
    return RollupState.objects.filter(id=RollupState.SINGLETON_ID).values_list("last_day", flat=True).first()


def daily_figures(*, d0: dt.date, d1: dt.date) -> list[dict[str, Any]]:
    rows = Day.objects.filter(day__gte=d0, day__lte=d1).order_by("day")
    return [
        {
            "date": f.day.isoformat(),
            "dau": f.dau,
            "wau": f.wau,
            "mau": f.mau,
            "stickiness": _ratio(f.dau, f.mau),
            "new_players": f.new_players,
            "corporate_only_players": f.corporate_only_players,
            "paying_players_30d": f.paying_players_30d,
            "paying_ratio": _ratio(f.paying_players_30d, f.mau),
            "whale_players": f.whale_players,
            "whale_share": _ratio(f.whale_players, f.mau),
            "tokens_earned": {
                "corporate": f.earned_corporate,
                "in_app": f.earned_in_app,
                "reward": f.earned_reward,
                "purchase": f.earned_purchase,
            },
            "tokens_spent": {"games": f.spent_games, "content": f.spent_content},
            "tokens_refunded": f.refunded_purchase,
            "net_issuance": f.ledger_net,
            "outstanding_balance": f.outstanding_balance,
            "corporate_loop": {
                "earners": f.corporate_earners,
                "spent_within_7d": f.corporate_earners_spent_7d,
                "share": _ratio(f.corporate_earners_spent_7d, f.corporate_earners),
            },
        }
        for f in rows
    ]


def _filter_params(d0: dt.date, d1: dt.date, group: str | None, locale: str | None) -> dict[str, Any]:
    params = _dates(d0, d1)
    if group:
        params.update(group=group, low=GROUPS[0])
    if locale:
        params["locale"] = locale
    return params


def player_counts(
    *, d0: dt.date, d1: dt.date, group: str | None = None, locale: str | None = None
) -> list[dict[str, Any]]:
    """Per day rolled up in the range, the figures that count players (docs/metrics.md), for the players whose RFM
    group on that day is ``group`` and whose locale is ``locale`` (either None: any): DAU, WAU, MAU, stickiness,
    new players (kept by their group on their first active day), paying players and ratio, and churn (active in
    the 30 days ending the day, none in its last 14). Without a filter, the day rows as the daily endpoint reads
    them; with one, two statements over the player-day rollups (``sql.player_counts_select``, the windows' changes
    summed here day by day, and ``sql.new_players_filtered_select``)."""
    days = Day.objects.filter(day__gte=d0, day__lte=d1).order_by("day")
    fields = ("dau", "wau", "active_14d", "mau", "paying_players_30d", "new_players")
    counts: dict[dt.date, list[int]] = {day: list(figures) for day, *figures in days.values_list("day", *fields)}
    if (group or locale) and counts:
        d = Dialect(connection.vendor)
        params = _filter_params(d0, d1, group, locale)
        statement = sql.player_counts_select(d, group=bool(group), locale=bool(locale), low=group == GROUPS[0])
        changes: dict[str, dict[dt.date, int]] = {name: {} for name, _, _ in sql.FILTERED_WINDOWS}
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            for name, day, sign, n in cursor.fetchall():
                step = changes[name]
                key = sql.as_date(day)
                step[key] = step.get(key, 0) + int(sign) * int(n)
            cursor.execute(sql.new_players_filtered_select(d, group=bool(group), locale=bool(locale)), params)
            new = {sql.as_date(day): int(n) for day, n in cursor.fetchall()}
        running = dict.fromkeys(changes, 0)
        day = d0
        while day <= d1:
            for name, step in changes.items():
                running[name] += step.get(day, 0)
            if day in counts:
                counts[day] = [*(running[name] for name, _, _ in sql.FILTERED_WINDOWS), new.get(day, 0)]
            day += dt.timedelta(days=1)
    out = []
    for day, (dau, wau, active_14d, mau, paying, new_players) in counts.items():
        out.append(
            {
                "date": day.isoformat(),
                "dau": dau,
                "wau": wau,
                "mau": mau,
                "stickiness": _ratio(dau, mau),
                "new_players": new_players,
                "paying_players_30d": paying,
                "paying_ratio": _ratio(paying, mau),
                "churned_14d": mau - active_14d,
                "churn_rate": _ratio(mau - active_14d, mau),
            }
        )
    return out


def retention_cohorts(
    *, d0: dt.date, d1: dt.date, group: str | None = None, locale: str | None = None
) -> list[dict[str, Any]]:
    """Cohorts by first active day; a day c+N after the last day rolled up is ``None`` (not reached yet). With
    ``group`` / ``locale``, each cohort keeps only its players whose group on day c is ``group`` / whose locale is
    ``locale``."""
    last = rollup_last_day()
    if group or locale:  # counted here, over the kept players
        statement = sql.retention_select(Dialect(connection.vendor), group=bool(group), locale=bool(locale))
        with connection.cursor() as cursor:
            cursor.execute(statement, _filter_params(d0, d1, group, locale))
            rows = cursor.fetchall()
    else:  # everyone: the refresh's rollup (``analytics_cohorts``), the same counts
        rows = Cohort.objects.filter(day__gte=d0, day__lte=d1).values_list(*sql.COHORT_FIELDS)
    cohorts = []
    k = len(RETENTION_DAYS)
    for row in sorted(rows, key=lambda r: sql.as_date(r[0])):
        day = sql.as_date(row[0])

        def reached(n: int, value: Any, day: dt.date = day) -> int | None:
            return int(value or 0) if last is not None and day + dt.timedelta(days=n) <= last else None

        cohorts.append(
            {
                "date": day.isoformat(),
                "size": int(row[1]),
                "retained": {str(n): reached(n, row[2 + i]) for i, n in enumerate(RETENTION_DAYS)},
                "retained_on_or_after": {str(n): reached(n, row[2 + k + i]) for i, n in enumerate(RETENTION_DAYS)},
            }
        )
    return cohorts


def month_start(day: dt.date, shift: int = 0) -> dt.date:
    """The first day of ``day``'s calendar month, ``shift`` months on."""
    index = day.year * 12 + day.month - 1 + shift
    return dt.date(index // 12, index % 12 + 1, 1)


def churn_figures(*, d0: dt.date, d1: dt.date) -> dict[str, Any]:
    """Daily churn (of the players active in the 30 days ending the day, those with no activity in its last 14) and
    monthly churn (of the players active in month m-1, those not active in m) for the months the range touches (the
    refresh's rollup, ``analytics_month_churn``; a month not over yet is ``complete: false``)."""
    days = [
        {
            "date": f.day.isoformat(),
            "active_30d": f.mau,
            "churned_14d": f.mau - f.active_14d,
            "rate": _ratio(f.mau - f.active_14d, f.mau),
        }
        for f in Day.objects.filter(day__gte=d0, day__lte=d1).order_by("day")
    ]
    last = rollup_last_day()
    kept = {m.month: m for m in MonthChurn.objects.filter(month__gte=month_start(d0), month__lte=d1)}
    months = []
    month = month_start(d0)
    while month <= d1:
        following = month_start(month, 1)
        row = kept.get(month) or MonthChurn(month=month, active_previous_month=0, churned=0)  # nobody active yet
        months.append(
            {
                "month": f"{month:%Y-%m}",
                "active_previous_month": row.active_previous_month,
                "churned": row.churned,
                "rate": _ratio(row.churned, row.active_previous_month),
                "complete": last is not None and following <= last,
            }
        )
        month = following
    return {"days": days, "months": months}


def token_flows(*, d0: dt.date, d1: dt.date) -> dict[str, Any]:
    """Per day and per month (the range's days in it): earned by source, spent by game and by content, net issuance;
    the outstanding balance at each day's end."""
    per_day: dict[dt.date, dict[str, Any]] = {}
    for f in Day.objects.filter(day__gte=d0, day__lte=d1).order_by("day"):
        per_day[f.day] = {
            "date": f.day.isoformat(),
            "earned": {"corporate": 0, "in_app": 0, "reward": 0, "purchase": 0},
            "spent_by_game": {},
            "spent_by_content": {},
            "refunded": f.refunded_purchase,
            "net_issuance": f.ledger_net,
            "outstanding_balance": f.outstanding_balance,
        }
    flows = (
        TokenFlow.objects.filter(day__gte=d0, day__lte=d1)
        .values("day", "direction", "category", "key")
        .annotate(n=Sum("tokens"))
        .values_list("day", "direction", "category", "key", "n")
    )
    for day, direction, category, key, tokens in flows:
        entry = per_day.get(day)
        if entry is None:
            continue
        if direction == "earned":
            if key in entry["earned"]:
                entry["earned"][key] += int(tokens)
        else:
            bucket = entry["spent_by_game" if category == "game" else "spent_by_content"]
            bucket[key] = bucket.get(key, 0) + int(tokens)
    months: dict[str, dict[str, Any]] = {}
    for day, entry in sorted(per_day.items()):
        m = months.setdefault(
            f"{day:%Y-%m}",
            {
                "month": f"{day:%Y-%m}",
                "days": 0,
                "earned": dict.fromkeys(entry["earned"], 0),
                "spent_by_game": defaultdict(int),
                "spent_by_content": defaultdict(int),
                "refunded": 0,
                "net_issuance": 0,
            },
        )
        m["days"] += 1
        m["refunded"] += entry["refunded"]
        m["net_issuance"] += entry["net_issuance"]
        for key, value in entry["earned"].items():
            m["earned"][key] += value
        for field in ("spent_by_game", "spent_by_content"):
            for key, value in entry[field].items():
                m[field][key] += value
    for m in months.values():
        m["spent_by_game"] = dict(m["spent_by_game"])
        m["spent_by_content"] = dict(m["spent_by_content"])
    return {"days": list(per_day.values()), "months": list(months.values())}


def peak_hours(*, d0: dt.date, d1: dt.date) -> dict[str, Any]:
    """App-activity actions of the range by weekday (ISO, 1 = Monday) and hour, each on the player's own clock: all
    168 cells."""
    counts = {
        (w, h): int(n or 0)
        for w, h, n in HourCell.objects.filter(day__gte=d0, day__lte=d1)
        .values("weekday", "hour")
        .annotate(n=Sum("actions"))
        .values_list("weekday", "hour", "n")
    }
    cells = [{"weekday": w, "hour": h, "actions": counts.get((w, h), 0)} for w in range(1, 8) for h in range(24)]
    return {"clock": "player", "cells": cells}


def _clean_gap(bucket: str) -> str:
    return " | ".join(p.strip().rstrip(";").strip() for p in bucket.split("|") if p.strip())


def rfm_figures(*, d0: dt.date, d1: dt.date, group: str | None = None) -> list[dict[str, Any]]:
    """Per day: players per group, the night's transitions (from the group the day before, "" for a first group) and,
    for a day an RFM run's coverage was taken, Low split into at risk and the named gaps. With ``group``: that
    group's players only (its count in the mix, the transitions into or out of it, the coverage when it is Low)."""
    out: dict[dt.date, dict[str, Any]] = {}
    groups = (group,) if group else GROUPS

    def entry(day: dt.date) -> dict[str, Any]:
        return out.setdefault(
            day, {"date": day.isoformat(), "mix": dict.fromkeys(groups, 0), "transitions": [], "coverage": None}
        )

    mix = RfmMix.objects.filter(day__gte=d0, day__lte=d1)
    transitions = RfmTransition.objects.filter(day__gte=d0, day__lte=d1)
    coverage = RfmCoverage.objects.filter(day__gte=d0, day__lte=d1)
    if group:
        mix = mix.filter(rfm_group=group)
        transitions = transitions.filter(Q(from_group=group) | Q(to_group=group))
        if group != GROUPS[0]:
            coverage = coverage.none()
    for day, group_name, players in mix.values_list("day", "rfm_group", "players"):
        entry(day)["mix"][group_name] = players
    for day, a, b, players in transitions.order_by("day", "from_group", "to_group").values_list(
        "day", "from_group", "to_group", "players"
    ):
        entry(day)["transitions"].append({"from": a or None, "to": b, "players": players})
    for day, bucket, players in coverage.order_by("day", "-players", "bucket").values_list("day", "bucket", "players"):
        cov = entry(day)["coverage"]
        if cov is None:
            cov = entry(day)["coverage"] = {"low_at_risk": 0, "low_in_gaps": 0, "gaps": []}
        if bucket == "at_risk":
            cov["low_at_risk"] += players
        else:
            cov["low_in_gaps"] += players
            cov["gaps"].append({"gap": _clean_gap(bucket), "players": players})
    return [out[day] for day in sorted(out)]


def proposal_figures(
    *, d0: dt.date, d1: dt.date, group: str | None = None, locale: str | None = None
) -> list[dict[str, Any]]:
    """Impressions, clicks and CTR by proposal type, the player's RFM group on the serving day, and locale (only
    ``group``'s and ``locale``'s rows when given)."""
    days = ProposalDay.objects.filter(day__gte=d0, day__lte=d1)
    if group:
        days = days.filter(rfm_group=group)
    if locale:
        days = days.filter(locale=locale)
    rows = (
        days.values("proposal_type", "rfm_group", "locale")
        .annotate(impressions=Sum("impressions"), clicks=Sum("clicks"))
        .order_by("proposal_type", "rfm_group", "locale")
    )
    return [
        {
            "type": r["proposal_type"],
            "segment": r["rfm_group"],
            "locale": r["locale"],
            "impressions": int(r["impressions"]),
            "clicks": int(r["clicks"]),
            "ctr": _ratio(int(r["clicks"]), int(r["impressions"])),
        }
        for r in rows
    ]


def _counts(players: int, events: int, noun: str) -> dict[str, int]:
    return {"players": players, noun: events}


def protection_figures(*, d0: dt.date, d1: dt.date) -> list[dict[str, Any]]:
    """Per business day rolled up in [d0, d1]: the protection state and the nightly markers in force (null for a day
    no refresh took them on), the live signals that held proposals back, the proposals held back (all, by type, by
    rule) and the pushes suppressed (all, by kind and reason); docs/metrics.md, "Protection"."""
    state = RollupState.objects.filter(id=RollupState.SINGLETON_ID).values_list("first_day", "last_day").first()
    rows = list(
        ProtectionDay.objects.filter(day__gte=d0, day__lte=d1)
        .order_by("day", "figure", "key")
        .values_list("day", "figure", "key", "players", "events", "computed_at")
    )
    days = {r[0] for r in rows}
    if state is not None and state[0] is not None and state[1] is not None:
        day, last = max(d0, state[0]), min(d1, state[1])
        while day <= last:
            days.add(day)
            day += dt.timedelta(days=1)
    out: dict[dt.date, dict[str, Any]] = {
        day: {
            "date": day.isoformat(),
            "snapshot_at": None,
            "players": None,
            "nightly_markers": None,
            "live_signals": {},
            "proposals_suppressed": {**_counts(0, 0, "proposals"), "by_type": {}, "by_rule": {}},
            "pushes_suppressed": {**_counts(0, 0, "pushes"), "by_reason": []},
        }
        for day in sorted(days)
    }
    for day, figure, key, players, events, computed_at in rows:
        entry = out[day]
        if figure == ProtectionDay.STATE:
            if entry["players"] is None:
                entry["players"] = dict.fromkeys(ProtectionDay.STATE_KEYS, 0)
                entry["nightly_markers"] = entry["nightly_markers"] or {}
                entry["snapshot_at"] = computed_at.isoformat()
            entry["players"][key] = players
        elif figure == ProtectionDay.NIGHTLY_MARKER:
            entry["nightly_markers"] = {**(entry["nightly_markers"] or {}), key: players}
        elif figure == ProtectionDay.LIVE_SIGNAL:
            entry["live_signals"][key] = _counts(players, events, "proposals")
        elif figure == ProtectionDay.PROPOSALS:
            entry["proposals_suppressed"].update(_counts(players, events, "proposals"))
        elif figure == ProtectionDay.PROPOSALS_BY_TYPE:
            entry["proposals_suppressed"]["by_type"][key] = _counts(players, events, "proposals")
        elif figure == ProtectionDay.PROPOSALS_BY_RULE:
            entry["proposals_suppressed"]["by_rule"][key] = _counts(players, events, "proposals")
        elif figure == ProtectionDay.PUSHES:
            entry["pushes_suppressed"].update(_counts(players, events, "pushes"))
        elif figure == ProtectionDay.PUSHES_BY_REASON:
            kind, _, reason = key.partition(":")
            entry["pushes_suppressed"]["by_reason"].append(
                {"kind": kind, "reason": reason, **_counts(players, events, "pushes")}
            )
    return list(out.values())


def dau_today() -> int:
    """Today's DAU (the business calendar) from the rollup the 5-minute refresh keeps; 0 before its first run."""
    from analytics.services import business_today

    return Day.objects.filter(day=business_today()).values_list("dau", flat=True).first() or 0


def dau_today_metric_set() -> None:
    from core.metrics import DAU_TODAY

    DAU_TODAY.set(dau_today())
