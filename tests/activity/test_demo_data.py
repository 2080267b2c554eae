from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter, defaultdict
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from activity.models import UserAction
from activity.registry import REGISTRY
from activity.validation import parse_action
from core.hotstore import hot_store, key_last_action_ts
from players.models import Player
from tests.factories import make_player

pytestmark = pytest.mark.django_db

END = "2026-11-20T00:00:00+00:00"
END_AT = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def generate(*, players: int = 80, days: int = 14, seed: int = 5, **options: Any) -> str:
    out = StringIO()
    call_command("generate_demo_data", players=players, days=days, seed=seed, end=END, stdout=out, **options)
    return out.getvalue()


def action_rows() -> list[tuple[Any, ...]]:
    return list(UserAction.objects.order_by("event_id").values_list(
        "event_id", "user_id", "action_type", "metadata", "action_timestamp"))


def player_rows() -> list[tuple[Any, ...]]:
    return list(Player.objects.order_by("id").values_list(
        "id", "signup_at", "locale", "timezone", "birth_date", "age_verified", "age_verified_at"))


def test_same_seed_gives_the_same_rows():
    # given the rows of one run
    generate()
    first_actions, first_players = action_rows(), player_rows()
    # when the database is emptied and the same arguments run again
    UserAction.objects.all().delete()
    Player.objects.all().delete()
    generate()
    # then every player and action comes back identical
    assert first_actions
    assert action_rows() == first_actions
    assert player_rows() == first_players


def test_different_seed_gives_different_rows():
    # given the rows of seed 5
    generate(seed=5)
    seed5 = [row[1:] for row in action_rows()]
    # when seed 6 runs on an empty database
    UserAction.objects.all().delete()
    Player.objects.all().delete()
    generate(seed=6)
    seed6 = [row[1:] for row in action_rows()]
    # then the actions differ, and so do their event ids
    assert seed5 != seed6
    assert len(seed5) != len(seed6) or sum(a == b for a, b in zip(seed5, seed6, strict=True)) < len(seed5) / 10
    assert all(row[0].startswith("demo-6-") for row in action_rows())


def test_rerun_stores_nothing_twice():
    # given a loaded data set
    generate()
    count = UserAction.objects.count()
    # when the same command runs again
    out = generate()
    # then nothing new is stored: every event id is there already
    assert UserAction.objects.count() == count
    assert f"{count} generated, 0 stored, {count} already there" in out


def test_if_empty_does_nothing_when_there_are_players():
    # given a database with one player
    make_player()
    # when the demo is asked for only if the database is empty
    out = generate(if_empty=True)
    # then nothing is generated, and it says so
    assert "no demo data generated" in out
    assert Player.objects.count() == 1
    assert not UserAction.objects.exists()


def test_if_empty_loads_an_empty_database():
    # given an empty database
    # when the demo is asked for only if empty
    out = generate(if_empty=True, players=30)
    # then the players are loaded, and the summary lists them and the actions by type
    assert Player.objects.count() == 30
    assert "players: 30 generated, 30 stored" in out
    assert "GAME_PLAY" in out


def test_every_generated_action_passes_ingest_validation():
    # given a generated data set
    generate(players=150, days=30)
    # when each stored action is read back as the API would receive it
    problems: dict[str, dict[str, str]] = {}
    types: Counter[str] = Counter()
    for event_id, user_id, action_type, metadata, ts in action_rows():
        item = {"event_id": event_id, "user_id": user_id, "action_type": action_type,
                "action_timestamp": ts.isoformat(), "metadata": metadata}
        _, errors = parse_action(item, now=END_AT, max_future=dt.timedelta(0), allow_token_moving=False)
        if errors:
            problems[event_id] = errors
        types[action_type] += 1
    # then every one is valid, token-moving types are absent and every other type appears
    assert problems == {}
    assert set(types) == {name for name, spec in REGISTRY.items() if not spec.moves_tokens}


def test_actions_fall_in_the_window_and_after_signup():
    # given 30 days ending at END
    generate(players=150, days=30)
    signup = dict(Player.objects.values_list("id", "signup_at"))
    # when the action times are read
    rows = action_rows()
    # then all lie in [END - 30 days, END) and none precedes its player's signup
    assert all(END_AT - dt.timedelta(days=30) <= ts < END_AT for *_, ts in rows)
    assert all(ts >= signup[user_id] for _, user_id, _, _, ts in rows)


def test_population_is_mostly_korean_and_mostly_verified_adults():
    # given 500 players
    generate(players=500, days=7)
    players = list(Player.objects.all())
    # then most are Korean in Seoul, about 70% are verified adults, and the rest include unknown birth dates
    assert sum(p.locale == "ko" for p in players) / len(players) > 0.8
    assert sum(p.timezone == "Asia/Seoul" for p in players) / len(players) > 0.75
    assert {p.timezone for p in players} > {"Asia/Seoul", "America/Los_Angeles", "Europe/London"}
    verified = sum(p.is_verified_adult(END_AT.date()) for p in players) / len(players)
    assert 0.6 < verified < 0.8
    assert any(p.birth_date is None for p in players)
    assert all(p.age_verified_at is not None for p in players if p.age_verified)


def test_bets_and_activity_are_heavy_tailed():
    # given 400 players over 30 days
    generate(players=400, days=30)
    bets: dict[int, int] = defaultdict(int)
    actions: Counter[int] = Counter()
    for user_id, action_type, metadata in UserAction.objects.values_list("user_id", "action_type", "metadata"):
        actions[user_id] += 1
        if action_type == "GAME_PLAY":
            bets[user_id] += metadata["bet"]
    # then the top 1% of players by bets hold a large share of all bets
    ranked = sorted(bets.values(), reverse=True)
    assert sum(ranked[:4]) / sum(ranked) > 0.25
    # and the busiest player does far more than the typical one
    counts = sorted(actions.values())
    assert counts[-1] > 10 * counts[len(counts) // 2]


def test_activity_peaks_in_the_evening_and_some_players_churn():
    # given 400 players over 30 days
    generate(players=400, days=30)
    seoul = zoneinfo.ZoneInfo("Asia/Seoul")
    in_seoul = set(Player.objects.filter(timezone="Asia/Seoul").values_list("id", flat=True))
    hours: Counter[int] = Counter()
    last_seen: dict[int, dt.datetime] = {}
    counts: Counter[int] = Counter()
    for user_id, ts in UserAction.objects.values_list("user_id", "action_timestamp"):
        if user_id in in_seoul:
            hours[ts.astimezone(seoul).hour] += 1
        last_seen[user_id] = max(ts, last_seen.get(user_id, ts))
        counts[user_id] += 1
    # then 19-23h local time sees several times more play than 3-7h
    evening = sum(hours[h] for h in range(19, 23))
    night = sum(hours[h] for h in range(3, 7))
    assert evening > 5 * night
    # and some active players stopped well before the end (churners)
    churned = [u for u, last in last_seen.items() if counts[u] >= 10 and last < END_AT - dt.timedelta(days=10)]
    assert churned


def test_hot_metrics_are_set_for_loaded_players():
    # given a generated data set
    generate(players=40)
    user_id, last = UserAction.objects.order_by("-action_timestamp").values_list("user_id", "action_timestamp")[0]
    # then the player's last-action time is in the hot store
    assert hot_store.get_many([key_last_action_ts(user_id)]) == {key_last_action_ts(user_id): int(last.timestamp())}


def test_an_end_in_the_future_is_refused():
    # when the window would end next year
    # then the command refuses: ingest would refuse such actions too
    with pytest.raises(CommandError, match="future"):
        call_command("generate_demo_data", players=5, end="2099-01-01", stdout=StringIO())


def test_start_id_places_the_players():
    # when players are generated from id 1000
    generate(players=10, start_id=1000)
    # then their ids run from 1000
    assert list(Player.objects.order_by("id").values_list("id", flat=True)) == list(range(1000, 1010))
