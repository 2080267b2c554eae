"""The dashboard's filters (docs/metrics.md, "Filters"): the figures of one RFM group (the player's group on the day)
and one locale equal an independent count over the raw log (``tests.analytics.reference``), and the groups and the
locales each split the unfiltered figures without a player lost or counted twice."""

from __future__ import annotations

import datetime as dt

import pytest

from analytics import selectors, services
from analytics.selectors import GROUPS
from tests.analytics import population, reference
from tests.analytics.population import TODAY

pytestmark = pytest.mark.django_db

D0 = dt.date(2026, 10, 1)
FILTERS = [("Whale", None), ("Low", None), (None, "en"), (None, "ko"), ("Low", "ko"), ("Whale", "en")]
COUNTED = ("dau", "wau", "mau", "new_players", "paying_players_30d", "churned_14d")


@pytest.fixture
def rolled_up() -> population.Population:
    pop = population.build()
    services.analytics_refresh(now=population.now())
    return pop


def counted(row: dict) -> dict:
    return {k: row[k] for k in ("date", *COUNTED)}


@pytest.mark.parametrize(("group", "locale"), FILTERS, ids=[f"{g}-{loc}" for g, loc in FILTERS])
def test_player_counts_of_a_group_and_a_locale_equal_a_count_over_the_raw_log(rolled_up, group, locale):
    # given the population rolled up to TODAY (a Whale from TODAY's run on, players in ko and en)
    # when the player counts are read for one group and one locale
    got = selectors.player_counts(d0=D0, d1=TODAY, group=group, locale=locale)
    # then every day's DAU, WAU, MAU, new players, payers and churned equal the raw log's for those players
    assert [r["date"] for r in got][-1] == TODAY.isoformat()
    for row in got:
        day = dt.date.fromisoformat(row["date"])
        assert counted(row) == reference.player_counts(day, group=group, locale=locale), day


def test_the_whale_filter_counts_the_whale_only_from_the_day_its_group_is_whale(rolled_up):
    # given the Whale, Low on 11-19 and Whale from TODAY's run (11-20)
    # when the Whale group's counts are read for both days
    rows = {r["date"]: r for r in selectors.player_counts(d0=TODAY - dt.timedelta(days=1), d1=TODAY, group="Whale")}
    # then the Whale is in MAU on TODAY and nowhere on 11-19
    assert rows["2026-11-19"]["mau"] == 0
    assert rows[TODAY.isoformat()]["mau"] == 1 and rows[TODAY.isoformat()]["dau"] == 0


def test_a_player_the_batch_never_assigned_counts_as_low(rolled_up):
    # given a player first seen after the last RFM run, with actions logged late on 10-15 and 10-16 (no segment history)
    population.add_late(rolled_up)
    services.analytics_refresh(now=population.now() + dt.timedelta(minutes=5))
    # when the Low group's counts are read
    rows = {r["date"]: r for r in selectors.player_counts(d0=D0, d1=TODAY, group="Low")}
    # then that player is in them as the raw log has it, and in no other group's
    assert rows["2026-10-15"]["dau"] == rows["2026-10-15"]["new_players"] == 1
    for day in ("2026-10-15", "2026-10-16", "2026-11-13", TODAY.isoformat()):
        assert counted(rows[day]) == reference.player_counts(dt.date.fromisoformat(day), group="Low"), day
    for group in GROUPS[1:]:
        assert selectors.player_counts(d0=dt.date(2026, 10, 15), d1=dt.date(2026, 10, 16), group=group)[0]["dau"] == 0


def test_the_groups_and_the_locales_each_split_the_unfiltered_counts(rolled_up):
    # given the unfiltered counts
    whole = selectors.player_counts(d0=D0, d1=TODAY)
    # when they are read for each group, and for each locale
    for name, parts in (
        ("group", [selectors.player_counts(d0=D0, d1=TODAY, group=g) for g in GROUPS]),
        ("locale", [selectors.player_counts(d0=D0, d1=TODAY, locale=loc) for loc in ("ko", "en")]),
    ):
        # then each day's counts add up to the unfiltered ones
        for i, row in enumerate(whole):
            for key in COUNTED:
                assert sum(part[i][key] for part in parts) == row[key], (name, row["date"], key)


def test_without_a_filter_the_counts_are_the_daily_endpoints(rolled_up):
    # given the daily figures the API reads
    daily = selectors.daily_figures(d0=D0, d1=TODAY)
    # when the player counts are read without a filter
    counts = selectors.player_counts(d0=D0, d1=TODAY)
    # then they are the same figures, day by day
    fields = ("date", "dau", "wau", "mau", "stickiness", "new_players", "paying_players_30d", "paying_ratio")
    assert [{k: c[k] for k in fields} for c in counts] == [{k: d[k] for k in fields} for d in daily]


@pytest.mark.parametrize(("group", "locale"), [(None, "en"), ("Low", None), ("Whale", None), ("Low", "ko")])
def test_retention_of_a_group_and_a_locale_equals_a_count_over_the_raw_log(rolled_up, group, locale):
    # given the population rolled up
    # when the cohorts are read for one group (on the cohort's day) and one locale
    cohorts = selectors.retention_cohorts(d0=D0, d1=TODAY, group=group, locale=locale)
    # then each cohort equals the raw log's, and the cohort sizes are the filtered new players
    for c in cohorts:
        assert c == reference.cohort_kept(dt.date.fromisoformat(c["date"]), TODAY, group=group, locale=locale)
    new = {r["date"]: r["new_players"] for r in selectors.player_counts(d0=D0, d1=TODAY, group=group, locale=locale)}
    assert {c["date"]: c["size"] for c in cohorts} == {d: n for d, n in new.items() if n}


def test_proposals_of_a_group_and_a_locale_are_only_their_rows(rolled_up):
    # given every proposal row of the range
    every = selectors.proposal_figures(d0=D0, d1=TODAY)
    # when they are read for the Whale group, and for the locale en
    whale = selectors.proposal_figures(d0=D0, d1=TODAY, group="Whale")
    english = selectors.proposal_figures(d0=D0, d1=TODAY, locale="en")
    # then each is exactly the rows of that group or locale, as the raw log has them
    assert whale == [r for r in every if r["segment"] == "Whale"] and whale
    assert english == [r for r in every if r["locale"] == "en"] and english
    ref = {(t, g, loc, n, c) for t, g, loc, n, c in reference.proposals(D0, TODAY) if loc == "en"}
    assert {(r["type"], r["segment"], r["locale"], r["impressions"], r["clicks"]) for r in english} == ref


def test_the_rfm_mix_of_a_group_counts_it_and_keeps_its_transitions(rolled_up):
    # given the RFM figures of TODAY
    every = selectors.rfm_figures(d0=TODAY, d1=TODAY)[0]
    # when they are read for the Whale group
    whale = selectors.rfm_figures(d0=TODAY, d1=TODAY, group="Whale")[0]
    # then the mix is the Whale count alone, the transitions those into or out of Whale, and no Low coverage
    assert whale["mix"] == {"Whale": reference.rfm_mix(TODAY)["Whale"]} == {"Whale": 1}
    assert whale["transitions"] == [t for t in every["transitions"] if "Whale" in (t["from"], t["to"])]
    assert whale["coverage"] is None
    assert selectors.rfm_figures(d0=TODAY, d1=TODAY, group="Low")[0]["coverage"] == every["coverage"]
