"""The hot-metric keyspace (spec 2.6 "Redis Keys"): exact names, forward-only times, streak updates in any order.

The first tests run on whichever store is configured (local memory or Redis); the ``redis_only``
ones read real Redis with a raw client to prove the key names and the single round trip.
"""

from __future__ import annotations

import os
import struct
from typing import Any

import pytest
import redis

from core.hotstore import (
    ActivityUpdate,
    LiveEvent,
    hot_store,
    key_last_action_ts,
    key_last_loss_ts,
    key_live,
    key_streak_count,
    key_streak_wins,
)


def raw_redis() -> Any:
    return redis.Redis.from_url(os.environ["REDIS_URL"])


def read(user_id: int) -> dict[str, int]:
    return hot_store.get_many([key_last_action_ts(user_id), key_streak_count(user_id)])


def test_key_names_are_the_specs():
    # given a user id
    # when the key names are built
    # then they are exactly the spec's
    assert key_last_action_ts(42) == "user:42:last_action_ts"
    assert key_streak_count(42) == "user:42:streak_count"
    # and the streak's state sits beside them under the same scheme
    assert (key_last_loss_ts(42), key_streak_wins(42)) == ("user:42:last_loss_ts", "user:42:streak_wins")


def wins(*times: float) -> tuple[tuple[str, float], ...]:
    """Wins at these times, one event id each."""
    return tuple((f"w{t}", float(t)) for t in times)


def test_first_update_sets_both_keys():
    # given an empty store
    # when a player's first update arrives with two wins
    hot_store.apply_activity({42: ActivityUpdate(1_700_000_000, None, wins(1_699_999_990, 1_699_999_995))})
    # then the time and the streak are set
    assert read(42) == {"user:42:last_action_ts": 1_700_000_000, "user:42:streak_count": 2}


def test_last_action_ts_only_moves_forward():
    # given a stored last action time
    hot_store.apply_activity({42: ActivityUpdate(2000)})
    # when an update with an older time arrives, then a newer one
    hot_store.apply_activity({42: ActivityUpdate(1000)})
    older = read(42)["user:42:last_action_ts"]
    hot_store.apply_activity({42: ActivityUpdate(3000)})
    # then the older one leaves it, the newer one moves it
    assert older == 2000
    assert read(42)["user:42:last_action_ts"] == 3000


def test_streak_counts_the_wins_after_the_last_loss_whatever_the_order():
    # given wins at 10, 11 and 12
    hot_store.apply_activity({42: ActivityUpdate(12, None, wins(10, 11, 12))})
    after_wins = read(42)["user:42:streak_count"]
    # when a late loss at 10.5 arrives, then a late win at 9, then an older loss at 5, then a win at 13
    hot_store.apply_activity({42: ActivityUpdate(10, 10.5)})
    after_late_loss = read(42)["user:42:streak_count"]
    hot_store.apply_activity({42: ActivityUpdate(9, None, wins(9))})
    after_old_win = read(42)["user:42:streak_count"]
    hot_store.apply_activity({42: ActivityUpdate(5, 5.0)})
    after_old_loss = read(42)["user:42:streak_count"]
    hot_store.apply_activity({42: ActivityUpdate(13, None, wins(13))})
    # then the streak goes 3, 2 (11 and 12), 2, 2, 3; and the state is the last loss and the wins after it
    assert (after_wins, after_late_loss, after_old_win, after_old_loss) == (3, 2, 2, 2)
    assert read(42)["user:42:streak_count"] == 3
    assert hot_store.streak_state(42) == (10.5, {"w11": 11.0, "w12": 12.0, "w13": 13.0})


def test_a_win_at_the_loss_instant_is_not_after_it():
    # given a win at 1700000000.000001
    t = 1_700_000_000.000001
    hot_store.apply_activity({42: ActivityUpdate(int(t), None, (("tie", t),))})
    # when a loss at the same instant arrives
    hot_store.apply_activity({42: ActivityUpdate(int(t), t)})
    # then the win no longer counts, and a win a microsecond later does
    assert read(42)["user:42:streak_count"] == 0
    hot_store.apply_activity({42: ActivityUpdate(int(t), None, (("tie", t), ("after", t + 1e-6)))})
    assert hot_store.streak_state(42) == (t, {"after": t + 1e-6})
    assert read(42)["user:42:streak_count"] == 1


def test_the_same_win_applied_twice_counts_once():
    # given a win applied (say the after-commit hook ran twice)
    hot_store.apply_activity({42: ActivityUpdate(10, None, wins(10))})
    # when it is applied again
    hot_store.apply_activity({42: ActivityUpdate(10, None, wins(10))})
    # then the streak is 1
    assert read(42)["user:42:streak_count"] == 1


def test_update_without_game_result_sets_no_streak_key():
    # given an empty store
    # when a player's update carries no game result
    hot_store.apply_activity({42: ActivityUpdate(1000)})
    # then only the time is set
    assert read(42) == {"user:42:last_action_ts": 1000}


def test_one_call_updates_many_players():
    # given updates for three players
    updates = {1: ActivityUpdate(100, 100.0), 2: ActivityUpdate(200, None, wins(1, 2, 3, 4)), 3: ActivityUpdate(300)}
    # when they are applied together
    hot_store.apply_activity(updates)
    # then each player's keys hold their own values
    assert hot_store.get_many([key_streak_count(u) for u in (1, 2, 3)]) == {
        "user:1:streak_count": 0,
        "user:2:streak_count": 4,
    }
    assert hot_store.get_many([key_last_action_ts(u) for u in (1, 2, 3)]) == {
        "user:1:last_action_ts": 100,
        "user:2:last_action_ts": 200,
        "user:3:last_action_ts": 300,
    }


def test_fill_missing_sets_absent_keys_only():
    # given one live key
    hot_store.apply_activity({7: ActivityUpdate(5000, None, wins(1, 2, 3, 4, 5, 6, 7, 8, 9))})
    # when values are filled for it and for an absent key
    filled = hot_store.fill_missing({"user:7:streak_count": 1, "user:8:streak_count": 2})
    # then only the absent key is set, and the live one keeps its value
    assert filled == 1
    assert hot_store.get_many(["user:7:streak_count", "user:8:streak_count"]) == {
        "user:7:streak_count": 9,
        "user:8:streak_count": 2,
    }


def test_fill_missing_writes_absent_sorted_sets_whole_and_keeps_live_ones():
    # given player 7 with live wins; player 8 with none
    hot_store.apply_activity({7: ActivityUpdate(20, None, wins(20))})
    # when the wins' sets and a last loss are filled for both
    filled = hot_store.fill_missing(
        {key_last_loss_ts(8): 4.5}, {key_streak_wins(7): {"x": 1.0}, key_streak_wins(8): {"a": 5.25, "b": 6.0}}
    )
    # then player 8's set and last loss are written, player 7's set is left as it was
    assert filled == 2
    assert hot_store.streak_state(8) == (4.5, {"a": 5.25, "b": 6.0})
    assert hot_store.streak_state(7) == (None, {"w20": 20.0})


def test_flush_empties_the_keyspace_and_ping_answers():
    # given a stored key
    hot_store.apply_activity({7: ActivityUpdate(5000)})
    # when the store is flushed
    hot_store.flush()
    # then the key is gone and the store still answers
    assert read(7) == {}
    assert hot_store.ping() is True


# --- real Redis ----------------------------------------------------------------------------------


@pytest.mark.redis
def test_keys_in_redis_have_the_exact_names_and_no_prefix(redis_only):
    # given updates for players 42 (a loss, then three wins) and 43 (no game)
    hot_store.apply_activity(
        {
            42: ActivityUpdate(1_700_000_000, 1_699_999_000.5, wins(1_699_999_001, 1_699_999_002, 1_699_999_003)),
            43: ActivityUpdate(1_700_000_500),
        }
    )
    # when Redis is read with a raw client
    r = raw_redis()
    keys = sorted(k.decode() for k in r.keys("*user:4[23]*"))
    # then the keys are exactly the spec's names (no cache prefix or version) with plain values
    assert keys == [
        "user:42:last_action_ts",
        "user:42:last_loss_ts",
        "user:42:streak_count",
        "user:42:streak_wins",
        "user:43:last_action_ts",
    ]
    assert r.get("user:42:last_action_ts") == b"1700000000"
    assert r.get("user:42:streak_count") == b"3"
    assert r.get("user:42:last_loss_ts") == b"1699999000.5"
    assert r.zcard("user:42:streak_wins") == 3
    assert r.get("user:43:last_action_ts") == b"1700000500"


@pytest.mark.redis
def test_last_action_ts_written_by_other_clients_is_respected(redis_only):
    # given a last action time written by another Redis client (e.g. the game server)
    r = raw_redis()
    r.set("user:42:last_action_ts", 2000)
    # when two wins arrive with an older time
    hot_store.apply_activity({42: ActivityUpdate(1500, None, wins(1400, 1500))})
    # then the time is kept and the streak is the wins after the last loss
    assert r.get("user:42:last_action_ts") == b"2000"
    assert read(42) == {"user:42:last_action_ts": 2000, "user:42:streak_count": 2}


@pytest.mark.redis
def test_microseconds_survive_the_round_trip_through_lua(redis_only):
    # given a loss and a win one microsecond apart, late in the century (where doubles are coarsest)
    t = 4_102_444_799.999998  # 2099-12-31T23:59:59.999998Z
    # when both are applied, the win first
    hot_store.apply_activity({42: ActivityUpdate(int(t), None, (("win", t + 1e-6),))})
    hot_store.apply_activity({42: ActivityUpdate(int(t), t)})
    # then the win is still after the loss
    assert hot_store.streak_state(42) == (t, {"win": t + 1e-6})
    assert read(42)["user:42:streak_count"] == 1


@pytest.mark.redis
def test_a_live_state_in_an_older_layout_reads_as_none_and_is_replaced(redis_only):
    # given a live state written by the previous release (twelve packed integers, where there are seventeen now)
    r = raw_redis()
    r.set(key_live(42), struct.pack(">12q", *range(1, 13)))
    # then it reads as no live state
    assert hot_store.live_read(42, now_ms=1_700_000_000_000, window_ms=3_600_000)[1] == {}
    # and the next round starts a session afresh, in the new layout
    hot_store.apply_activity({42: ActivityUpdate(1_700_000_000, None, (), (LiveEvent(1_700_000_000_000, "L", 10),))})
    live = hot_store.live_read(42, now_ms=1_700_000_000_000, window_ms=3_600_000)[1]
    assert (live["ss"], live["sl"], live["rn"], live["ps"]) == (1_700_000_000_000, 1_700_000_000_000, 1, 0)


@pytest.mark.redis
def test_an_update_of_many_players_is_one_round_trip(redis_round_trips):
    # given updates for 2,000 players, some with a loss and some with wins
    updates = {
        uid: ActivityUpdate(
            1_700_000_000 + uid,
            1_600_000_000.0 if uid % 2 else None,
            tuple((f"e{uid}-{i}", 1_650_000_000.0 + i) for i in range(uid % 5)),
        )
        for uid in range(1, 2001)
    }
    # when they are applied
    hot_store.apply_activity(updates)
    # then exactly one command went to Redis, and every player's keys are there
    assert redis_round_trips() == 1
    assert raw_redis().exists(*[key_last_action_ts(uid) for uid in updates]) == 2000
    streaks = [key_streak_count(uid) for uid, u in updates.items() if u.has_game_result]
    assert raw_redis().exists(*streaks) == len(streaks)
    assert hot_store.get_many([key_streak_count(4)]) == {"user:4:streak_count": 4}


@pytest.mark.redis
def test_fill_missing_is_one_round_trip_and_never_overwrites(redis_round_trips):
    # given a live key and a live sorted set
    raw_redis().set("user:1:streak_count", 5)
    raw_redis().zadd("user:1:streak_wins", {"live": 1.0})
    before = redis_round_trips()
    # when 1,000 values and 1,000 sorted sets are filled, one of each for the live keys
    values = {key_streak_count(uid): 0 for uid in range(1, 1001)}
    sorted_sets = {key_streak_wins(uid): {f"e{uid}": 2.0} for uid in range(1, 1001)}
    filled = hot_store.fill_missing(values, sorted_sets)
    # then one command was sent, 1,998 keys were set and the live keys kept their values
    assert redis_round_trips() - before == 1
    assert filled == 1998
    assert raw_redis().get("user:1:streak_count") == b"5"
    assert raw_redis().zrange("user:1:streak_wins", 0, -1) == [b"live"]
