"""Harm markers (design brief section 6): the pure detectors on hand-built action streams, then the nightly batch
against the real database, its command and the staff's read-only view."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import zoneinfo
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from activity.models import UserAction
from players.models import PlayerHarmMarker
from recommendations.harm import (
    LATE_NIGHT_SESSIONS,
    LOSS_CHASING,
    SPEND_SPIKE,
    HarmEvent,
    HarmThresholds,
    detect_harm_markers,
)
from recommendations.services import harm_markers_compute
from tests import factories

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
UTC = dt.UTC
TH = HarmThresholds()  # the documented defaults (settings.HARM_MARKERS holds the same values)
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=SEOUL)
MIN = dt.timedelta(minutes=1)
DAY = dt.timedelta(days=1)


def rounds(start: dt.datetime, plays: list[tuple[int, str]], step: dt.timedelta = MIN) -> list[HarmEvent]:
    """GAME_PLAY rounds ``[(bet, "win"|"loss"), ...]`` one ``step`` apart from ``start``."""
    return [
        HarmEvent(start + i * step, "GAME_PLAY", {"game": "Roulette", "bet": bet, "payout": 0, "result": result})
        for i, (bet, result) in enumerate(plays)
    ]


def spend(at: dt.datetime, tokens: int) -> HarmEvent:
    return HarmEvent(at, "SPEND_CYBER_TOKENS", {"spent_tokens": tokens, "game": "SlotMachine"})


def detect(events: list[HarmEvent], tz: dt.tzinfo = SEOUL, now: dt.datetime = NOW, **changes: Any) -> dict[str, Any]:
    """The markers at ``now`` with the default thresholds, some changed."""
    return detect_harm_markers(events, now=now, tz=tz, thresholds=dataclasses.replace(TH, **changes))


def test_settings_hold_the_documented_defaults(settings):
    # given the project's settings
    # when the thresholds are read from them
    # then they are the documented defaults
    assert HarmThresholds.from_settings() == TH


def test_unknown_threshold_names_are_refused(settings):
    # given a typo in settings.HARM_MARKERS
    settings.HARM_MARKERS = {**settings.HARM_MARKERS, "late_nite_min_nights": 2}
    # when the thresholds are read
    # then it is an error, not a silently ignored value
    with pytest.raises(ValueError, match="late_nite_min_nights"):
        HarmThresholds.from_settings()


# --- LOSS_CHASING -------------------------------------------------------------------------------------------

MARTINGALE = [(10, "loss"), (20, "loss"), (40, "loss"), (80, "loss"), (160, "win")]


def test_two_martingale_runs_are_loss_chasing():
    # given two runs of three losses each followed by a doubled-and-more bet, within the week
    events = rounds(NOW - 2 * DAY, MARTINGALE) + rounds(NOW - DAY, MARTINGALE)
    # when the markers are detected
    found = detect(events)
    # then loss chasing is found with its facts
    assert found[LOSS_CHASING]["episodes"] == 2
    assert found[LOSS_CHASING]["max_bet_ratio"] == 16.0
    assert set(found) == {LOSS_CHASING}


@pytest.mark.parametrize(
    ("plays", "episodes"),
    [
        # one run with a chase (and its continuation) is one episode: below the minimum of two
        (MARTINGALE, 1),
        # two losses then a raised bet: the run is too short
        ([(10, "loss"), (10, "loss"), (50, "loss"), (10, "win")] * 2, 0),
        # three losses then a bet of 1.9x the run's first: not enough of a raise
        ([(10, "loss"), (10, "loss"), (10, "loss"), (19, "win")] * 2, 0),
        # exactly 2x after three losses, twice: two episodes
        ([(10, "loss"), (10, "loss"), (10, "loss"), (20, "win")] * 2, 2),
        # a win inside the run breaks it
        ([(10, "loss"), (10, "win"), (10, "loss"), (10, "loss"), (40, "win")] * 2, 0),
        # an abandoned game (no bet) neither extends nor breaks a run: see the FAIL_GAME test
    ],
)
def test_loss_chasing_edges(plays, episodes):
    # given a stream of rounds
    # when the markers are detected with a minimum of one episode
    found = detect(rounds(NOW - DAY, plays), loss_chasing_min_episodes=1)
    # then the episodes are counted as documented
    assert found.get(LOSS_CHASING, {}).get("episodes", 0) == episodes


def test_fail_game_does_not_break_a_losing_run():
    # given three losses with an abandoned game among them, then a tripled bet (twice)
    start = NOW - DAY
    events = []
    for k in range(2):
        t = start + k * 10 * MIN
        events += rounds(t, [(10, "loss"), (10, "loss")])
        events.append(HarmEvent(t + 2 * MIN, "FAIL_GAME", {"game": "Roulette"}))
        events += rounds(t + 3 * MIN, [(10, "loss"), (30, "win")])
    # when the markers are detected
    # then both runs are chases
    assert detect(events)[LOSS_CHASING]["episodes"] == 2


def test_loss_chasing_older_than_a_week_is_forgotten():
    # given two chasing runs eight days ago and nothing since
    events = rounds(NOW - 8 * DAY, MARTINGALE * 2)
    # when the markers are detected
    # then there is no marker
    assert LOSS_CHASING not in detect(events)


# --- SPEND_SPIKE --------------------------------------------------------------------------------------------


def daily_spends(last_day: dt.date, amounts: list[int], hour: int = 15) -> list[HarmEvent]:
    """One spend per local (Seoul) day, the last one on ``last_day``."""
    first = last_day - dt.timedelta(days=len(amounts) - 1)
    return [
        spend(dt.datetime.combine(first + dt.timedelta(days=i), dt.time(hour), tzinfo=SEOUL), a)
        for i, a in enumerate(amounts)
        if a
    ]


TODAY = NOW.date()
YESTERDAY = TODAY - DAY


@pytest.mark.parametrize(
    ("history", "spike", "found"),
    [
        ([100] * 10, 1000, True),  # 10x the norm
        ([200] * 10, 1000, True),  # exactly 5x and exactly the minimum
        ([201] * 10, 1000, False),  # 4.98x
        ([100] * 10, 999, False),  # far above the norm but under the minimum of 1000 tokens
        ([100, 0, 0, 100, 0, 0, 100], 1000, True),  # days without spend are not part of the norm: median 100
        ([0, 0, 0, 0, 100, 0, 100], 5000, False),  # two days with spend: no norm yet
    ],
)
def test_spend_spike_edges(history, spike, found):
    # given a daily history of spends and then yesterday's spend
    events = daily_spends(YESTERDAY, [*history, spike])
    # when the markers are detected
    result = detect(events)
    # then the spike is found or not as documented
    assert (SPEND_SPIKE in result) is found
    if found:
        assert result[SPEND_SPIKE]["day"] == YESTERDAY.isoformat()
        assert result[SPEND_SPIKE]["spent"] == spike


def test_content_unlocks_are_spending_for_the_spike():
    # given a norm of 100 a day in buy-ins and yesterday 1,000 tokens on content unlocks
    events = daily_spends(YESTERDAY - DAY, [100] * 10)
    late = dt.datetime.combine(YESTERDAY, dt.time(20), tzinfo=SEOUL)
    events += [HarmEvent(late, "UNLOCK_CONTENT", {"content_id": 1, "stage": 1, "spent_tokens": 1000})]
    # when the markers are detected
    result = detect(events)
    # then the unlocks are the day's spend: a spike
    assert result[SPEND_SPIKE]["spent"] == 1000


@pytest.mark.django_db
def test_the_batch_reads_content_unlocks_older_than_the_sessions_window():
    # given a player whose only spends, three weeks ago and yesterday, were content unlocks
    uid = factories.make_player(timezone="Asia/Seoul").id
    unlock = {"content_id": 1, "stage": 1}
    store(uid, [HarmEvent(NOW - DAY * d, "UNLOCK_CONTENT", {**unlock, "spent_tokens": 100}) for d in (20, 19, 18)])
    store(uid, [HarmEvent(NOW - DAY, "UNLOCK_CONTENT", {**unlock, "spent_tokens": 1500})])
    # when the nightly batch runs
    harm_markers_compute(as_of=NOW)
    # then the norm came from the old unlocks and yesterday's is a spike
    assert (uid, SPEND_SPIKE) in stored()


def test_spend_spike_eight_days_ago_is_forgotten():
    # given a spike eight days ago and a normal week since
    events = daily_spends(TODAY, [100] * 10 + [3000] + [100] * 8)
    # when the markers are detected
    # then there is none (a spike counts for the last 7 days)
    assert SPEND_SPIKE not in detect(events)


def test_spend_spike_days_are_the_players_own():
    # given a norm of 100 a day and 1,200 spent yesterday in two halves, at 23:30 and 00:30 Seoul time
    events = daily_spends(YESTERDAY - DAY, [100] * 10)
    late = dt.datetime.combine(YESTERDAY - DAY, dt.time(23, 30), tzinfo=SEOUL)
    events += [spend(late, 600), spend(late + dt.timedelta(hours=1), 600)]
    # when the markers are detected for a Seoul player
    # then the halves fall on two days: no spike
    assert SPEND_SPIKE not in detect(events, tz=SEOUL)
    # and for a London player, both halves fall on the same day (14:30 and 15:30): a spike
    assert SPEND_SPIKE in detect(events, tz=zoneinfo.ZoneInfo("Europe/London"))


# --- LATE_NIGHT_SESSIONS ------------------------------------------------------------------------------------


def night_session(day: dt.date, start: dt.time, minutes: int, tz: dt.tzinfo = SEOUL, every: int = 5) -> list[HarmEvent]:
    """In-app actions every ``every`` minutes for ``minutes`` from ``start`` local time on ``day``."""
    t0 = dt.datetime.combine(day, start, tzinfo=tz)
    return [
        HarmEvent(t0 + dt.timedelta(minutes=m), "SESSION_START" if m == 0 else "VIEW_CONTENT", {"content_id": 1})
        for m in range(0, minutes + 1, every)
    ]


def nights(count: int, minutes: int, start: dt.time = dt.time(1, 0), tz: dt.tzinfo = SEOUL) -> list[HarmEvent]:
    return list(
        itertools.chain.from_iterable(
            night_session(TODAY - dt.timedelta(days=k), start, minutes, tz) for k in range(count)
        )
    )


@pytest.mark.parametrize(
    ("count", "minutes", "found"),
    [
        (3, 65, True),
        (3, 60, False),  # exactly 60 minutes is not longer than 60
        (2, 180, False),  # two nights only
        (7, 70, True),  # every one of the last 7 nights
    ],
)
def test_late_night_edges(count, minutes, found):
    # given sessions from 01:00 local time on some of the last nights
    # when the markers are detected
    result = detect(nights(count, minutes))
    # then the marker follows the documented thresholds
    assert (LATE_NIGHT_SESSIONS in result) is found


def test_only_the_part_inside_the_night_counts():
    # given three sessions 23:30-01:15 (105 minutes, 75 of them after midnight)
    events = list(
        itertools.chain.from_iterable(
            night_session(TODAY - dt.timedelta(days=k + 1), dt.time(23, 30), 105) for k in range(3)
        )
    )
    # when detected with the night's minimum at 70 and then at 80 minutes
    # then 75 minutes count toward the night that starts at midnight
    found = detect(events, late_night_min_minutes=70)
    assert found[LATE_NIGHT_SESSIONS]["longest_minutes"] == 75.0
    assert LATE_NIGHT_SESSIONS not in detect(events, late_night_min_minutes=80)


def test_a_whole_night_counts_its_real_length_when_the_clocks_go_back():
    # given a London player in the app from 23:00 on 2026-10-24 to 06:00 on the 25th, the night the clocks go back
    london = zoneinfo.ZoneInfo("Europe/London")
    start = dt.datetime(2026, 10, 24, 23, 0, tzinfo=london)
    end = dt.datetime(2026, 10, 25, 6, 0, tzinfo=london)
    minutes = int((end - start.astimezone(UTC)).total_seconds() // 60)
    events = [
        HarmEvent(start + dt.timedelta(minutes=m), "VIEW_CONTENT", {"content_id": 1}) for m in range(0, minutes + 1, 5)
    ]
    # when detected on the 25th with one night enough
    found = detect(events, tz=london, now=end, late_night_min_nights=1)
    # then the night 00:00-05:00 lasted six real hours, not five
    assert found[LATE_NIGHT_SESSIONS]["longest_minutes"] == 360.0


def test_gaps_longer_than_half_an_hour_split_sessions():
    # given actions every 40 minutes all night, three nights
    events = list(
        itertools.chain.from_iterable(
            night_session(TODAY - dt.timedelta(days=k), dt.time(0, 0), 280, every=40) for k in range(3)
        )
    )
    # when detected
    # then no session lasts: no marker
    assert LATE_NIGHT_SESSIONS not in detect(events)


def test_company_a_events_at_night_are_not_the_player_in_the_app():
    # given three nights of token arrivals and Company A visits every 5 minutes from 01:00 to 03:00
    events = [HarmEvent(e.at, kind, {}) for e in nights(3, 120) for kind in ("EARN_CYBER_TOKENS", "CORPORATE_VISIT")]
    # when detected
    # then there are no late-night sessions
    assert LATE_NIGHT_SESSIONS not in detect(events)


def test_nights_are_the_players_own():
    # given three sessions 01:00-03:00 UTC (10:00-12:00 in Seoul)
    events = nights(3, 120, tz=UTC)
    # when detected for a UTC player and for a Seoul player
    # then it is a late night for the first only
    assert LATE_NIGHT_SESSIONS in detect(events, tz=UTC)
    assert LATE_NIGHT_SESSIONS not in detect(events, tz=SEOUL)


def test_actions_after_now_are_ignored():
    # given chasing runs that all happen after the time asked about
    events = rounds(NOW + MIN, MARTINGALE * 2)
    # when detected at NOW
    # then nothing is found
    assert detect(events) == {}


# --- the nightly batch, on the real database ----------------------------------------------------------------

_eid = itertools.count(1)


def store(user_id: int, events: list[HarmEvent]) -> None:
    UserAction.objects.bulk_create(
        [
            UserAction(
                event_id=f"harm-{next(_eid)}",
                user_id=user_id,
                action_type=e.action_type,
                metadata=dict(e.metadata),
                action_timestamp=e.at,
            )
            for e in events
        ]
    )


@pytest.fixture
def players() -> dict[str, int]:
    """A chaser, a spender, a night owl (London), a clean player and one without any action."""
    chaser = factories.make_player(timezone="Asia/Seoul")
    spender = factories.make_player(timezone="Asia/Seoul")
    owl = factories.make_player(timezone="Europe/London")
    clean = factories.make_player()
    idle = factories.make_player()
    store(chaser.id, rounds(NOW - 3 * DAY, MARTINGALE) + rounds(NOW - 2 * DAY, MARTINGALE))
    store(spender.id, daily_spends(YESTERDAY, [100] * 10 + [2000]))
    store(owl.id, nights(3, 90, tz=zoneinfo.ZoneInfo("Europe/London")))
    store(clean.id, rounds(NOW - DAY, [(10, "loss"), (10, "win")] * 5) + daily_spends(YESTERDAY, [100] * 5))
    return {"chaser": chaser.id, "spender": spender.id, "owl": owl.id, "clean": clean.id, "idle": idle.id}


def stored() -> dict[tuple[int, str], PlayerHarmMarker]:
    return {(m.user_id, m.marker): m for m in PlayerHarmMarker.objects.all()}


@pytest.mark.django_db
def test_the_batch_stores_each_players_markers(players):
    # given players with hand-built action streams
    # when the batch runs
    report = harm_markers_compute(as_of=NOW)
    # then exactly their markers are stored, with the facts behind them
    rows = stored()
    assert set(rows) == {
        (players["chaser"], LOSS_CHASING),
        (players["spender"], SPEND_SPIKE),
        (players["owl"], LATE_NIGHT_SESSIONS),
    }
    assert rows[(players["spender"], SPEND_SPIKE)].details["spent"] == 2000
    assert rows[(players["chaser"], LOSS_CHASING)].details["episodes"] == 2
    assert all(m.detected_at == NOW and m.as_of == NOW for m in rows.values())
    assert report.players == 5
    assert dict(report.markers) == {LOSS_CHASING: 1, SPEND_SPIKE: 1, LATE_NIGHT_SESSIONS: 1}


@pytest.mark.django_db
def test_rerunning_keeps_first_detection_and_clears_what_is_gone(players):
    # given a first run
    harm_markers_compute(as_of=NOW)
    # when the batch runs again the same day, then five days later
    harm_markers_compute(as_of=NOW)
    assert len(stored()) == 3
    later = NOW + 5 * DAY
    report = harm_markers_compute(as_of=later)
    # then the spend spike (yesterday, still within the week) keeps its first detection time and gets the new
    # as_of, while the loss chasing (now older than a week) and the late nights (older than 7 nights) are gone
    rows = stored()
    assert set(rows) == {(players["spender"], SPEND_SPIKE)}
    spike = rows[(players["spender"], SPEND_SPIKE)]
    assert (spike.detected_at, spike.as_of) == (NOW, later)
    assert report.cleared == 2


@pytest.mark.django_db
def test_the_batch_reads_by_player_range_not_by_player(django_assert_max_num_queries):
    # given forty players with actions
    for _ in range(40):
        store(factories.make_player().id, rounds(NOW - DAY, MARTINGALE * 2))
    # when the batch runs over them in one range
    # then a handful of queries is enough (no query per player)
    with django_assert_max_num_queries(12):
        report = harm_markers_compute(as_of=NOW, chunk_size=1000)
    assert report.markers[LOSS_CHASING] == 40


@pytest.mark.django_db
def test_small_ranges_give_the_same_markers(players):
    # given the same players
    # when the batch runs range by range of two players
    harm_markers_compute(as_of=NOW, chunk_size=2)
    # then the markers are the same as in one range
    assert set(stored()) == {
        (players["chaser"], LOSS_CHASING),
        (players["spender"], SPEND_SPIKE),
        (players["owl"], LATE_NIGHT_SESSIONS),
    }


@pytest.mark.django_db
def test_the_command_reports_what_it_found(players):
    # given the players
    out = StringIO()
    # when the command runs for a given time
    call_command("compute_harm_markers", "--as-of", NOW.isoformat(), stdout=out, stderr=StringIO())
    # then it stores the markers and says how many of each
    assert "players 5, markers: LATE_NIGHT_SESSIONS 1, LOSS_CHASING 1, SPEND_SPIKE 1, cleared 0" in out.getvalue()
    assert len(stored()) == 3


@pytest.mark.django_db
def test_staff_see_markers_but_cannot_change_them(players):
    # given stored markers and a staff member
    harm_markers_compute(as_of=NOW)
    marker = PlayerHarmMarker.objects.get(user_id=players["chaser"])
    staff = Client()
    staff.force_login(factories.make_staff_user())
    # when staff open the list and the marker
    listing = staff.get("/admin/players/playerharmmarker/")
    detail = staff.get(f"/admin/players/playerharmmarker/{marker.pk}/change/")
    # then they see them
    assert listing.status_code == 200 and "LOSS_CHASING" in listing.content.decode()
    assert detail.status_code == 200
    # but cannot delete or add one
    delete = staff.post(f"/admin/players/playerharmmarker/{marker.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert staff.get("/admin/players/playerharmmarker/add/").status_code == 403
    assert PlayerHarmMarker.objects.filter(pk=marker.pk).exists()


def test_model_choices_name_every_marker():
    # given the detector's marker names and the self-reported ones (the quiz)
    # when the model's choices are listed
    # then they are the same names
    from players.services import SELF_REPORTED_MARKERS
    from recommendations.harm import MARKERS

    assert tuple(PlayerHarmMarker.Marker.values) == MARKERS + SELF_REPORTED_MARKERS
