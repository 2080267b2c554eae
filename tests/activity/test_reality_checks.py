"""Reality checks (issue 12): after each stretch of a session the player chose (default 60 minutes), one facts-only
message with the session's time and net tokens, in the player's locale, at most once per interval."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from prometheus_client import REGISTRY

from notifications.models import Notification
from players.services import protection_update
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)

PLAYER = 6100
START = timezone.now().replace(microsecond=0) - dt.timedelta(hours=3)


def round_at(minute: float, *, bet: int = 10, payout: int = 0, player_id: int = PLAYER) -> dict[str, Any]:
    return {
        "event_id": f"rc-{player_id}-{minute}",
        "user_id": player_id,
        "action_type": "GAME_PLAY",
        "action_timestamp": (START + dt.timedelta(minutes=minute)).isoformat(),
        "metadata": {"game": "SlotMachine", "bet": bet, "payout": payout, "result": "win" if payout else "loss"},
    }


def checks(player_id: int = PLAYER) -> list[Notification]:
    return list(Notification.objects.filter(user_id=player_id, type="REALITY_CHECK").order_by("id"))


def test_an_hour_into_a_session_the_player_gets_one_reality_check(post_actions):
    # given a Korean player playing a round every 10 minutes for 70 minutes (won 50 on one, 10 staked on each)
    factories.make_player(id=PLAYER, locale="ko")
    counted = REGISTRY.get_sample_value("tokenloop_reality_checks_total") or 0.0
    post_actions([round_at(m, payout=60 if m == 30 else 0) for m in range(0, 71, 10)])
    # then one reality check, in Korean, stating the session's minutes and its net tokens (60 won - 80 staked)
    [check] = checks()
    assert check.kind == "transactional" and check.status == "sent"
    assert check.message == "지금까지 70분 동안 플레이했습니다. 이번 세션의 게임 결과(획득 - 베팅): -20 토큰."
    assert (check.payload["session_minutes"], check.payload["net_tokens"]) == (70, -20)
    assert REGISTRY.get_sample_value("tokenloop_reality_checks_total") == counted + 1  # the operators' figure


def test_no_reality_check_before_the_interval(post_actions):
    # given a session of 59 minutes
    factories.make_player(id=PLAYER)
    post_actions([round_at(m) for m in (0, 20, 40, 59)])
    # then none
    assert checks() == []


def test_at_most_one_per_interval_whatever_the_batches(post_actions):
    # given a session that reached 60 minutes, then goes on to 119 in small batches, and a retried batch
    factories.make_player(id=PLAYER, locale="en")
    post_actions([round_at(m) for m in (0, 20, 40, 60)])
    for m in (75, 90, 105, 119):
        post_actions([round_at(m)])
    post_actions([round_at(m) for m in (0, 20, 40, 60)])  # a retry: nothing new stored
    # then one check so far, in English; at 120 minutes the second
    assert [c.payload["session_minutes"] for c in checks()] == [60]
    assert checks()[0].message.startswith("You have been playing for 60 minutes.")
    post_actions([round_at(120)])
    assert [c.payload["session_minutes"] for c in checks()] == [60, 120]


def test_the_player_chooses_the_interval(post_actions):
    # given a player who asked for a reality check every 30 minutes
    factories.make_player(id=PLAYER)
    protection_update(player_id=PLAYER, changes={"reality_check_minutes": 30})
    # when they play a round every 5 minutes for 65 minutes, each sent as it happens
    for m in range(0, 66, 5):
        post_actions([round_at(m)])
    # then a check at 30 minutes and one at 60
    assert [c.payload["session_minutes"] for c in checks()] == [30, 60]


def test_a_batch_that_passes_two_intervals_sends_one_check(post_actions):
    # given a player with 30-minute checks whose 65 minutes of rounds arrive in one batch
    factories.make_player(id=PLAYER)
    protection_update(player_id=PLAYER, changes={"reality_check_minutes": 30})
    post_actions([round_at(m) for m in range(0, 66, 5)])
    # then one check, stating the 65 minutes (not two stale ones)
    assert [c.payload["session_minutes"] for c in checks()] == [65]


def test_a_break_longer_than_thirty_minutes_starts_a_new_session(post_actions):
    # given 50 minutes of play, a 31-minute break, then 50 minutes more
    factories.make_player(id=PLAYER)
    for m in (0, 25, 50):
        post_actions([round_at(m)])
    for m in (81, 106, 131):
        post_actions([round_at(m)])
    # then no check: neither session reached an hour
    assert checks() == []


def test_a_late_round_in_the_break_joins_the_two_stretches_into_one_session(post_actions):
    # given 40 minutes of play, then a 31-minute break, then a round at minute 71 (a new session, as far as anyone
    # knows yet)
    factories.make_player(id=PLAYER, locale="en")
    post_actions([round_at(m) for m in (0, 20, 40)])
    post_actions([round_at(71)])
    assert checks() == []
    # when a round played at minute 55 (won 30 on a 10 stake) arrives late
    post_actions([round_at(55, payout=30)])
    # then in time order it was one session from minute 0: 71 minutes, with every round's net (30 won - 50 staked)
    [check] = checks()
    assert (check.payload["session_minutes"], check.payload["net_tokens"]) == (71, -20)
    assert check.payload["session_started_at"] == START.isoformat()
    # and going on to minute 119 sends nothing more; 120 the second check
    post_actions([round_at(m) for m in (90, 119)])
    assert len(checks()) == 1
    post_actions([round_at(120)])
    assert [c.payload["session_minutes"] for c in checks()] == [71, 120]


def test_a_late_round_close_to_the_later_stretch_only_starts_it_earlier(post_actions):
    # given 10 minutes of play, a break of 35 minutes, then play from minute 45 to 95
    factories.make_player(id=PLAYER)
    post_actions([round_at(m) for m in (0, 10)])
    post_actions([round_at(m) for m in (45, 70, 95)])
    # when a round at minute 41 arrives late (31 minutes after the first stretch: too far from it)
    post_actions([round_at(41)])
    # then the later session starts at minute 41 and is 54 minutes long: no check; at minute 101 it is 60
    assert checks() == []
    post_actions([round_at(101)])
    [check] = checks()
    assert check.payload["session_minutes"] == 60
