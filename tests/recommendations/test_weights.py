"""The nightly "recalculate recommendation weights" job (issue 18 item 2) and the uplift (item 4) on a small known
population."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import orjson
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from recommendations import weights
from recommendations.models import (
    AttributionState,
    ProposalConversion,
    ProposalDailyStat,
    ProposalUpliftDay,
    VariantPosterior,
)
from recommendations.uplift import OVERALL, Uplift, uplift_figures
from recommendations.weights import day_chunks, weights_recalculate
from tests.recommendations.loop_helpers import T0, play, player, serve
from texts.models import MessageVariant

pytestmark = pytest.mark.django_db

NIGHT = T0 + dt.timedelta(days=2)  # 2026-11-22 12:00 in Seoul
DAY = dt.date(2026, 11, 20)  # T0's business day
HOUR = dt.timedelta(hours=1)


def variant(name: str, state: str = "active") -> None:
    MessageVariant.objects.create(
        key="MID_STAKE", locale="ko", name=name, text="토큰 {token_balance}개: 슬롯머신", state=state
    )


def stats() -> dict[tuple[str, bool, bool], tuple[int, int, int, int]]:
    """(variant, holdout, learning) -> (impressions, clicks, conversions, click conversions) of MID_STAKE on DAY."""
    return {
        (s.variant, s.holdout, s.learning): (s.impressions, s.clicks, s.conversions, s.click_conversions)
        for s in ProposalDailyStat.objects.filter(day=DAY, proposal_type="MID_STAKE", rfm_group="Medium", locale="ko")
    }


def posteriors() -> dict[tuple[str, str], tuple[int, int, int, float, float]]:
    """(variant, group) -> (impressions, clicks, conversions, alpha, beta) of MID_STAKE in ko."""
    return {
        (p.variant, p.rfm_group): (p.impressions, p.clicks, p.conversions, p.alpha, p.beta)
        for p in VariantPosterior.objects.filter(message_key="MID_STAKE", locale="ko")
    }


@pytest.fixture
def population() -> None:
    """MID_STAKE of the slot machine served on DAY to Medium players in ko:
    - the default text to players 1-3: 1 clicked then played, 2 played without a click, 3 did nothing;
    - variant short-a to players 4-5: 4 played;
    - withheld from holdout player 6, who played; served to protected player 7 (not learning), who played;
    - the default text to player 8 forty days before, who played (outside the learning window)."""
    variant("short-a")
    variant("old", state="stopped")
    for k in range(1, 9):
        player(k)
    serve(1, "MID_STAKE", T0, game="SlotMachine", clicked_at=T0 + dt.timedelta(minutes=5))
    serve(2, "MID_STAKE", T0, game="SlotMachine")
    serve(3, "MID_STAKE", T0, game="SlotMachine")
    serve(4, "MID_STAKE", T0, game="SlotMachine", variant="short-a")
    serve(5, "MID_STAKE", T0, game="SlotMachine", variant="short-a")
    serve(6, "MID_STAKE", T0, game="SlotMachine", holdout=True)
    serve(7, "MID_STAKE", T0, game="SlotMachine", learning=False)
    serve(8, "MID_STAKE", T0 - dt.timedelta(days=40), game="SlotMachine")
    for k in (1, 2, 4, 6, 7):
        play(k, T0 + HOUR)
    play(8, T0 - dt.timedelta(days=40) + HOUR)


def test_the_nightly_job_counts_impressions_clicks_and_conversions_per_variant_group_and_locale(population):
    # given the population
    # when the nightly job runs
    report = weights_recalculate(now=NIGHT)
    # then the day's figures split the variants, the holdout and the protected player, click-through apart
    assert stats() == {
        ("", False, True): (3, 1, 2, 1),
        ("short-a", False, True): (2, 0, 1, 0),
        ("", True, True): (1, 0, 1, 0),
        ("", False, False): (1, 0, 1, 0),
    }
    assert report.attribution.conversions == 6
    assert report.days_from <= dt.date(2026, 10, 11)  # the first run restates every day served
    # and the day served 40 days before, six weeks of restatement away, is counted too
    old = ProposalDailyStat.objects.get(day=DAY - dt.timedelta(days=40), proposal_type="MID_STAKE")
    assert (old.impressions, old.conversions) == (1, 1)
    assert ProposalDailyStat.objects.filter(proposal_type="MID_STAKE").count() == len(stats()) + 1


def test_the_posteriors_count_shown_learning_impressions_of_the_window_and_give_every_active_variant_a_fair_start(
    population,
):
    # given the population
    # when the nightly job runs
    weights_recalculate(now=NIGHT)
    found = posteriors()
    # then the default text and short-a carry their counts for Medium: alpha = 1 + conversions, beta = 1 + misses;
    # the holdout, the protected player and the impression 40 days before are not counted
    assert found[("", "Medium")] == (3, 1, 2, 3.0, 2.0)
    assert found[("short-a", "Medium")] == (2, 0, 1, 2.0, 2.0)
    # and every other group has both at Beta(1, 1); the stopped variant has none
    groups = {"Whale", "High Engaged", "Low", ""}
    assert {k: v for k, v in found.items() if k[1] in groups} == {
        (name, g): (0, 0, 0, 1.0, 1.0) for g in groups for name in ("", "short-a")
    }
    assert set(found) == {(name, g) for g in (*groups, "Medium") for name in ("", "short-a")}
    assert VariantPosterior.objects.get(message_key="MID_STAKE", variant="short-a", rfm_group="Low").proposal_type == (
        "MID_STAKE"
    )


def test_a_late_action_changes_its_days_figures_on_the_next_night():
    # given a proposal served on DAY and a night that found no conversion
    player(1)
    serve(1, "MID_STAKE", T0, game="SlotMachine")
    weights_recalculate(now=NIGHT)
    assert stats()[("", False, True)] == (1, 0, 0, 0)
    # when a round stamped on DAY arrives late and the next night runs
    play(1, T0 + HOUR)
    weights_recalculate(now=NIGHT + dt.timedelta(days=1))
    # then DAY's figures and the posterior count it
    assert stats()[("", False, True)] == (1, 0, 1, 0)
    assert posteriors()[("", "Medium")] == (1, 0, 1, 2.0, 1.0)


def test_running_the_night_again_gives_the_same_figures(population):
    # given a night run
    weights_recalculate(now=NIGHT)
    before = (stats(), posteriors())
    # when it runs again
    weights_recalculate(now=NIGHT + dt.timedelta(minutes=10))
    # then the figures are the same
    assert (stats(), posteriors()) == before


def test_the_days_are_restated_in_consecutive_weeks_covering_the_range():
    # given a range of 17 days
    d0, d1 = dt.date(2026, 11, 1), dt.date(2026, 11, 17)
    # then its weeks follow one another without a gap or an overlap, the last one shorter
    assert day_chunks(d0, d1, 7) == [
        (d0, dt.date(2026, 11, 7)),
        (dt.date(2026, 11, 8), dt.date(2026, 11, 14)),
        (dt.date(2026, 11, 15), d1),
    ]
    assert day_chunks(d0, d0, 7) == [(d0, d0)]
    assert day_chunks(d1, d0, 7) == []


def _figures() -> tuple[list[tuple], list[tuple]]:
    daily = sorted(
        ProposalDailyStat.objects.values_list(
            "day", "proposal_type", "variant", "holdout", "learning", "impressions", "clicks", "conversions"
        )
    )
    uplift = sorted(
        ProposalUpliftDay.objects.values_list("day", "proposal_type", "holdout", "player_days", "converted")
    )
    return daily, uplift


def test_restating_a_day_at_a_time_finds_the_figures_of_one_statement_over_the_range(population, monkeypatch):
    # given the population's serves on days forty days apart, and a late serve on the night's own day
    serve(2, "MID_STAKE", NIGHT - HOUR, game="SlotMachine")
    # when the first night restates every day served so far in one statement per table
    monkeypatch.setattr(weights, "RESTATE_CHUNK_DAYS", 1000)
    weights_recalculate(now=NIGHT)
    whole = _figures()
    # and again a day per statement (the figures emptied first)
    ProposalDailyStat.objects.all().delete()
    ProposalUpliftDay.objects.all().delete()
    monkeypatch.setattr(weights, "RESTATE_CHUNK_DAYS", 1)
    weights_recalculate(now=NIGHT + dt.timedelta(minutes=10))
    # then both find the same rows, the first and the last day included
    assert _figures() == whole
    days = {row[0] for row in whole[0]}
    assert DAY - dt.timedelta(days=40) in days and weights.business_date(NIGHT - HOUR) in days


def test_the_command_runs_the_job_and_prints_one_json_line(population):
    # given the population
    out = StringIO()
    # when the command runs
    call_command("recalculate_weights", "--as-of", NIGHT.isoformat(), stdout=out)
    # then it prints what it did as one JSON line
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    report = orjson.loads(lines[0])
    assert report["attribution"]["conversions"] == 6 and report["posteriors"] == 10


def test_the_uplift_interval_of_a_known_case():
    # given 1000 shown player-days of which 300 converted, 500 held out of which 100 converted
    u = Uplift("MID_STAKE", 1000, 300, 500, 100)
    # then the uplift is 10 points with the Wald interval of two proportions
    assert u.shown_rate == 0.3 and u.holdout_rate == 0.2
    assert u.uplift == pytest.approx(0.1)
    low, high = u.interval or (0.0, 0.0)
    assert low == pytest.approx(0.1 - 0.045122, abs=1e-6) and high == pytest.approx(0.1 + 0.045122, abs=1e-6)


def test_an_empty_arm_has_no_uplift():
    # given a type never withheld
    u = Uplift("LIMIT_SUGGESTION", 10, 2, 0, 0)
    # then there is no uplift and no interval
    assert u.uplift is None and u.interval is None


def test_the_uplift_counts_player_days_per_type_and_overall():
    # given a shown player served MID_STAKE three times on DAY who played once, a shown player who did not, and a
    # holdout player withheld twice who played; and a CORPORATE_ENGAGE shown to one player, never withheld
    for k in range(1, 5):
        player(k)
    for minutes in (0, 10, 20):
        serve(1, "MID_STAKE", T0 + dt.timedelta(minutes=minutes), game="SlotMachine")
    serve(2, "MID_STAKE", T0, game="SlotMachine")
    serve(3, "MID_STAKE", T0, game="SlotMachine", holdout=True)
    serve(3, "MID_STAKE", T0 + HOUR, game="SlotMachine", holdout=True)
    serve(4, "CORPORATE_ENGAGE", T0)
    play(1, T0 + HOUR)
    play(3, T0 + 2 * HOUR)
    weights_recalculate(now=NIGHT)
    # when the uplift of DAY is read
    figures = {u.proposal_type: u for u in uplift_figures(d0=DAY, d1=DAY)}
    # then each arm counts player-days, not impressions
    mid = figures["MID_STAKE"]
    assert (mid.shown, mid.shown_converted, mid.holdout, mid.holdout_converted) == (2, 1, 1, 1)
    assert mid.uplift == pytest.approx(-0.5)
    assert figures["CORPORATE_ENGAGE"].interval is None
    overall = figures[OVERALL]
    assert (overall.shown, overall.shown_converted, overall.holdout, overall.holdout_converted) == (3, 1, 1, 1)


def test_attribution_reads_from_the_first_action_after_its_watermark_not_from_the_first_id(population):
    # given the population's actions behind ids no action has (a log whose ids start high: a restore, a long-lived
    # sequence), and the watermark at 0
    from django.db.models import F

    from activity.models import UserAction

    UserAction.objects.update(id=F("id") + 1_000_000)
    ids = sorted(UserAction.objects.values_list("id", flat=True))
    # when the night attributes in ranges of one id
    read: list[int] = []
    report = weights_recalculate(now=NIGHT, chunk_size=1, on_start=read.append)
    # then its ranges span the ids from the first action on: one statement per id there, none for the million before
    assert read == [ids[-1] - ids[0] + 1]
    assert report.attribution.conversions == 6 and report.attribution.watermark == ids[-1]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the parallel path runs on PostgreSQL (RECOMMENDATION_NIGHTLY_WORKERS is 1 on SQLite); PostgreSQL pass",
)
@pytest.mark.django_db(transaction=True)
def test_several_connections_at_once_find_the_same_figures_as_one(settings):
    # given the population on committed rows, attributed in ranges of one action id
    for k in range(1, 9):
        player(k)
    for k in range(1, 9):
        serve(k, "MID_STAKE", T0 + k * dt.timedelta(minutes=1), game="SlotMachine", variant="short-a" if k % 2 else "")
    for k in (1, 2, 4, 6, 7):
        play(k, T0 + HOUR)
    settings.RECOMMENDATION_NIGHTLY_WORKERS = 1
    one = weights_recalculate(now=NIGHT, chunk_size=1)
    alone = (stats(), posteriors(), sorted(ProposalConversion.objects.values_list("action_id", "impression_id")))
    ProposalConversion.objects.all().delete()
    AttributionState.objects.all().delete()
    # when the night runs again from the start on three connections at once
    settings.RECOMMENDATION_NIGHTLY_WORKERS = 3
    several = weights_recalculate(now=NIGHT + dt.timedelta(minutes=1), chunk_size=1)
    # then the conversions, the day's figures and the posteriors are the same
    assert several.attribution.conversions == one.attribution.conversions == 5
    assert (stats(), posteriors(), sorted(ProposalConversion.objects.values_list("action_id", "impression_id"))) == (
        alone
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2026-11-22T12:00:00"], "--as-of needs a UTC offset"),
        (["--as-of", "yesterday"], "--as-of"),
        (["--chunk-size", "0"], "--chunk-size must be at least 1"),
    ],
    ids=["no-offset", "not-a-time", "no-chunk"],
)
def test_the_command_refuses_bad_arguments_and_writes_nothing(population, args, message):
    # given the population, never attributed
    # when the command is given a bad argument
    with pytest.raises(CommandError, match=message):
        call_command("recalculate_weights", *args, stdout=StringIO())
    # then nothing was written
    assert not ProposalConversion.objects.exists() and not AttributionState.objects.exists()
