"""The bar (issue 16): the rolled-up figures equal an independent SQL over the raw log (``tests.analytics.reference``)
on a population built to hit every edge (``tests.analytics.population``), before and after late actions; the
incremental refresh leaves exactly what a full rebuild does; the command rebuilds a range to the same rows."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from analytics import selectors, services
from analytics.models import (
    Cohort,
    Day,
    HourCell,
    MonthChurn,
    PlayerDay,
    PlayerSpan,
    ProposalDay,
    RfmCoverage,
    RfmMix,
    RfmTransition,
    RollupState,
    TokenFlow,
)
from tests.analytics import population, reference
from tests.analytics.population import FIRST, TODAY

pytestmark = pytest.mark.django_db

START = dt.date(2026, 9, 25)  # before the first action: the API answers only days rolled up


def all_days(a: dt.date, b: dt.date) -> list[dt.date]:
    return [a + dt.timedelta(days=n) for n in range((b - a).days + 1)]


def expected_daily(day: dt.date) -> dict[str, Any]:
    ref = reference.daily(day)
    ref.pop("churned_14d")
    return ref


def comparable_daily(row: dict[str, Any]) -> dict[str, Any]:
    keep = dict(row)
    for ratio in ("stickiness", "paying_ratio", "whale_share"):
        keep.pop(ratio)
    keep["corporate_loop"] = {k: v for k, v in row["corporate_loop"].items() if k != "share"}
    return keep


def check_everything() -> None:
    """Every figure of every day from the first action to today against the reference."""
    # daily
    got = {r["date"]: comparable_daily(r) for r in selectors.daily_figures(d0=START, d1=TODAY)}
    assert min(got) <= FIRST.isoformat() and max(got) == TODAY.isoformat()
    assert sorted(got) == [d.isoformat() for d in all_days(dt.date.fromisoformat(min(got)), TODAY)]  # no day missing
    for day in all_days(dt.date.fromisoformat(min(got)), TODAY):
        assert got[day.isoformat()] == expected_daily(day), day
    # churn, daily and monthly
    churn = selectors.churn_figures(d0=dt.date(2026, 10, 1), d1=TODAY)
    for row in churn["days"]:
        day = dt.date.fromisoformat(row["date"])
        assert row["churned_14d"] == reference.daily(day)["churned_14d"], day
    for row in churn["months"]:
        month = dt.date.fromisoformat(row["month"] + "-01")
        assert (row["active_previous_month"], row["churned"]) == reference.monthly_churn(month), month
    # retention: every cohort, with the days not reached as None
    cohorts = selectors.retention_cohorts(d0=START, d1=TODAY)
    assert cohorts, "no cohort"
    expected = [reference.cohort(dt.date.fromisoformat(c["date"]), TODAY) for c in cohorts]
    assert cohorts == expected
    sizes = reference.q(
        f"SELECT COUNT(*) FROM (SELECT user_id FROM user_actions WHERE action_type IN {reference.APP} "
        "GROUP BY user_id) x"
    )
    assert sum(c["size"] for c in cohorts) == sizes[0][0]
    # peak hours on each player's clock
    cells = selectors.peak_hours(d0=START, d1=TODAY)["cells"]
    ref_cells = reference.peak_hours(START, TODAY)
    assert {(c["weekday"], c["hour"]): c["actions"] for c in cells if c["actions"]} == dict(ref_cells)
    # RFM: the mix and the transitions per day, the coverage of the last run
    rfm = {r["date"]: r for r in selectors.rfm_figures(d0=START, d1=TODAY)}
    for day in (dt.date(2026, 11, 18), dt.date(2026, 11, 19), TODAY):
        row = rfm.get(day.isoformat())
        mix = {g: n for g, n in (row["mix"] if row else {}).items() if n}
        assert mix == reference.rfm_mix(day), day
        transitions = {(t["from"], t["to"], t["players"]) for t in (row["transitions"] if row else [])}
        assert transitions == reference.rfm_transitions(day), day
    coverage = rfm[TODAY.isoformat()]["coverage"]
    assert (coverage["low_at_risk"], coverage["low_in_gaps"]) == reference.coverage(TODAY)
    # proposals
    rows = selectors.proposal_figures(d0=START, d1=TODAY)
    assert {(r["type"], r["segment"], r["locale"], r["impressions"], r["clicks"]) for r in rows} == reference.proposals(
        START, TODAY
    )


ROLLUPS = (
    PlayerDay,
    PlayerSpan,
    Day,
    TokenFlow,
    HourCell,
    RfmMix,
    RfmTransition,
    RfmCoverage,
    ProposalDay,
    Cohort,
    MonthChurn,
)


def dump() -> dict[str, list[tuple[Any, ...]]]:
    """Every analytics row, without ids and computation times."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for model in ROLLUPS:
        fields = [f.name for f in model._meta.fields if f.name not in ("id", "computed_at")]
        out[model._meta.db_table] = sorted(model.objects.values_list(*fields))
    return out


def wipe() -> None:
    for model in ROLLUPS:
        model.objects.all().delete()
    RollupState.objects.all().delete()


def test_figures_equal_the_raw_log_before_and_after_late_actions_and_a_full_rebuild():
    # given the population, rolled up at 10:00 on TODAY
    pop = population.build()
    services.analytics_refresh(now=population.now())
    # then every figure equals the reference
    check_everything()
    # and the edges came out as built: 23:59 and 00:00 are two days, Company A only is not active, day 30 not reached
    daily = {r["date"]: r for r in selectors.daily_figures(d0=START, d1=TODAY)}
    assert daily["2026-11-01"]["dau"] >= 1 and daily["2026-11-02"]["dau"] >= 1
    assert daily["2026-11-05"]["corporate_only_players"] == 1
    assert daily["2026-11-10"]["corporate_loop"] == {"earners": 2, "spent_within_7d": 1, "share": 0.5}
    assert daily["2026-11-12"]["corporate_loop"]["spent_within_7d"] == 1
    assert daily[TODAY.isoformat()]["whale_players"] == 1 and daily["2026-11-19"]["whale_players"] == 0
    open_cohort = next(c for c in selectors.retention_cohorts(d0=START, d1=TODAY) if c["date"] == "2026-11-05")
    assert open_cohort["retained"] == {"1": 1, "7": 1, "14": 1, "30": None}
    gaps = selectors.rfm_figures(d0=TODAY, d1=TODAY)[0]["coverage"]["gaps"]
    assert any("High Engaged: M < 2000" in g["gap"] for g in gaps), gaps

    # when actions arrive late, stamped with days rolled up already, and the refresh runs again
    population.add_late(pop)
    report = services.analytics_refresh(now=population.now() + dt.timedelta(minutes=5))
    # then only their days were recomputed, and every figure still equals the reference
    assert "2026-10-15..2026-10-16" in report.dirty and "2026-11-04..2026-11-04" in report.dirty
    check_everything()
    daily = {r["date"]: r for r in selectors.daily_figures(d0=START, d1=TODAY)}
    assert daily["2026-10-15"]["new_players"] == 1
    assert daily["2026-11-10"]["corporate_loop"]["spent_within_7d"] == 2
    incremental = dump()

    # when the whole range is rebuilt by the command
    out = StringIO()
    call_command("rollup_analytics", "--from", "2026-10-01", "--to", TODAY.isoformat(), stdout=out)
    # then the rows are the same
    assert dump() == incremental
    assert "days rolled up 51" in out.getvalue()

    # when everything is computed afresh by a first refresh
    wipe()
    services.analytics_refresh(now=population.now() + dt.timedelta(minutes=5))
    # then the rows are the same as the incremental ones
    assert dump() == incremental
