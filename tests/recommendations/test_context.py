"""The context gatherer (``recommendations.selectors.recommendation_context``) against hand-built data: each input
read right, in one SQL statement and one hot-store (Redis) round trip."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from content.models import AdultContent
from content.services import content_unlock
from players.services import age_verification_record
from recommendations import engine
from recommendations.selectors import business_month_start, recommendation_context
from tests.recommendations import helpers as h

pytestmark = pytest.mark.django_db

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=SEOUL)
DAY = dt.timedelta(days=1)
PID = 5100


def test_every_input_is_read_from_where_it_lives():
    # given a player with a segment and risk profile, 250 tokens, a win streak of 2, two Company A visits, 150 tokens
    # from Company A this month (and 40 last month), a harm marker, a play-hour rollup and a population peak
    h.player(PID, locale="en", timezone="Asia/Seoul")
    h.segment(PID, "High Engaged", "Low-Risk")
    h.fund(PID, 60)
    h.corporate_earn(PID, 40, at=dt.datetime(2026, 10, 31, 12, 0, tzinfo=SEOUL))
    h.corporate_earn(PID, 100, at=NOW - 5 * DAY)
    h.corporate_earn(PID, 50, at=NOW - DAY)
    h.visit(PID, NOW - 9 * DAY)
    h.visit(PID, NOW - 2 * DAY)
    h.win_streak(PID, 2)
    h.harm_marker(PID, "SPEND_SPIKE", NOW - DAY)
    h.play_hours(PID, {20: 5, 21: 2}, NOW - DAY)
    h.population_peak(19, NOW - DAY)
    # when the context is gathered
    ctx = h.context(PID, NOW)
    # then each field holds the player's real value
    assert ctx.now == NOW
    assert (ctx.segment, ctx.risk_profile, ctx.quiz_taken) == ("High Engaged", "Low-Risk", True)
    assert ctx.balance == 250
    assert ctx.win_streak == 2
    assert ctx.last_corporate_visit_at == NOW - 2 * DAY
    assert ctx.corporate_tokens_month == 150
    assert ctx.harm_markers == frozenset({"SPEND_SPIKE"})
    assert ctx.play_hours[20] == 5 and ctx.play_hours[21] == 2 and sum(ctx.play_hours) == 7
    assert ctx.population_peak_hour == 19
    assert (ctx.locale, ctx.timezone) == ("en", "Asia/Seoul")
    assert (ctx.paused, ctx.spend_limit_reached) == (None, False)


def test_gathering_is_one_sql_statement(django_assert_num_queries):
    # given a verified adult with data in every table the context reads, content stages and an unlock included
    h.player(PID)
    verify_adult(PID)
    one, two = content_stage(1, 100), content_stage(2, 300)
    h.segment(PID, "Whale", "High-Risk")
    h.fund(PID, 1_000)
    content_unlock(player_id=PID, content_id=one.id, idempotency_key="ctx-1")
    h.visit(PID, NOW - DAY)
    h.limits(PID, NOW - DAY, daily_spend_limit=500, weekly_spend_limit=1000)
    h.harm_marker(PID, "LOSS_CHASING", NOW - DAY)
    h.play_hours(PID, {3: 1}, NOW - DAY)
    # when the context is gathered
    with django_assert_num_queries(1):
        ctx = recommendation_context(player_id=PID, now=NOW)
    # then one statement brought it all, the next content stage too
    assert (ctx.segment, ctx.balance, ctx.harm_markers) == ("Whale", 900, frozenset({"LOSS_CHASING"}))
    assert ctx.verified_adult
    assert ctx.next_stage == engine.NextStage(two.id, 2, two.name, 300, 0)


def verify_adult(player_id: int, born: dt.date = dt.date(1990, 5, 17)) -> None:
    age_verification_record(
        player_id=player_id,
        birth_date=born,
        verified_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        provider="PASS",
        reference=f"ctx-{player_id}-{born}",
    )


def content_stage(number: int, price: int, *, active: bool = True, level: int = 0) -> AdultContent:
    return AdultContent.objects.create(
        stage=number,
        name=f"Stage {number}",
        media_url=f"https://cdn.example.com/{number}.mp4",
        token_price=price,
        is_active=active,
        required_segment_level=level,
    )


def test_the_next_stage_is_the_first_offered_one_not_unlocked_and_only_for_a_verified_adult():
    # given stages 1 (unlocked by the player), 2 (withdrawn) and 3, and a verified adult
    one = content_stage(1, 100)
    content_stage(2, 200, active=False)
    three = content_stage(3, 300, level=1)
    h.player(PID)
    verify_adult(PID)
    h.fund(PID, 500)
    content_unlock(player_id=PID, content_id=one.id, idempotency_key="ctx-next")
    # when the context is gathered
    ctx = h.context(PID, NOW)
    # then the next stage is stage 3, with its price and level
    assert (ctx.verified_adult, ctx.next_stage) == (True, engine.NextStage(three.id, 3, "Stage 3", 300, 1))
    # and for players who are not verified adults nothing about content is read into the context
    h.player(PID + 1)  # no verification
    h.player(PID + 2)
    verify_adult(PID + 2, born=dt.date(2010, 1, 1))  # a verified minor
    for other in (PID + 1, PID + 2):
        ctx = h.context(other, NOW)
        assert (ctx.verified_adult, ctx.next_stage) == (False, None)


def test_a_spend_limit_gives_what_it_still_allows():
    # given a daily limit of 500 and a weekly one of 600, 300 spent today and 450 this week (Wednesday and today)
    h.player(PID)
    h.fund(PID, 2_000)
    h.limits(PID, NOW - 3 * DAY, daily_spend_limit=500, weekly_spend_limit=600)
    h.spend_at(PID, 150, NOW - 2 * DAY)
    h.spend_at(PID, 300, NOW - dt.timedelta(hours=1))
    # when the context is gathered
    ctx = h.context(PID, NOW)
    # then the tightest limit leaves 150 (the week's; the day's leaves 200)
    assert (ctx.spend_limit_reached, ctx.spend_limit_left) == (False, 150)


def test_gathering_is_one_redis_round_trip(redis_round_trips):
    # given a player with a win streak in Redis
    h.player(PID)
    h.win_streak(PID, 3)
    before = redis_round_trips()
    # when the context is gathered
    ctx = recommendation_context(player_id=PID, now=NOW)
    # then Redis was asked once
    assert redis_round_trips() - before == 1
    assert ctx.win_streak == 3


def test_without_a_segment_row_the_engine_gets_no_segment_and_no_risk_profile():
    # given a player the RFM batch has not reached yet
    h.player(PID)
    # when the context is gathered and recommended
    ctx = h.context(PID, NOW)
    rec = engine.recommend(ctx, _templates())
    # then segment and risk profile are None and no quiz is taken: the engine's Low branch (Quiz) and quiz mission
    assert (ctx.segment, ctx.risk_profile, ctx.quiz_taken) == (None, None, False)
    assert (ctx.balance, ctx.last_corporate_visit_at, ctx.corporate_tokens_month) == (0, None, 0)
    assert rec.recommended_game == "Quiz"
    assert "QUIZ_MISSION" in rec.types


def test_a_segment_row_without_a_risk_profile_means_no_quiz_taken():
    # given a player with a segment but no quiz answered
    h.player(PID)
    h.segment(PID, "Medium", None)
    # when the context is gathered
    ctx = h.context(PID, NOW)
    # then the segment is read and the quiz counts as not taken
    assert (ctx.segment, ctx.risk_profile, ctx.quiz_taken) == ("Medium", None, False)


def test_an_unknown_player_gets_a_new_players_context():
    # given no players row for the id, and a population peak
    h.population_peak(18, NOW - DAY)
    # when the context is gathered
    ctx = h.context(PID, NOW)
    # then it is a new player's: nothing known, the business timezone, the population's peak
    assert (ctx.segment, ctx.balance, ctx.last_corporate_visit_at, ctx.harm_markers) == (None, 0, None, frozenset())
    assert (ctx.timezone, ctx.locale, ctx.population_peak_hour) == ("Asia/Seoul", "ko", 18)


def test_this_month_starts_at_midnight_on_the_first_in_the_business_timezone():
    # given rewards at 23:59 on 30 November and 00:10 on 1 December in Seoul: both still November in UTC
    now = dt.datetime(2026, 12, 1, 0, 30, tzinfo=SEOUL)
    h.player(PID)
    h.corporate_earn(PID, 70, at=dt.datetime(2026, 11, 30, 23, 59, tzinfo=SEOUL))
    h.corporate_earn(PID, 30, at=dt.datetime(2026, 12, 1, 0, 10, tzinfo=SEOUL))
    # when the context is gathered at 00:30 on 1 December in Seoul
    ctx = h.context(PID, now)
    # then only December's (Seoul) reward counts
    assert business_month_start(now) == dt.datetime(2026, 12, 1, tzinfo=SEOUL)
    assert ctx.corporate_tokens_month == 30


def test_the_month_counts_from_its_first_instant_on():
    # given a reward exactly at 00:00 on 1 December in Seoul
    now = dt.datetime(2026, 12, 15, 9, 0, tzinfo=SEOUL)
    h.player(PID)
    h.corporate_earn(PID, 25, at=dt.datetime(2026, 12, 1, 0, 0, tzinfo=SEOUL))
    h.corporate_earn(PID, 5, at=dt.datetime(2026, 12, 1, 0, 0, tzinfo=SEOUL) - dt.timedelta(microseconds=1))
    # when the context is gathered
    ctx = h.context(PID, now)
    # then the reward at the first instant counts and the one just before does not
    assert ctx.corporate_tokens_month == 25


@pytest.mark.parametrize(("spent_today", "reached"), [(99, False), (100, True)])
def test_the_daily_spend_limit_counts_from_the_players_local_midnight(spent_today, reached):
    # given a player in New York with 60 spent at 23:50 yesterday (their clock) and some spent after midnight,
    # then a daily limit of 100
    now = dt.datetime(2026, 11, 20, 9, 0, tzinfo=NEW_YORK)
    midnight = dt.datetime(2026, 11, 20, 0, 0, tzinfo=NEW_YORK)
    h.player(PID, timezone="America/New_York")
    h.fund(PID, 1000)
    h.spend_at(PID, 60, midnight - dt.timedelta(minutes=10))
    h.spend_at(PID, spent_today, midnight + dt.timedelta(minutes=10))
    h.limits(PID, now - dt.timedelta(hours=1), daily_spend_limit=100)
    # when the context is gathered
    ctx = h.context(PID, now)
    # then the limit counts as reached exactly when today's spends reach it (yesterday's do not count)
    assert ctx.spend_limit_reached is reached


@pytest.mark.parametrize(("monday_spend", "reached"), [(139, False), (140, True)])
def test_the_weekly_spend_limit_counts_from_monday_on_the_players_clock(monday_spend, reached):
    # given a player in Seoul who spent 500 on Sunday 23:30 and 60 + the Monday spend this week, weekly limit 200
    now = dt.datetime(2026, 11, 18, 12, 0, tzinfo=SEOUL)  # a Wednesday
    monday = dt.datetime(2026, 11, 16, 0, 0, tzinfo=SEOUL)
    h.player(PID)
    h.fund(PID, 2000)
    h.spend_at(PID, 500, monday - dt.timedelta(minutes=30))
    h.spend_at(PID, monday_spend, monday)
    h.spend_at(PID, 60, now - dt.timedelta(hours=1))
    h.limits(PID, now - dt.timedelta(minutes=30), weekly_spend_limit=200)
    # when the context is gathered
    ctx = h.context(PID, now)
    # then only this week's spends count
    assert ctx.spend_limit_reached is reached


@pytest.mark.parametrize(
    ("daily", "weekly", "reached"),
    [
        (150, 400, False),  # neither: 120 today, 380 this week
        (120, 400, True),  # the day's
        (150, 380, True),  # the week's
    ],
)
def test_with_both_limits_either_one_used_up_is_reached(daily, weekly, reached):
    # given a player in Seoul who spent 260 on Monday and 120 today (a Wednesday), with a daily and a weekly limit
    now = dt.datetime(2026, 11, 18, 12, 0, tzinfo=SEOUL)
    h.player(PID)
    h.fund(PID, 2000)
    h.spend_at(PID, 260, dt.datetime(2026, 11, 16, 10, 0, tzinfo=SEOUL))
    h.spend_at(PID, 120, now - dt.timedelta(hours=1))
    h.limits(PID, now - dt.timedelta(minutes=30), daily_spend_limit=daily, weekly_spend_limit=weekly)
    # when the context is gathered
    ctx = h.context(PID, now)
    # then the limit counts as reached when today's spends reach the daily limit or the week's the weekly one
    assert ctx.spend_limit_reached is reached


def test_a_pending_raise_counts_once_it_is_due():
    # given a daily limit of 100, used up, then raised to 1000 (the raise waits 24 hours)
    now = dt.datetime(2026, 11, 20, 9, 0, tzinfo=SEOUL)
    h.player(PID)
    h.fund(PID, 1000)
    h.spend_at(PID, 100, now - dt.timedelta(hours=1))
    h.limits(PID, now - dt.timedelta(minutes=50), daily_spend_limit=100)
    h.limits(PID, now - dt.timedelta(minutes=40), daily_spend_limit=1000)
    # when the context is gathered before and after the raise is due (the day's spends the same: 100, then 0)
    before = h.context(PID, now)
    h.spend_at(PID, 150, now + dt.timedelta(hours=23, minutes=30))
    after = h.context(PID, now + dt.timedelta(hours=23, minutes=50))
    # then the old limit applies until then and the raised one after
    assert before.spend_limit_reached is True
    assert after.spend_limit_reached is False


def test_self_exclusion_and_cool_off_are_read_as_pauses():
    # given one player self-excluded and another cooling off
    h.player(PID)
    h.player(PID + 1)
    until = NOW + dt.timedelta(days=200)
    h.limits(PID, NOW - DAY, self_excluded_until=until)
    h.limits(PID + 1, NOW - DAY, cool_off_until=NOW + 2 * DAY)
    # when their contexts are gathered
    excluded = h.context(PID, NOW)
    cooling = h.context(PID + 1, NOW)
    # then each is paused, with its end
    assert (excluded.paused, excluded.paused_until) == ("self_exclusion", until)
    assert (cooling.paused, cooling.paused_until) == ("cool_off", NOW + 2 * DAY)


def test_no_play_hours_row_means_no_play_and_the_default_peak():
    # given a player without a rollup row and no population row yet
    h.player(PID)
    # when the context is gathered
    ctx = h.context(PID, NOW)
    # then the histogram is empty and the usage window falls back to 20:00
    assert ctx.play_hours == (0,) * 24
    assert ctx.population_peak_hour == 20


def _templates() -> engine.Templates:
    from recommendations.templates import templates_build

    return templates_build()


def test_the_engine_knows_every_risk_profile_the_quiz_stores():
    # given the risk profiles user_segments stores (spec 2.4's spelling: "High-Risk", "Moderate-Risk", "Low-Risk")
    from segments.models import RiskProfile

    # when compared with the engine's
    # then they are the same names
    assert set(engine.RISK_PROFILES) == set(RiskProfile.values)


@pytest.mark.parametrize(
    ("risk_profile", "proposal"), [("High-Risk", "RISKY_PLAY"), ("Low-Risk", "SAFE_PLAY"), ("Moderate-Risk", None)]
)
def test_a_stored_risk_profile_reaches_the_engine_as_is(risk_profile, proposal):
    # given a player whose segment row holds a risk profile
    h.player(PID)
    h.segment(PID, "Medium", risk_profile)
    h.fund(PID, 250)
    # when the context is gathered and recommended
    ctx = h.context(PID, NOW)
    types = engine.recommend(ctx, _templates()).types
    # then the profile's proposal (none for Moderate-Risk) is made, and the quiz counts as taken
    assert ctx.risk_profile == risk_profile and ctx.quiz_taken
    assert [t for t in types if t in ("RISKY_PLAY", "SAFE_PLAY")] == ([proposal] if proposal else [])
    assert "QUIZ_MISSION" not in types


def test_every_read_is_one_statement(django_assert_num_queries):
    # given a player with a wallet, read before (the first read of a connection may prepare statements)
    h.player(PID)
    h.fund(PID, 300)
    recommendation_context(player_id=PID, now=NOW)
    # when the player's context is read twice more
    # then each read is one SQL statement, and sees the balance
    for _ in range(2):
        with django_assert_num_queries(1):
            assert recommendation_context(player_id=PID, now=NOW).balance == 300
