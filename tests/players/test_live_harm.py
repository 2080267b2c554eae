"""Live harm signals (``players.live_harm``): each signal's threshold edge, through the hot store's script (Redis in
the PostgreSQL + Redis pass, the local-memory twin in the embedded one) and the pure evaluation."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

import pytest

from core.hotstore import ActivityUpdate, LiveEvent, hot_store
from players.live_harm import (
    LIVE_LATE_NIGHT,
    LIVE_LONG_SESSION,
    LIVE_LOSS_CHASING,
    LIVE_SPEND_VELOCITY,
    LiveState,
    LiveThresholds,
    live_params,
    live_signals,
)
from players.selectors import live_harm_signals

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
LONDON = zoneinfo.ZoneInfo("Europe/London")
TH = LiveThresholds()
NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)
MINUTE = 60_000
PLAYER = 8800


def ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def rounds(*bets_and_results: tuple[int, str], end: dt.datetime = NOW, gap_minutes: float = 2) -> tuple[LiveEvent, ...]:
    """GAME_PLAY rounds ``(bet, "W"|"L")`` a few minutes apart, the last at ``end`` (no payouts)."""
    n = len(bets_and_results)
    return tuple(
        LiveEvent(ms(end) - int((n - 1 - i) * gap_minutes * MINUTE), kind, bet, 0)
        for i, (bet, kind) in enumerate(bets_and_results)
    )


def apply(events: tuple[LiveEvent, ...], player_id: int = PLAYER) -> None:
    hot_store.apply_activity({player_id: ActivityUpdate(events[-1].at_ms // 1000, events=events)}, live_params())


def signals(at: dt.datetime = NOW, tz: dt.tzinfo = SEOUL, player_id: int = PLAYER) -> dict:
    return live_harm_signals(player_id=player_id, now=at, tz=tz)


@pytest.fixture(autouse=True)
def _empty_hot_store():
    hot_store.flush()
    yield
    hot_store.flush()


# --- loss chasing: the script's rules ---------------------------------------------------------------------


def test_a_bet_twice_the_first_after_three_losses_is_chasing():
    # given three losing rounds (10, 10, 10), then a bet of 20
    apply(rounds((10, "L"), (10, "L"), (10, "L"), (20, "L")))
    # then loss chasing holds, with the figures
    chase = signals()[LIVE_LOSS_CHASING]
    assert (chase["losses_in_a_row"], chase["first_bet"], chase["raised_bet"], chase["bet_ratio"]) == (4, 10, 20, 2.0)


def test_the_same_bet_after_only_two_losses_is_not_chasing():
    # given two losing rounds, then a bet twice the first
    apply(rounds((10, "L"), (10, "L"), (20, "L")))
    # then no signal
    assert LIVE_LOSS_CHASING not in signals()


def test_a_bet_just_under_twice_the_first_is_not_chasing():
    # given three losses from 10, then a bet of 19
    apply(rounds((10, "L"), (10, "L"), (10, "L"), (19, "L")))
    # then no signal
    assert LIVE_LOSS_CHASING not in signals()


def test_a_win_ends_the_losing_run():
    # given two losses, a win, a loss, then a bet four times the run's first
    apply(rounds((10, "L"), (10, "L"), (10, "W"), (10, "L"), (40, "L")))
    # then no signal: the run after the win has one loss
    assert LIVE_LOSS_CHASING not in signals()


def test_rounds_arriving_in_several_batches_count_as_one_run():
    # given three losses in one batch and the raised bet in the next
    events = rounds((10, "L"), (10, "L"), (10, "L"), (25, "W"))
    apply(events[:3])
    apply(events[3:])
    # then loss chasing holds (a winning raised bet after three losses is a chase too)
    assert signals()[LIVE_LOSS_CHASING]["raised_bet"] == 25


def test_a_new_session_starts_a_new_run():
    # given three losses, then, 31 minutes later (a new session), a bet twice the first
    first = rounds((10, "L"), (10, "L"), (10, "L"), end=NOW - dt.timedelta(minutes=31))
    apply(first)
    apply(rounds((20, "L")))
    # then no signal
    assert LIVE_LOSS_CHASING not in signals()


def test_thirty_minutes_exactly_between_rounds_is_still_the_same_session():
    # given three losses, then the raised bet exactly 30 minutes after the last of them
    apply(rounds((10, "L"), (10, "L"), (10, "L"), end=NOW - dt.timedelta(minutes=30)))
    apply(rounds((20, "L")))
    # then it is a chase
    assert LIVE_LOSS_CHASING in signals()


def test_loss_chasing_holds_until_an_hour_after_the_last_chasing_bet():
    # given a chase at NOW
    apply(rounds((10, "L"), (10, "L"), (10, "L"), (40, "L")))
    # then it holds a moment before the hour is up, and no longer at the hour
    assert LIVE_LOSS_CHASING in signals(NOW + dt.timedelta(minutes=59, seconds=59))
    assert LIVE_LOSS_CHASING not in signals(NOW + dt.timedelta(minutes=60))


# --- spend velocity ---------------------------------------------------------------------------------------


def spends(*tokens: int, minutes_apart: int = 5, end: dt.datetime = NOW) -> tuple[LiveEvent, ...]:
    n = len(tokens)
    return tuple(
        LiveEvent(ms(end) - (n - 1 - i) * minutes_apart * MINUTE, "S", t, f"spend-{i}") for i, t in enumerate(tokens)
    )


@pytest.mark.parametrize(("spent", "holds"), [(1999, False), (2000, True)])
def test_without_a_norm_velocity_needs_two_thousand_tokens_in_an_hour(spent, holds):
    # given a player without a spend norm who spent that much in the last hour (in the wallet's spends)
    apply(spends(spent - 999, 999))
    # then the signal holds from 2,000 tokens
    assert (LIVE_SPEND_VELOCITY in signals()) is holds


@pytest.mark.parametrize(
    ("norm", "spent", "holds"), [(800, 799, False), (800, 800, True), (100, 499, False), (100, 500, True)]
)
def test_with_a_norm_velocity_needs_the_norm_and_at_least_five_hundred(norm, spent, holds):
    # given a player whose median daily spend is ``norm`` and who spent ``spent`` in the last hour
    hot_store.spend_norms_set({PLAYER: norm}, ttl_seconds=3600)
    apply(spends(spent))
    # then the signal holds from max(norm, 500)
    found = signals()
    assert (LIVE_SPEND_VELOCITY in found) is holds
    if holds:
        assert found[LIVE_SPEND_VELOCITY]["median_daily_spend"] == norm


def test_spends_older_than_the_hour_do_not_count():
    # given 2,000 tokens spent, the first 1,000 exactly an hour before NOW
    apply(spends(1000, 1000, minutes_apart=60))
    # then only the last spend counts: no signal
    assert LIVE_SPEND_VELOCITY not in signals()


# --- session length and late night (pure: the state as the script leaves it) --------------------------------


def session(start: dt.datetime, last: dt.datetime) -> LiveState:
    return LiveState(session_start=ms(start), session_last=ms(last))


@pytest.mark.parametrize(("minutes", "holds"), [(179, False), (180, True)])
def test_a_long_session_is_three_hours(minutes, holds):
    # given a session of ``minutes`` whose last action was just now
    state = session(NOW - dt.timedelta(minutes=minutes), NOW)
    # then the signal holds from 180 minutes
    assert (LIVE_LONG_SESSION in live_signals(state, now=NOW, tz=SEOUL, thresholds=TH)) is holds


def test_a_long_session_that_ended_no_longer_counts():
    # given a four-hour session that ended 31 minutes ago
    state = session(NOW - dt.timedelta(minutes=271), NOW - dt.timedelta(minutes=31))
    # then no signal
    assert live_signals(state, now=NOW, tz=SEOUL, thresholds=TH) == {}


@pytest.mark.parametrize(("minutes", "holds"), [(29, False), (30, True)])
def test_late_night_is_thirty_minutes_of_the_session_inside_the_players_night(minutes, holds):
    # given a Seoul player's session from 00:10 to 00:10 + ``minutes`` (their clock)
    start = dt.datetime(2026, 11, 21, 0, 10, tzinfo=SEOUL)
    last = start + dt.timedelta(minutes=minutes)
    found = live_signals(session(start, last), now=last, tz=SEOUL, thresholds=TH)
    # then the signal holds from 30 minutes inside the night
    assert (LIVE_LATE_NIGHT in found) is holds


def test_late_night_is_the_players_own_night():
    # given the same instants for a London player (15:10 to 15:50 there)
    start = dt.datetime(2026, 11, 21, 0, 10, tzinfo=SEOUL)
    last = start + dt.timedelta(minutes=40)
    # then it is afternoon for them: no signal
    assert LIVE_LATE_NIGHT not in live_signals(session(start, last), now=last, tz=LONDON, thresholds=TH)


def test_the_session_signals_come_from_the_script_too():
    # given play (failed games) every 20 minutes for three hours, through the script
    start = ms(NOW - dt.timedelta(minutes=180))
    apply(tuple(LiveEvent(start + i * 20 * MINUTE, "F") for i in range(10)))
    # then the long-session signal holds now
    assert signals()[LIVE_LONG_SESSION]["session_minutes"] == 180


def test_thresholds_come_from_the_settings(settings):
    # given a stricter chase threshold in the settings
    settings.LIVE_HARM_SIGNALS = {**settings.LIVE_HARM_SIGNALS, "chase_min_losses": 2}
    # when two losses are followed by a doubled bet
    apply(rounds((10, "L"), (10, "L"), (20, "L")))
    # then it is a chase
    assert LIVE_LOSS_CHASING in signals()


def test_an_unknown_threshold_name_is_refused(settings):
    settings.LIVE_HARM_SIGNALS = {"chase_min_loses": 2}
    with pytest.raises(ValueError, match="chase_min_loses"):
        LiveThresholds.from_settings()


def test_each_threshold_has_a_default_matching_the_settings(settings):
    assert dataclasses.asdict(LiveThresholds()) == settings.LIVE_HARM_SIGNALS


def test_late_night_counts_real_minutes_on_the_night_the_clocks_go_back():
    # given a London player on 2026-10-25 (02:00 BST becomes 01:00 GMT) playing from 00:05Z (01:05 BST) to 01:03Z
    # (01:03 GMT, the repeated hour): 58 real minutes, all inside the night
    start = dt.datetime(2026, 10, 25, 0, 5, tzinfo=dt.UTC)
    last = dt.datetime(2026, 10, 25, 1, 3, tzinfo=dt.UTC)
    found = live_signals(session(start, last), now=last, tz=LONDON, thresholds=TH)
    # then the late-night signal holds with the real minutes (a clock subtraction would give none)
    assert found[LIVE_LATE_NIGHT]["night_minutes"] == 58


def test_late_night_counts_real_minutes_on_the_night_the_clocks_go_forward():
    # given a London player on 2026-03-29 (01:00 GMT becomes 02:00 BST) playing 00:50Z to 01:10Z: 20 real minutes
    start = dt.datetime(2026, 3, 29, 0, 50, tzinfo=dt.UTC)
    last = dt.datetime(2026, 3, 29, 1, 10, tzinfo=dt.UTC)
    # then no signal (a clock subtraction would count 80 minutes)
    assert LIVE_LATE_NIGHT not in live_signals(session(start, last), now=last, tz=LONDON, thresholds=TH)
