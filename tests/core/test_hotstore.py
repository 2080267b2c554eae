"""The hot-metric keyspace (spec 2.6 "Redis Keys"): exact names, forward-only times, streak updates.

The first tests run on whichever store is configured (local memory or Redis); the ``redis_only``
ones read real Redis with a raw client to prove the key names and the single round trip.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
import redis

from core.hotstore import ActivityUpdate, hot_store, key_last_action_ts, key_streak_count


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


def test_first_update_sets_both_keys():
    # given an empty store
    # when a player's first update arrives with two wins
    hot_store.apply_activity({42: ActivityUpdate(1_700_000_000, "incr", 2)})
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


def test_incr_adds_to_the_streak_set_replaces_it_and_none_leaves_it():
    # given a streak of 3
    hot_store.apply_activity({42: ActivityUpdate(1000, "set", 3)})
    # when wins only (+2), then nothing game-related, then a loss followed by one win arrive
    hot_store.apply_activity({42: ActivityUpdate(1001, "incr", 2)})
    after_incr = read(42)["user:42:streak_count"]
    hot_store.apply_activity({42: ActivityUpdate(1002, "none", 0)})
    after_none = read(42)["user:42:streak_count"]
    hot_store.apply_activity({42: ActivityUpdate(1003, "set", 1)})
    # then the streak goes 5, stays 5, then becomes 1
    assert (after_incr, after_none, read(42)["user:42:streak_count"]) == (5, 5, 1)


def test_update_without_game_result_sets_no_streak_key():
    # given an empty store
    # when a player's update carries no game result
    hot_store.apply_activity({42: ActivityUpdate(1000)})
    # then only the time is set
    assert read(42) == {"user:42:last_action_ts": 1000}


def test_one_call_updates_many_players():
    # given updates for three players
    updates = {1: ActivityUpdate(100, "set", 0), 2: ActivityUpdate(200, "incr", 4), 3: ActivityUpdate(300)}
    # when they are applied together
    hot_store.apply_activity(updates)
    # then each player's keys hold their own values
    assert hot_store.get_many([key_streak_count(u) for u in (1, 2, 3)]) == {
        "user:1:streak_count": 0, "user:2:streak_count": 4}
    assert hot_store.get_many([key_last_action_ts(u) for u in (1, 2, 3)]) == {
        "user:1:last_action_ts": 100, "user:2:last_action_ts": 200, "user:3:last_action_ts": 300}


def test_fill_missing_sets_absent_keys_only():
    # given one live key
    hot_store.apply_activity({7: ActivityUpdate(5000, "set", 9)})
    # when values are filled for it and for an absent key
    filled = hot_store.fill_missing({"user:7:streak_count": 1, "user:8:streak_count": 2})
    # then only the absent key is set, and the live one keeps its value
    assert filled == 1
    assert hot_store.get_many(["user:7:streak_count", "user:8:streak_count"]) == {
        "user:7:streak_count": 9, "user:8:streak_count": 2}


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
    # given updates for players 42 and 43
    hot_store.apply_activity({42: ActivityUpdate(1_700_000_000, "set", 3), 43: ActivityUpdate(1_700_000_500)})
    # when Redis is read with a raw client
    r = raw_redis()
    keys = sorted(k.decode() for k in r.keys("*user:4[23]*"))
    # then the keys are exactly the spec's names (no cache prefix or version) with plain integer values
    assert keys == ["user:42:last_action_ts", "user:42:streak_count", "user:43:last_action_ts"]
    assert r.get("user:42:last_action_ts") == b"1700000000"
    assert r.get("user:42:streak_count") == b"3"
    assert r.get("user:43:last_action_ts") == b"1700000500"


@pytest.mark.redis
def test_values_written_by_other_clients_are_read_and_updated(redis_only):
    # given keys written by another Redis client (e.g. the game server)
    r = raw_redis()
    r.set("user:42:streak_count", 4)
    r.set("user:42:last_action_ts", 2000)
    # when two more wins arrive with an older time
    hot_store.apply_activity({42: ActivityUpdate(1500, "incr", 2)})
    # then the streak is added to and the time kept
    assert r.get("user:42:streak_count") == b"6"
    assert r.get("user:42:last_action_ts") == b"2000"
    assert read(42) == {"user:42:last_action_ts": 2000, "user:42:streak_count": 6}


@pytest.mark.redis
def test_an_update_of_many_players_is_one_round_trip(redis_round_trips):
    # given updates for 2,000 players
    updates = {uid: ActivityUpdate(1_700_000_000 + uid, "incr" if uid % 2 else "set", uid % 5)
               for uid in range(1, 2001)}
    # when they are applied
    hot_store.apply_activity(updates)
    # then exactly one command went to Redis, and every player's keys are there
    assert redis_round_trips() == 1
    assert raw_redis().exists(*[key_last_action_ts(uid) for uid in updates]) == 2000
    streaks = [key_streak_count(uid) for uid in updates if not (uid % 2 and uid % 5 == 0)]  # "incr" by 0: no key
    assert raw_redis().exists(*streaks) == len(streaks)


@pytest.mark.redis
def test_fill_missing_is_one_round_trip_and_never_overwrites(redis_round_trips):
    # given a live key
    raw_redis().set("user:1:streak_count", 5)
    before = redis_round_trips()
    # when 1,000 values are filled, one for the live key
    values = {key_streak_count(uid): 0 for uid in range(1, 1001)}
    filled = hot_store.fill_missing(values)
    # then one command was sent, 999 keys were set and the live key kept its value
    assert redis_round_trips() - before == 1
    assert filled == 999
    assert raw_redis().get("user:1:streak_count") == b"5"
