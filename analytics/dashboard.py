"""The staff KPI dashboard's panels (issue 16, item 3): the analytics selectors' figures for a date range, an RFM group
and a locale (docs/metrics.md, "Filters"), shaped into tables. A panel's table is what its CSV holds and what the page
draws (tables, shaded cells, Chart.js lines): one source for both. Reads only, through ``analytics.selectors``; a
page is a fixed number of statements whatever the range (no statement per day, cohort or panel row).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from analytics import selectors
from analytics.selectors import GROUPS
from analytics.sql import RETENTION_DAYS
from players.live_harm import LIVE_SIGNALS
from players.selectors import HARM_MARKER_KINDS
from predictions import figures
from predictions.features import FEATURES
from recommendations import figures as loop

DEFAULT_DAYS = 30
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
EARNED = ("corporate", "in_app", "reward", "purchase")
ALL = "all players"  # the scope of a figure the filters do not narrow
NO_FIGURE = "\u2013"  # an en dash: no figure (a day not rolled up, a share of nothing)


@dataclass(frozen=True)
class Filters:
    """The range [d0, d1] (business days, inclusive), and the RFM group and locale (None: any)."""

    d0: dt.date
    d1: dt.date
    group: str | None = None
    locale: str | None = None

    @property
    def days(self) -> int:
        return (self.d1 - self.d0).days + 1

    @property
    def previous_d0(self) -> dt.date:
        """The first day of the previous period: as many days, ending the day before d0."""
        return self.d0 - dt.timedelta(days=self.days)

    @property
    def scope(self) -> str:
        """What the filters keep, in words ("all players" without any)."""
        parts = [f"group {self.group}" if self.group else "", f"locale {self.locale}" if self.locale else ""]
        return ", ".join(p for p in parts if p) or ALL

    def query(self) -> dict[str, str]:
        """The filters as the page's query string (``from``, ``to``, and ``group``, ``locale`` when set)."""
        out = {"from": self.d0.isoformat(), "to": self.d1.isoformat()}
        if self.group:
            out["group"] = self.group
        if self.locale:
            out["locale"] = self.locale
        return out


def filters_default() -> Filters:
    """The last ``DEFAULT_DAYS`` days ending the last day rolled up (today before the first refresh)."""
    from analytics.services import business_today

    last = selectors.rollup_last_day() or business_today()
    return Filters(d0=last - dt.timedelta(days=DEFAULT_DAYS - 1), d1=last)


@dataclass
class Table:
    """One panel's figures: a header row and the rows under it (numbers as numbers, None for no figure), and which
    filters narrowed them (``scope``)."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[Any]]
    scope: str


@dataclass
class Tile:
    """A KPI tile: the figure of the range, the same figure of the previous period, and the change between them."""

    label: str
    value: float | int | None
    previous: float | int | None
    kind: str  # count | ratio | tokens
    scope: str
    help: str
    better: str = "up"  # which way is good news: up, down, or "" (neither: token issuance)

    @property
    def change(self) -> float | None:
        """Relative change for counts and tokens; the difference, in points of a share, for ratios."""
        if self.value is None or self.previous is None:
            return None
        if self.kind == "ratio":
            return self.value - self.previous
        return (self.value - self.previous) / abs(self.previous) if self.previous else None

    @property
    def value_text(self) -> str:
        return _fmt(self.value, self.kind)

    @property
    def previous_text(self) -> str:
        return _fmt(self.previous, self.kind)

    @property
    def change_text(self) -> str:
        change = self.change
        if change is None:
            if self.value is None or self.previous is None:
                return "no previous figure"
            return "no change" if self.value == self.previous else "from 0"
        if self.kind == "ratio":
            return f"{change * 100:+.1f} pp"
        return f"{change * 100:+.1f}%"

    @property
    def direction(self) -> str:
        """up or down (the figure against the previous one), or "" (the same, or nothing to compare)."""
        if self.value is None or self.previous is None or self.value == self.previous:
            return ""
        return "up" if self.value > self.previous else "down"

    @property
    def tone(self) -> str:
        """good or bad news by ``better``, or "" (no change, or a figure that is neither)."""
        if not self.direction or not self.better:
            return ""
        return "good" if self.direction == self.better else "bad"


def _fmt(value: float | int | None, kind: str) -> str:
    if value is None:
        return NO_FIGURE
    if kind == "ratio":
        return f"{value * 100:.1f}%"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def _mean(values: Iterable[float | int | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return sum(kept) / len(kept) if kept else None


def _last(rows: list[dict[str, Any]], key: str) -> Any:
    return rows[-1][key] if rows else None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _split(rows: list[dict[str, Any]], f: Filters) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Rows of the previous period, rows of the range."""
    d0 = f.d0.isoformat()
    return [r for r in rows if r["date"] < d0], [r for r in rows if r["date"] >= d0]


# --- the panels ------------------------------------------------------------------------------------------------------


@dataclass
class Dashboard:
    filters: Filters
    tables: dict[str, Table] = field(default_factory=dict)
    tiles: list[Tile] = field(default_factory=list)
    charts: dict[str, Any] = field(default_factory=dict)  # the Chart.js lines, as the page's JSON
    retention: list[dict[str, Any]] = field(default_factory=list)
    heatmap: list[dict[str, Any]] = field(default_factory=list)
    transitions: dict[str, Any] = field(default_factory=dict)
    coverage: dict[str, Any] | None = None
    coverage_date: str | None = None


def _kpis_and_activity(f: Filters, out: Dashboard) -> None:
    counts = selectors.player_counts(d0=f.previous_d0, d1=f.d1, group=f.group, locale=f.locale)
    daily = selectors.daily_figures(d0=f.previous_d0, d1=f.d1)
    before, now = _split(counts, f)
    daily_before, daily_now = _split(daily, f)

    def earned(rows: list[dict[str, Any]]) -> int | None:
        return sum(sum(r["tokens_earned"].values()) for r in rows) if rows else None

    def spent(rows: list[dict[str, Any]]) -> int | None:
        return sum(sum(r["tokens_spent"].values()) for r in rows) if rows else None

    def loop(rows: list[dict[str, Any]]) -> float | None:
        earners = sum(r["corporate_loop"]["earners"] for r in rows)
        return _share(sum(r["corporate_loop"]["spent_within_7d"] for r in rows), earners)

    def total(rows: list[dict[str, Any]], key: str) -> int | None:
        return sum(r[key] for r in rows) if rows else None

    def tile(
        label: str,
        read: Callable[[list[dict[str, Any]]], Any],
        kind: str,
        help: str,
        *,
        narrowed: bool,
        better: str = "up",
    ) -> Tile:
        rows_now, rows_before = (now, before) if narrowed else (daily_now, daily_before)
        return Tile(label, read(rows_now), read(rows_before), kind, f.scope if narrowed else ALL, help, better)

    out.tiles = [
        tile("DAU (average)", lambda r: _mean(x["dau"] for x in r), "count", "Mean of the days' DAU.", narrowed=True),
        tile("MAU", lambda r: _last(r, "mau"), "count", "Active in the 30 days ending the last day.", narrowed=True),
        tile(
            "Stickiness",
            lambda r: _mean(x["stickiness"] for x in r),
            "ratio",
            "Mean of the days' DAU / MAU.",
            narrowed=True,
        ),
        tile(
            "New players", lambda r: total(r, "new_players"), "count", "First active day in the period.", narrowed=True
        ),
        tile(
            "Paying ratio",
            lambda r: _last(r, "paying_ratio"),
            "ratio",
            "Cash purchase in 30 days / MAU, on the last day.",
            narrowed=True,
        ),
        tile(
            "Churn rate",
            lambda r: _last(r, "churn_rate"),
            "ratio",
            "Of MAU, none active in the last 14 days, on the last day.",
            narrowed=True,
            better="down",
        ),
        tile(
            "Whale share", lambda r: _last(r, "whale_share"), "ratio", "Whales / MAU, on the last day.", narrowed=False
        ),
        tile("Tokens earned", earned, "tokens", "Every source, purchases included.", narrowed=False, better=""),
        tile("Tokens spent", spent, "tokens", "Games and content.", narrowed=False, better=""),
        tile(
            "Net issuance",
            lambda r: total(r, "net_issuance"),
            "tokens",
            "Ledger credits minus debits (token inflation when it stays positive).",
            narrowed=False,
            better="",
        ),
        tile("Company A loop", loop, "ratio", "Company A earners who spent in the app within 7 days.", narrowed=False),
    ]
    out.tables["kpis"] = Table(
        "kpis",
        "KPIs against the previous period",
        ["metric", "scope", "value", "previous", "change"],
        [[t.label, t.scope, t.value, t.previous, t.change] for t in out.tiles],
        f.scope if f.scope == ALL else f"{f.scope}, but tiles marked {ALL}",
    )
    columns = ["date", "dau", "wau", "mau", "stickiness", "new_players", "paying_players_30d", "paying_ratio"]
    columns += ["churned_14d", "churn_rate"]
    out.tables["activity"] = Table(
        "activity", "Active players", columns, [[r[c] for c in columns] for r in now], f.scope
    )
    labels = [r["date"] for r in now]
    out.charts["activity"] = {
        "labels": labels,
        "series": [{"label": k.upper(), "data": [r[k] for r in now]} for k in ("dau", "wau", "mau")],
    }
    out.charts["players"] = {
        "labels": labels,
        "series": [
            {"label": "New players", "data": [r["new_players"] for r in now]},
            {"label": "Paying (30 days)", "data": [r["paying_players_30d"] for r in now]},
            {"label": "Churned (14 days)", "data": [r["churned_14d"] for r in now]},
        ],
    }


def _retention(f: Filters, out: Dashboard) -> None:
    cohorts = selectors.retention_cohorts(d0=f.d0, d1=f.d1, group=f.group, locale=f.locale)
    ns = [str(n) for n in RETENTION_DAYS]
    columns = ["date", "size", *(f"retained_{n}" for n in ns), *(f"retained_on_or_after_{n}" for n in ns)]
    rows = [
        [c["date"], c["size"], *(c["retained"][n] for n in ns), *(c["retained_on_or_after"][n] for n in ns)]
        for c in cohorts
    ]
    out.tables["retention"] = Table("retention", "Cohort retention", columns, rows, f.scope)

    def cell(count: int | None, size: int) -> dict[str, Any]:
        share = _share(count, size) if count is not None else None
        return {"count": count, "share": share, "shade": _shade(share)}

    out.retention = [
        {
            "date": c["date"],
            "size": c["size"],
            "cells": [cell(c["retained"][n], c["size"]) for n in ns]
            + [cell(c["retained_on_or_after"][n], c["size"]) for n in ns],
        }
        for c in cohorts
    ]


def _shade(share: float | None) -> int:
    """A cell's shade, 0..10, from its share of the largest (or of the whole, for a share)."""
    return 0 if not share else max(1, min(10, round(share * 10)))


def _peak_hours(f: Filters, out: Dashboard) -> None:
    cells = selectors.peak_hours(d0=f.d0, d1=f.d1)["cells"]
    out.tables["peak_hours"] = Table(
        "peak_hours",
        "Actions by hour and weekday (each player's clock)",
        ["weekday", "hour", "actions"],
        [[c["weekday"], c["hour"], c["actions"]] for c in cells],
        ALL,
    )
    top = max((c["actions"] for c in cells), default=0)
    out.heatmap = [
        {
            "weekday": WEEKDAYS[w - 1],
            "cells": [
                {"hour": c["hour"], "actions": c["actions"], "shade": _shade(_share(c["actions"], top))}
                for c in cells
                if c["weekday"] == w
            ],
        }
        for w in range(1, 8)
    ]


def _rfm(f: Filters, out: Dashboard) -> None:
    days = selectors.rfm_figures(d0=f.d0, d1=f.d1, group=f.group)
    groups = [f.group] if f.group else list(GROUPS)
    scope = f"group {f.group}" if f.group else ALL
    out.tables["rfm_mix"] = Table(
        "rfm_mix",
        "Players per RFM group",
        ["date", *groups],
        [[d["date"], *(d["mix"][g] for g in groups)] for d in days],
        scope,
    )
    out.tables["rfm_transitions"] = Table(
        "rfm_transitions",
        "RFM transitions per night",
        ["date", "from", "to", "players"],
        [[d["date"], t["from"], t["to"], t["players"]] for d in days for t in d["transitions"]],
        scope,
    )
    coverage_rows: list[list[Any]] = []
    for d in days:
        if d["coverage"] is not None:
            coverage_rows.append([d["date"], "at_risk", d["coverage"]["low_at_risk"]])
            coverage_rows += [[d["date"], gap["gap"], gap["players"]] for gap in d["coverage"]["gaps"]]
            out.coverage, out.coverage_date = d["coverage"], d["date"]
    out.tables["rfm_coverage"] = Table(
        "rfm_coverage",
        "Low players: at risk, or in the gaps between the groups",
        ["date", "bucket", "players"],
        coverage_rows,
        scope,
    )
    out.charts["rfm"] = {
        "labels": [d["date"] for d in days],
        "series": [{"label": g, "data": [d["mix"][g] for d in days]} for g in groups],
    }
    sources = ["new", *GROUPS]
    matrix = {a: dict.fromkeys(GROUPS, 0) for a in sources}
    for d in days:
        for t in d["transitions"]:
            matrix[t["from"] or "new"][t["to"]] += t["players"]
    top = max((n for row in matrix.values() for n in row.values()), default=0)
    out.transitions = {
        "columns": list(GROUPS),
        "rows": [
            {
                "from": a,
                "cells": [
                    {"players": matrix[a][b], "shade": _shade(_share(matrix[a][b], top)), "kept": a == b}
                    for b in GROUPS
                ],
            }
            for a in sources
        ],
    }


def _tokens(f: Filters, out: Dashboard) -> None:
    flows = selectors.token_flows(d0=f.d0, d1=f.d1)
    columns = ["date", *(f"earned_{k}" for k in EARNED), "spent_games", "spent_content", "net_issuance"]
    columns.append("outstanding_balance")
    rows = [
        [
            d["date"],
            *(d["earned"][k] for k in EARNED),
            sum(d["spent_by_game"].values()),
            sum(d["spent_by_content"].values()),
            d["net_issuance"],
            d["outstanding_balance"],
        ]
        for d in flows["days"]
    ]
    out.tables["tokens"] = Table("tokens", "Token flows per day", columns, rows, ALL)
    spends: dict[tuple[str, str], int] = {}
    for d in flows["days"]:
        for kind, field_name in (("game", "spent_by_game"), ("content", "spent_by_content")):
            for key, tokens in d[field_name].items():
                spends[(kind, key)] = spends.get((kind, key), 0) + tokens
    out.tables["token_spends"] = Table(
        "token_spends",
        "Tokens spent by game and by content",
        ["kind", "key", "tokens"],
        [[kind, key, tokens] for (kind, key), tokens in sorted(spends.items(), key=lambda kv: (-kv[1], kv[0]))],
        ALL,
    )
    labels = [d["date"] for d in flows["days"]]
    out.charts["tokens"] = {
        "labels": labels,
        "series": [{"label": f"Earned: {k}", "data": [r[1 + i] for r in rows]} for i, k in enumerate(EARNED)]
        + [
            {"label": "Spent: games", "data": [r[5] for r in rows]},
            {"label": "Spent: content", "data": [r[6] for r in rows]},
        ],
    }
    out.charts["balance"] = {
        "labels": labels,
        "series": [
            {"label": "Outstanding balance", "data": [r[8] for r in rows]},
            {"label": "Net issuance", "data": [r[7] for r in rows], "axis": "y2"},
        ],
    }


def _proposals(f: Filters, out: Dashboard) -> None:
    rows = selectors.proposal_figures(d0=f.d0, d1=f.d1, group=f.group, locale=f.locale)
    columns = ["type", "segment", "locale", "impressions", "clicks", "ctr"]
    out.tables["proposals"] = Table(
        "proposals", "Proposals: impressions, clicks, CTR", columns, [[r[c] for c in columns] for r in rows], f.scope
    )


PROTECTION_COLUMNS = [
    "date",
    "daily_spend_limit",
    "weekly_spend_limit",
    "cool_off",
    "self_exclusion",
    "limit_raise_pending",
    *(f"marker:{m}" for m in HARM_MARKER_KINDS),
    *(f"live:{s}" for s in LIVE_SIGNALS),
    "proposals_held_back",
    "players_held_back",
    "pushes_suppressed",
    "players_not_pushed",
]


def _protection(f: Filters, out: Dashboard) -> None:
    """Player protection per day (issue 12 item 5; docs/metrics.md "Protection"): the state and the nightly markers
    in force as the day's last refresh saw them (empty where none ran), the players each live signal held back, and
    the proposals and pushes protection held back. Every player; the group and locale filters do not narrow it."""
    rows = []
    for day in selectors.protection_figures(d0=f.d0, d1=f.d1):
        state, markers = day["players"], day["nightly_markers"]
        proposals, pushes = day["proposals_suppressed"], day["pushes_suppressed"]
        rows.append(
            [
                day["date"],
                *(None if state is None else state[k] for k in PROTECTION_COLUMNS[1:6]),
                *(None if markers is None else markers.get(m, 0) for m in HARM_MARKER_KINDS),
                *(day["live_signals"].get(s, {}).get("players", 0) for s in LIVE_SIGNALS),
                proposals["proposals"],
                proposals["players"],
                pushes["pushes"],
                pushes["players"],
            ]
        )
    out.tables["protection"] = Table("protection", "Player protection per day", PROTECTION_COLUMNS, rows, "all players")


def _predictions(f: Filters, out: Dashboard) -> None:
    """Churn and LTV predictions (issue 17; docs/predictions.md) of the players scored as of the last scoring day up
    to the range's end: the churn scores' spread, the predicted LTV by decile, the reasons named most often, and the
    model's calibration on its validation period beside the recency-only baseline's. Every scored player; the group
    and locale filters do not narrow it."""
    as_of = figures.scored_as_of(on_or_before=f.d1)
    scope = f"players scored as of {as_of.isoformat()}" if as_of else "no scoring yet"
    dist = figures.churn_distribution(as_of=as_of) if as_of else []
    out.tables["predictions"] = Table(
        "predictions",
        "Churn probability: players per bin",
        ["from", "to", "players", "mean_ltv"],
        [[b["from"], b["to"], b["players"], b["mean_ltv"]] for b in dist],
        scope,
    )
    deciles = figures.ltv_deciles(as_of=as_of) if as_of else []
    out.tables["prediction_ltv"] = Table(
        "prediction_ltv",
        "Predicted LTV by decile (1: the highest)",
        ["decile", "players", "min_ltv", "mean_ltv", "mean_churn"],
        [[d["decile"], d["players"], d["min_ltv"], d["mean_ltv"], d["mean_churn"]] for d in deciles],
        scope,
    )
    rows = []
    for kind in ("churn", "ltv"):
        for r in figures.top_reasons(as_of=as_of, kind=kind) if as_of else []:
            rows.append([kind, r["feature"], FEATURES.get(r["feature"], ""), r["players"], r["first_reason"]])
    out.tables["prediction_reasons"] = Table(
        "prediction_reasons",
        "Reasons named most often (churn: players at risk; ltv: the top decile)",
        ["score", "feature", "meaning", "players", "first_reason"],
        rows,
        scope,
    )
    model = figures.model_latest(trained_on_or_before=f.d1)
    bins = figures.calibration(model) if model else {"model": [], "baseline": []}
    out.tables["prediction_calibration"] = Table(
        "prediction_calibration",
        "Churn calibration on the validation period" + (f" (model {model.version})" if model else ""),
        ["source", "predicted", "observed", "players"],
        [
            [source, b["predicted"], b["observed"], b["count"]]
            for source, key in (("model", "model"), ("recency-only baseline", "baseline"))
            for b in bins[key]
        ],
        f"validation players of model {model.version}" if model else "no model yet",
    )
    out.charts["churn_distribution"] = {
        "labels": [f"{b['from']:.1f}-{b['to']:.1f}" for b in dist],
        "series": [{"label": "Players", "data": [b["players"] for b in dist]}],
    }
    out.charts["calibration"] = {
        "labels": [f"{b['predicted']:.2f}" for b in bins["model"]],
        "ratio": True,
        "series": [
            {"label": "Observed churn (model)", "data": [b["observed"] for b in bins["model"]]},
            {"label": "Predicted (perfect calibration)", "data": [b["predicted"] for b in bins["model"]]},
        ],
    }


def _loop(f: Filters, out: Dashboard) -> None:
    """The adaptive loop (issue 18 item 5; docs/metrics.md "Conversions", "Uplift"): the bandit's posteriors and each
    variant's share of its message's impressions over the learning window (the night's figures, narrowed by the
    group and locale filters), CTR and CVR of the shown proposals per day, each variant's share of the impressions
    per day, and the uplift against the standing holdout over the range (every player: the filters do not narrow it)."""
    posteriors = loop.variant_posteriors(group=f.group, locale=f.locale)
    columns = ["type", "message", "variant", "group", "locale", "impressions", "clicks", "conversions"]
    columns += ["alpha", "beta", "posterior_mean", "allocation"]
    keys = ["proposal_type", "message_key", "variant", "rfm_group", "locale", "impressions", "clicks", "conversions"]
    keys += ["alpha", "beta", "mean", "allocation"]
    out.tables["loop_variants"] = Table(
        "loop_variants",
        "Message variants: Beta posteriors and allocation (the learning window, as of the last night)",
        columns,
        [[p[k] for k in keys] for p in posteriors],
        f.scope,
    )
    days = loop.loop_days(d0=f.d0, d1=f.d1, group=f.group, locale=f.locale)
    columns = ["date", "impressions", "clicks", "ctr", "conversions", "click_through", "view_through", "cvr"]
    out.tables["loop_rates"] = Table(
        "loop_rates", "Proposals shown: CTR and CVR per day", columns, [[d[c] for c in columns] for d in days], f.scope
    )
    labels = [d["date"] for d in days]
    out.charts["loop_rates"] = {
        "labels": labels,
        "ratio": True,
        "series": [
            {"label": "CTR", "data": [d["ctr"] for d in days]},
            {"label": "CVR", "data": [d["cvr"] for d in days]},
        ],
    }
    allocation = loop.variant_allocation(d0=f.d0, d1=f.d1, group=f.group, locale=f.locale)
    totals = {day: sum(v.get(day, 0) for v in allocation.values()) for day in labels}
    out.charts["loop_allocation"] = {
        "labels": labels,
        "ratio": True,
        "series": [
            {"label": name, "data": [_share(per_day.get(day, 0), totals[day]) for day in labels]}
            for name, per_day in sorted(allocation.items())
        ],
    }
    columns = ["type", "shown_player_days", "shown_converted", "shown_rate", "holdout_player_days"]
    columns += ["holdout_converted", "holdout_rate", "uplift", "ci95_low", "ci95_high"]
    rows = []
    for u in loop.uplift(d0=f.d0, d1=f.d1):
        low, high = u.interval or (None, None)
        arms = [u.shown, u.shown_converted, u.shown_rate, u.holdout, u.holdout_converted, u.holdout_rate]
        rows.append([u.proposal_type, *arms, u.uplift, low, high])
    out.tables["loop_uplift"] = Table(
        "loop_uplift", "Uplift against the holdout (per player-day of a type, 95% interval)", columns, rows, ALL
    )


# Each panel: what it builds. ``panel_table`` builds only the one asked for.
BUILDERS: dict[str, Callable[[Filters, Dashboard], None]] = {
    "kpis": _kpis_and_activity,
    "activity": _kpis_and_activity,
    "retention": _retention,
    "peak_hours": _peak_hours,
    "rfm_mix": _rfm,
    "rfm_transitions": _rfm,
    "rfm_coverage": _rfm,
    "tokens": _tokens,
    "token_spends": _tokens,
    "proposals": _proposals,
    "protection": _protection,
    "predictions": _predictions,
    "prediction_ltv": _predictions,
    "prediction_reasons": _predictions,
    "prediction_calibration": _predictions,
    "loop_variants": _loop,
    "loop_rates": _loop,
    "loop_uplift": _loop,
}
PANELS = tuple(BUILDERS)


def dashboard_build(f: Filters) -> Dashboard:
    """Every panel of the page for ``f``."""
    out = Dashboard(filters=f)
    for build in dict.fromkeys(BUILDERS.values()):
        build(f, out)
    return out


def panel_table(f: Filters, panel: str) -> Table:
    """One panel's table (``panel`` in ``PANELS``), building only what it needs."""
    out = Dashboard(filters=f)
    BUILDERS[panel](f, out)
    return out.tables[panel]


def table_csv(table: Table) -> str:
    """The table as CSV: the header row, then the rows; no figure is an empty cell, a share its full float."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(table.columns)
    writer.writerows([["" if v is None else v for v in row] for row in table.rows])
    return buffer.getvalue()
