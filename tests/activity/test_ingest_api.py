from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from activity.models import UserAction
from players.models import Player
from tests.factories import action, game_play, make_player

pytestmark = pytest.mark.django_db


def test_batch_is_stored_and_replays_count_as_duplicates(service_client):
    # given a batch of three actions
    batch = [action(user_id=7), game_play(user_id=7), action(user_id=8, action_type="VIEW_CONTENT", content_id=3)]
    # when it is posted twice
    first = service_client.post("/api/actions", {"actions": batch}, format="json")
    second = service_client.post("/api/actions", {"actions": batch}, format="json")
    # then the first stores all three and the replay stores none
    assert first.status_code == 200, first.content
    assert first.json() == {"stored": 3, "duplicates": 0}
    assert second.json() == {"stored": 0, "duplicates": 3}
    assert UserAction.objects.count() == 3


# --- all-or-nothing ------------------------------------------------------------------------------


def test_one_bad_item_among_many_rejects_the_whole_batch(service_client):
    # given 200 valid actions of 200 new players and one bad action at index 137
    batch = [game_play(user_id=20_000 + i) for i in range(200)]
    batch.insert(137, game_play(user_id=30_000, bet=-5))
    # when the batch is posted
    response = service_client.post("/api/actions", {"actions": batch}, format="json")
    # then it is refused naming only the bad item, and nothing at all is written
    assert response.status_code == 400
    body = response.json()
    assert body["fields"] == {"actions[137].metadata.bet": ["Must be an integer from 0 to 9007199254740992."]}
    assert body["message"] == "1 of 201 actions are invalid; none was stored."
    assert UserAction.objects.count() == 0
    assert Player.objects.count() == 0


def test_every_bad_item_of_a_batch_is_named(service_client):
    # given a batch with bad items at indexes 0, 2 and 3
    batch = [action(user_id=0), action(), game_play(result="draw"), action(action_type="NOPE")]
    # when it is posted
    response = service_client.post("/api/actions", {"actions": batch}, format="json")
    # then each bad item is named with its index and field
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {
        "actions[0].user_id",
        "actions[2].metadata.result",
        "actions[3].action_type",
    }
    assert UserAction.objects.count() == 0


# --- duplicates ----------------------------------------------------------------------------------


def test_duplicate_event_ids_within_one_batch_store_the_first(service_client):
    # given a batch where the same event_id appears twice with different content
    batch = [
        action(event_id="dup", user_id=5, note="first"),
        action(event_id="dup", user_id=5, note="second"),
        action(event_id="other", user_id=5),
    ]
    # when it is posted
    response = service_client.post("/api/actions", {"actions": batch}, format="json")
    # then the first occurrence is stored and the second counted as a duplicate
    assert response.json() == {"stored": 2, "duplicates": 1}
    assert UserAction.objects.get(event_id="dup").metadata == {"note": "first"}
    assert UserAction.objects.count() == 2


def test_duplicates_across_batches_keep_the_stored_row(service_client):
    # given a stored batch [a, b]
    a, b = action(event_id="a", user_id=5), action(event_id="b", user_id=5, note="original")
    service_client.post("/api/actions", {"actions": [a, b]}, format="json")
    # when a second batch [b (changed), c] is posted
    changed_b = {**b, "metadata": {"note": "changed"}}
    response = service_client.post(
        "/api/actions", {"actions": [changed_b, action(event_id="c", user_id=5)]}, format="json"
    )
    # then only c is stored, b counts as a duplicate and keeps its first content
    assert response.json() == {"stored": 1, "duplicates": 1}
    assert sorted(UserAction.objects.values_list("event_id", flat=True)) == ["a", "b", "c"]
    assert UserAction.objects.get(event_id="b").metadata == {"note": "original"}


# --- batch size and body shape -------------------------------------------------------------------


def test_batch_of_5000_is_accepted(service_client):
    # given a batch of exactly the limit, 5,000 actions
    batch = [action(user_id=1 + i % 250, event_id=f"max-{i}") for i in range(5000)]
    # when it is posted
    response = service_client.post("/api/actions", {"actions": batch}, format="json")
    # then all are stored
    assert response.status_code == 200, response.content[:500]
    assert response.json() == {"stored": 5000, "duplicates": 0}
    assert UserAction.objects.count() == 5000


def test_batch_of_5001_is_refused(service_client):
    # given a batch one over the limit
    batch = [action(event_id=f"over-{i}") for i in range(5001)]
    # when it is posted
    response = service_client.post("/api/actions", {"actions": batch}, format="json")
    # then it is refused on "actions", stating the limit, and nothing is stored
    assert response.status_code == 400
    assert response.json()["fields"] == {"actions": ["Required: a list of 1 to 5000 actions."]}
    assert UserAction.objects.count() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"actions": []},
        {},
        {"events": [action()]},
        {"actions": None},
        {"actions": "a, b"},
        {"actions": {"0": action()}},
        [action()],
        "actions",
    ],
)
def test_body_without_a_list_of_actions_is_refused(service_client, body):
    # given a JSON body that does not hold a non-empty "actions" list
    # when it is posted
    response = service_client.post("/api/actions", body, format="json")
    # then the answer is 400 naming "actions"
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert list(response.json()["fields"]) == ["actions"]


def test_malformed_json_is_a_400_with_a_json_body(service_client):
    # given a body that is not JSON
    # when it is posted as application/json
    response = service_client.post("/api/actions", data=b'{"actions": [', content_type="application/json")
    # then the answer is 400 with a JSON error body naming the body
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["error"] == "parse_error"
    assert "body" in body["fields"]


def test_non_json_content_type_is_a_415_with_a_json_body(service_client):
    # given a form-encoded body
    # when it is posted
    response = service_client.post("/api/actions", data="actions=1", content_type="application/x-www-form-urlencoded")
    # then the answer is 415 with a JSON error body
    assert response.status_code == 415
    assert response.json()["error"] == "unsupported_media_type"


# --- players and the response --------------------------------------------------------------------


def test_players_are_created_on_first_sight_with_signup_at_their_earliest_action(service_client, settings):
    # given a batch for two unseen players, out of time order
    batch = [
        action(user_id=71, at="2026-11-20T10:00:00+00:00"),
        action(user_id=71, at="2026-11-19T23:30:00+09:00"),  # 14:30 UTC on the 19th: the earliest
        action(user_id=72, at="2026-11-20T08:00:00+00:00"),
    ]
    # when it is posted
    service_client.post("/api/actions", {"actions": batch}, format="json")
    # then each player exists with signup_at its earliest action, and the defaults
    p71, p72 = Player.objects.get(id=71), Player.objects.get(id=72)
    assert p71.signup_at == dt.datetime(2026, 11, 19, 14, 30, tzinfo=dt.UTC)
    assert p72.signup_at == dt.datetime(2026, 11, 20, 8, tzinfo=dt.UTC)
    assert (p71.locale, p71.timezone, p71.age_verified) == ("ko", settings.BUSINESS_TIMEZONE, False)


def test_known_players_are_left_as_they_are(service_client):
    # given a player already known, with an English locale
    player = make_player(id=73, locale="en", signup_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    # when a batch of theirs is posted
    service_client.post("/api/actions", {"actions": [action(user_id=73)]}, format="json")
    # then the player row is unchanged
    again = Player.objects.get(id=73)
    assert (again.locale, again.signup_at) == (player.locale, player.signup_at)


def test_stored_rows_hold_what_was_sent_in_utc(service_client):
    # given an action with an offset timestamp and extra metadata
    sent = game_play(event_id="row-1", user_id=74, at="2026-11-20T21:15:00+09:00", result="loss", bet=30, lucky=7)
    # when it is posted
    response = service_client.post("/api/actions", {"actions": [sent]}, format="json")
    # then the answer counts it and the row holds the values, its time in UTC
    assert response.status_code == 200
    assert response.json() == {"stored": 1, "duplicates": 0}
    row = UserAction.objects.get(event_id="row-1")
    assert (row.user_id, row.action_type) == (74, "GAME_PLAY")
    assert row.action_timestamp == dt.datetime(2026, 11, 20, 12, 15, tzinfo=dt.UTC)
    assert row.metadata == {"game": "SlotMachine", "bet": 30, "payout": 0, "result": "loss", "lucky": 7}


# --- cost: one statement per table, whatever the batch size ---------------------------------------


def _queries_for(client, n: int, tag: str) -> int:
    batch = [game_play(user_id=40_000 + i, event_id=f"{tag}-{i}") for i in range(n)]
    with CaptureQueriesContext(connection) as ctx:
        response = client.post("/api/actions", {"actions": batch}, format="json")
    assert response.json() == {"stored": n, "duplicates": 0}
    return len(ctx.captured_queries)


def test_ingest_does_not_insert_row_by_row(service_client):
    # given batches of 10 and of 1,000 actions, each from as many new players
    # when each is posted
    small = _queries_for(service_client, 10, "small")
    large = _queries_for(service_client, 1000, "large")
    # then the SQL statements are few: on PostgreSQL the same count for both (one INSERT per table);
    # SQLite chunks its multi-row INSERTs by its parameter limit, still far from one per row
    if connection.vendor == "postgresql":
        assert large == small
        assert large <= 6
    else:
        assert large <= 20
