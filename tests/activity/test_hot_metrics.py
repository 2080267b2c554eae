"""Hot metrics kept by ingest (``user:{id}:last_action_ts``, ``user:{id}:streak_count`` and the streak's
state ``user:{id}:last_loss_ts``, ``user:{id}:streak_wins``) and their repair.

The keys are written after commit: each post runs inside ``django_capture_on_commit_callbacks``
with ``execute=True`` so the callbacks run as they would in production.
"""

from __future__ import annotations

import datetime as dt
import os
import random
from typing import Any

import pytest
import redis

from activity import selectors, services
from activity.tasks import hot_metrics_repair as hot_metrics_repair_task
from core.hotstore import hot_store, key_last_action_ts, key_streak_count
from tests.factories import action, game_play

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def at(minutes: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def ts(minutes: int) -> int:
    return int(at(minutes).timestamp())


@pytest.fixture
def post(service_client, django_capture_on_commit_callbacks):
    """``post(batch)`` posts actions and runs the after-commit hooks, as a real request would."""

    def run(batch: list[dict[str, Any]]) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            response = service_client.post("/api/actions", {"actions": batch}, format="json")
        assert response.status_code in (200, 400), response.content
        return response

    return run


def metrics(user_id: int) -> tuple[int | None, int | None]:
    values = hot_store.get_many([key_last_action_ts(user_id), key_streak_count(user_id)])
    return values.get(key_last_action_ts(user_id)), values.get(key_streak_count(user_id))


def test_batch_sets_last_action_and_win_streak(post):
    # given a player's batch, out of order: win, loss, win, win, then a session start last in time
    batch = [
        game_play(user_id=1, result="win", at=at(3)),
        game_play(user_id=1, result="win", at=at(0)),
        game_play(user_id=1, result="loss", at=at(1)),
        game_play(user_id=1, result="win", at=at(2)),
        action(user_id=1, at=at(10)),
    ]
    # when it is posted
    post(batch)
    # then last_action_ts is the newest action and the streak counts the wins after the last loss
    assert metrics(1) == (ts(10), 2)


def test_fail_game_resets_the_streak(post):
    # given a streak of two wins
    post([game_play(user_id=2, result="win", at=at(0)), game_play(user_id=2, result="win", at=at(1))])
    # when a FAIL_GAME arrives after them
    post([action(user_id=2, action_type="FAIL_GAME", game="RPSGame", at=at(2))])
    # then the streak is 0
    assert metrics(2) == (ts(2), 0)


def test_loss_then_wins_in_one_batch_sets_the_streak_to_the_wins_after_it(post):
    # given a streak of five wins
    post([game_play(user_id=3, result="win", at=at(i)) for i in range(5)])
    # when a batch holds a loss followed by one win
    post([game_play(user_id=3, result="loss", at=at(10)), game_play(user_id=3, result="win", at=at(11))])
    # then the streak is 1
    assert metrics(3) == (ts(11), 1)


def test_batch_with_only_wins_adds_to_the_existing_streak(post):
    # given a streak of 2
    post(
        [
            game_play(user_id=4, result="loss", at=at(0)),
            game_play(user_id=4, result="win", at=at(1)),
            game_play(user_id=4, result="win", at=at(2)),
        ]
    )
    # when a batch of three wins arrives
    post([game_play(user_id=4, result="win", at=at(3 + i)) for i in range(3)])
    # then the streak is 5
    assert metrics(4) == (ts(5), 5)


def test_actions_without_a_game_result_leave_the_streak(post):
    # given a streak of 2
    post([game_play(user_id=5, result="win", at=at(0)), game_play(user_id=5, result="win", at=at(1))])
    # when a batch of views and session starts arrives
    post([action(user_id=5, at=at(5)), action(user_id=5, action_type="VIEW_CONTENT", content_id=1, at=at(6))])
    # then the streak is still 2 and the time moved on
    assert metrics(5) == (ts(6), 2)


def test_last_action_ts_only_moves_forward(post):
    # given a last action at minute 30
    post([action(user_id=6, at=at(30))])
    # when a late batch of older actions arrives
    post([action(user_id=6, at=at(5)), action(user_id=6, at=at(20))])
    # then last_action_ts stays at minute 30
    assert metrics(6)[0] == ts(30)


def test_duplicates_do_not_count_twice(post):
    # given a batch of two wins, posted once
    batch = [game_play(user_id=7, result="win", at=at(0)), game_play(user_id=7, result="win", at=at(1))]
    post(batch)
    # when the same batch is replayed, and a batch repeats a win inside itself
    post(batch)
    dup = game_play(user_id=7, result="win", at=at(2))
    post([dup, dup])
    # then the streak counts each event once: 3
    assert metrics(7) == (ts(2), 3)


def test_rejected_batch_changes_no_key(post):
    # given a streak of 1
    post([game_play(user_id=8, result="win", at=at(0))])
    # when a batch with wins and one bad item is refused
    response = post([game_play(user_id=8, result="win", at=at(1)), game_play(user_id=8, result="maybe", at=at(2))])
    # then the keys are unchanged
    assert response.status_code == 400
    assert metrics(8) == (ts(0), 1)


def test_each_player_of_a_batch_gets_their_own_values(post):
    # given a batch mixing three players
    batch = [
        game_play(user_id=11, result="win", at=at(1)),
        game_play(user_id=12, result="loss", at=at(2)),
        game_play(user_id=11, result="win", at=at(3)),
        action(user_id=13, at=at(4)),
    ]
    # when it is posted
    post(batch)
    # then each player's keys hold their own values
    assert (metrics(11), metrics(12), metrics(13)) == ((ts(3), 2), (ts(2), 0), (ts(4), None))


def test_late_batch_of_old_wins_does_not_extend_a_newer_streak(post):
    # given a loss at minute 10 (streak 0)
    post([game_play(user_id=9, result="loss", at=at(10))])
    # when a delayed batch arrives holding two wins from minutes 1 and 2
    post([game_play(user_id=9, result="win", at=at(1)), game_play(user_id=9, result="win", at=at(2))])
    # then the streak is still 0: no win came after the last loss
    assert metrics(9) == (ts(10), 0)


def test_late_old_loss_does_not_reset_a_newer_streak(post):
    # given a loss at minute 10 followed by wins at minutes 11 and 12 (streak 2)
    post(
        [
            game_play(user_id=14, result="loss", at=at(10)),
            game_play(user_id=14, result="win", at=at(11)),
            game_play(user_id=14, result="win", at=at(12)),
        ]
    )
    # when a delayed batch brings a loss and a FAIL_GAME from minutes 3 and 5
    post(
        [
            game_play(user_id=14, result="loss", at=at(3)),
            action(user_id=14, action_type="FAIL_GAME", game="Roulette", at=at(5)),
        ]
    )
    # then the streak is still 2
    assert metrics(14) == (ts(12), 2)


def test_late_loss_between_wins_keeps_only_the_wins_after_it(post):
    # given wins at minutes 1, 2, 3 and 4 (streak 4)
    post([game_play(user_id=15, result="win", at=at(i)) for i in (1, 2, 3, 4)])
    # when a delayed FAIL_GAME from minute 2.5 arrives
    post([action(user_id=15, action_type="FAIL_GAME", game="RPSGame", at=at(2) + dt.timedelta(seconds=30))])
    # then the streak counts the wins after it: minutes 3 and 4
    assert metrics(15) == (ts(4), 2)


@pytest.mark.parametrize("order", ["loss first", "win first", "same batch"])
def test_a_win_at_the_same_instant_as_the_loss_is_not_after_it(post, order):
    # given a loss and a win at the same microsecond, and a later win
    instant = at(5) + dt.timedelta(microseconds=123_456)
    loss = game_play(user_id=16, result="loss", at=instant)
    tie = game_play(user_id=16, result="win", at=instant)
    later = game_play(user_id=16, result="win", at=instant + dt.timedelta(microseconds=1))
    # when they arrive in this order
    batches = {
        "loss first": [[loss], [tie, later]],
        "win first": [[tie, later], [loss]],
        "same batch": [[tie, loss, later]],
    }[order]
    for batch in batches:
        post(batch)
    # then only the later win counts, live and in the log's reading
    assert metrics(16)[1] == 1
    assert selectors.hot_metrics_from_log(first_id=16, last_id=16)[16].streak == 1


def test_streak_state_keys_hold_the_last_loss_and_the_wins_after_it(post):
    # given a loss and wins around it, one at a fractional second
    win_id = "late-win"
    post(
        [
            game_play(user_id=17, result="win", at=at(1)),
            game_play(user_id=17, result="loss", at=at(2)),
            game_play(user_id=17, event_id=win_id, result="win", at=at(3) + dt.timedelta(microseconds=250_001)),
        ]
    )
    # when the streak state is read
    last_loss, wins = hot_store.streak_state(17)
    # then it is the loss's time and the one win after it, to the microsecond
    assert last_loss == at(2).timestamp()
    assert wins == {win_id: (at(3) + dt.timedelta(microseconds=250_001)).timestamp()}


def _expected_streak(history: list[dict[str, Any]], user_id: int) -> int:
    """The definition itself: GAME_PLAY wins strictly after the player's last loss (GAME_PLAY loss or FAIL_GAME)."""
    mine = [(dt.datetime.fromisoformat(a["action_timestamp"]), a) for a in history if a["user_id"] == user_id]
    losses = [
        t
        for t, a in mine
        if a["action_type"] == "FAIL_GAME" or (a["action_type"] == "GAME_PLAY" and a["metadata"]["result"] == "loss")
    ]
    last_loss = max(losses, default=None)
    return sum(
        1
        for t, a in mine
        if a["action_type"] == "GAME_PLAY" and a["metadata"]["result"] == "win" and (last_loss is None or t > last_loss)
    )


def test_live_streak_agrees_with_the_log_whatever_order_batches_arrive_in(post):
    # given a random history of six players (wins, losses, FAIL_GAMEs, ties on the same second)
    rng = random.Random(20261120)
    users = range(40, 46)
    history = []
    for i in range(240):
        kind = rng.choice(["win", "win", "win", "loss", "fail", "session"])
        when = at(rng.randrange(0, 120)) + dt.timedelta(seconds=rng.choice([0, 0, 30]))
        user_id = rng.choice(users)
        if kind in ("win", "loss"):
            history.append(game_play(user_id=user_id, result=kind, at=when, event_id=f"h-{i}"))
        elif kind == "fail":
            history.append(
                action(user_id=user_id, action_type="FAIL_GAME", game="Roulette", at=when, event_id=f"h-{i}")
            )
        else:
            history.append(action(user_id=user_id, at=when, event_id=f"h-{i}"))
    # when it is posted in shuffled batches of random sizes (some replayed)
    shuffled = history[:]
    rng.shuffle(shuffled)
    start = 0
    while start < len(shuffled):
        size = rng.randrange(1, 30)
        post(shuffled[start : start + size])
        if rng.random() < 0.2:
            post(shuffled[start : start + size])
        start += size
    # then each player's live streak is the definition's, and hot_metrics_from_log (the repair's source) agrees
    from_log = selectors.hot_metrics_from_log(first_id=min(users), last_id=max(users))
    live = {u: metrics(u)[1] or 0 for u in users}
    assert live == {u: _expected_streak(history, u) for u in users}
    assert {u: from_log[u].streak for u in users} == live
    # and so does the streak state the repair rebuilds after a flush
    states = {u: hot_store.streak_state(u) for u in users}
    hot_store.flush()
    services.hot_metrics_repair()
    assert {u: hot_store.streak_state(u) for u in users} == states
    assert {u: metrics(u)[1] for u in users} == live


# --- real Redis ----------------------------------------------------------------------------------


@pytest.mark.redis
def test_ingest_writes_the_exact_keys_in_redis(redis_only, post):
    # given a batch for player 21 (win, win) and player 22 (a session start)
    post(
        [
            game_play(user_id=21, result="win", at=at(1)),
            game_play(user_id=21, result="win", at=at(2)),
            action(user_id=22, at=at(3)),
        ]
    )
    # when Redis is read with a raw client
    r: Any = redis.Redis.from_url(os.environ["REDIS_URL"])
    # then the spec's key names hold the values, with no prefix, beside the streak's sorted set of wins and the
    # live state of the player who played (players.live_harm: a session start is not play)
    assert sorted(k.decode() for k in r.keys("*user:2[12]*")) == [
        "user:21:last_action_ts",
        "user:21:live",
        "user:21:streak_count",
        "user:21:streak_wins",
        "user:22:last_action_ts",
    ]
    assert r.get("user:21:last_action_ts") == str(ts(2)).encode()
    assert r.get("user:21:streak_count") == b"2"
    assert r.get("user:22:last_action_ts") == str(ts(3)).encode()
    assert [score for _, score in r.zrange("user:21:streak_wins", 0, -1, withscores=True)] == [ts(1), ts(2)]


@pytest.mark.redis
def test_a_loss_writes_last_loss_ts_and_empties_the_wins_in_redis(redis_only, post):
    # given two wins, then a loss at a fractional second
    post([game_play(user_id=23, result="win", at=at(1)), game_play(user_id=23, result="win", at=at(2))])
    loss_at = at(3) + dt.timedelta(microseconds=654_321)
    post([game_play(user_id=23, result="loss", at=loss_at)])
    # when Redis is read with a raw client
    r: Any = redis.Redis.from_url(os.environ["REDIS_URL"])
    # then last_loss_ts keeps the microseconds, the wins' set is gone and the streak is 0
    assert float(r.get("user:23:last_loss_ts")) == loss_at.timestamp()
    assert r.exists("user:23:streak_wins") == 0
    assert r.get("user:23:streak_count") == b"0"


@pytest.mark.redis
def test_one_redis_round_trip_per_batch(redis_round_trips, post):
    # given a batch of 3,000 actions from 1,000 players
    batch = [
        game_play(user_id=1000 + i % 1000, result="loss" if i % 7 == 0 else "win", at=at(i % 50)) for i in range(3000)
    ]
    # when it is posted (after-commit hooks included)
    before = redis_round_trips()
    response = post(batch)
    # then it is stored and exactly one command went to Redis for all 1,000 players
    assert response.json() == {"stored": 3000, "duplicates": 0}
    assert redis_round_trips() - before == 1
    assert (
        redis.Redis.from_url(os.environ["REDIS_URL"]).exists(*[key_last_action_ts(1000 + i) for i in range(1000)])
        == 1000
    )


# --- repair --------------------------------------------------------------------------------------


def _history(post) -> None:
    post(
        [
            game_play(user_id=31, result="win", at=at(0)),
            game_play(user_id=31, result="loss", at=at(1)),
            game_play(user_id=31, result="win", at=at(2)),
            game_play(user_id=31, result="win", at=at(3)),
            game_play(user_id=32, result="win", at=at(0)),
            action(user_id=32, action_type="FAIL_GAME", game="Roulette", at=at(4)),
            action(user_id=33, at=at(5)),
            game_play(user_id=34, result="win", at=at(1)),
            game_play(user_id=34, result="win", at=at(6)),
        ]
    )
    post([game_play(user_id=34, result="win", at=at(7))])


def test_repair_rebuilds_flushed_keys_with_the_same_values(post):
    # given the hot metrics of four players after two batches
    _history(post)
    keys = [k for uid in (31, 32, 33, 34) for k in (key_last_action_ts(uid), key_streak_count(uid))]
    live = hot_store.get_many(keys)
    assert live["user:31:streak_count"] == 2 and live["user:34:streak_count"] == 3
    states = {uid: hot_store.streak_state(uid) for uid in (31, 32, 33, 34)}
    # when the hot store is flushed and the repair runs
    hot_store.flush()
    repaired = services.hot_metrics_repair()
    # then every key is back with the value ingest had given it (player 33's streak: 0, never absent)
    rebuilt = hot_store.get_many(keys)
    assert {k: v for k, v in rebuilt.items() if k != "user:33:streak_count"} == live
    assert rebuilt["user:33:streak_count"] == 0
    # and so is the streak state: 31's last loss and wins after it, 32's FAIL_GAME, 34's three wins
    assert {uid: hot_store.streak_state(uid) for uid in (31, 32, 33, 34)} == states
    assert repaired == 12  # 8 metric keys; last_loss_ts of 31 and 32; streak_wins of 31 and 34


def test_repair_never_overwrites_live_keys(post):
    # given a flushed store where one key was written again since (by a newer batch, say)
    _history(post)
    hot_store.flush()
    hot_store.fill_missing({key_streak_count(31): 99})
    # when the repair runs
    repaired = services.hot_metrics_repair(chunk_size=2)
    # then the live key keeps its value and only the missing ones were set
    assert hot_store.get_many([key_streak_count(31)]) == {"user:31:streak_count": 99}
    assert repaired == 11
    assert metrics(34) == (ts(7), 3)


def test_repair_of_a_complete_store_sets_nothing(post):
    # given hot metrics in place for every player (33 has no streak key: no game yet)
    _history(post)
    hot_store.fill_missing({key_streak_count(33): 0})
    # when the repair runs
    # then it sets nothing
    assert services.hot_metrics_repair() == 0


def test_repair_task_runs_the_repair(post):
    # given flushed hot metrics
    _history(post)
    hot_store.flush()
    # when the Celery task runs (in-process here)
    result = hot_metrics_repair_task.delay().get()
    # then the keys are rebuilt and the task returns how many
    assert result == 12
    assert metrics(31) == (ts(3), 2)
