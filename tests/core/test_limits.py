"""Limits (issue 13, item 3): request bodies past REQUEST_BODY_MAX_BYTES get 413 before parsing, per-action metadata is
capped in size and depth, callers are throttled per player and per key (429 with Retry-After), and impressions are
bounded per player per day. Each refusal is a JSON error naming what is wrong, and writes nothing."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import orjson
import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from activity.models import UserAction
from activity.validation import MetadataLimits, metadata_problem, nesting_depth
from core.parsers import ORJSONParser, RequestTooLarge
from core.throttles import _FixedWindowThrottle
from corporate.models import SiteReward
from players.models import Player
from recommendations.impressions import ImpressionRow
from recommendations.models import RecommendationImpression
from recommendations.proposal_ids import proposal_id_new
from recommendations.services import impressions_record
from tests import factories
from tests.factories import action, game_play

pytestmark = pytest.mark.django_db

TEN_MB = 10 * 1024 * 1024


def ten_mb_batch() -> bytes:
    """A well-formed ingest batch of just over 10 MB: every action valid, only the whole too big."""
    item = game_play(user_id=7)
    padding = "x" * 1000
    items = [{**item, "event_id": f"big-{i}", "metadata": {**item["metadata"], "note": padding}} for i in range(10_000)]
    body = orjson.dumps({"actions": items})
    assert len(body) > TEN_MB
    return body


# --- request bodies ------------------------------------------------------------------------------------------------


def test_a_10_mb_ingest_body_is_413_json_and_nothing_is_written(service_client):
    # given a valid batch whose body is over 10 MB (the limit is 8 MB)
    body = ten_mb_batch()
    # when it is posted
    response = service_client.post("/api/actions", body, content_type="application/json")
    # then it is refused with a 413 JSON error naming the body, and nothing is written
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"] == "request_too_large"
    assert "body" in response.json()["fields"]
    assert UserAction.objects.count() == 0
    assert Player.objects.count() == 0


def test_a_body_past_the_limit_is_refused_before_authentication_or_parsing(settings):
    # given a small limit and a request with no credentials whose body is not even JSON
    settings.REQUEST_BODY_MAX_BYTES = 100
    # when it is posted
    response = Client().post("/api/actions", b"{" * 101, content_type="application/json")
    # then the size is what answers (413), not the missing credentials (401) nor the parse (400)
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


def test_a_10_mb_webhook_body_is_413_before_its_signature_is_checked():
    # given Company A's webhook and a signed body over 10 MB
    body = factories.webhook_body("token.earned", {"user_id": 5, "pad": "x" * TEN_MB})
    headers = factories.as_meta(factories.webhook_headers(body))
    # when it is delivered
    client: Any = APIClient()
    response = client.post("/api/corporate/webhook", data=body, content_type="application/json", **headers)
    # then it is refused with 413, and nothing is written
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"
    assert SiteReward.objects.count() == 0


def test_a_content_length_that_is_not_a_number_is_400(service_client):
    response = service_client.generic(
        "POST", "/api/actions", b"{}", content_type="application/json", CONTENT_LENGTH="lots"
    )
    assert response.status_code == 400
    assert "Content-Length" in response.json()["fields"]


def test_the_parser_reads_no_more_than_the_limit_from_a_stream_of_unknown_length(settings):
    # given a stream that holds 10 MB but declares nothing (a chunked upload, read straight from the socket)
    settings.REQUEST_BODY_MAX_BYTES = 1024
    stream = _CountingStream(b" " * TEN_MB)
    # when our JSON parser reads it
    with pytest.raises(RequestTooLarge):
        ORJSONParser().parse(stream)
    # then it stopped at the limit plus one byte, and refused
    assert stream.read_bytes == 1025


class _CountingStream(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.read_bytes = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk


# --- per-action metadata -------------------------------------------------------------------------------------------


def deep(levels: int) -> dict[str, Any]:
    """Metadata nesting objects ``levels`` deep (the metadata object itself is level 1)."""
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(levels - 1):
        value = {"inner": value}
    return value


def test_deep_metadata_is_400_naming_the_action_and_nothing_is_written(service_client):
    # given a batch whose fourth action's metadata nests 50 levels deep
    batch = [game_play(user_id=7) for _ in range(5)]
    batch[3]["metadata"] = {**batch[3]["metadata"], "extra": deep(50)}
    # when it is posted
    response = service_client.post("/api/actions", {"actions": batch}, format="json")
    # then it is refused naming actions[3].metadata, and nothing is written
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "actions[3].metadata": ["Must not nest objects and lists more than 5 levels deep."]
    }
    assert UserAction.objects.count() == 0


def test_big_metadata_is_400_naming_the_action(service_client):
    # given an action whose metadata is 5,000 bytes of JSON (the cap is 4,096)
    item = game_play(user_id=7)
    item["metadata"]["note"] = "y" * 5000
    # when it is posted
    response = service_client.post("/api/actions", {"actions": [action(user_id=8), item]}, format="json")
    # then it is refused naming actions[1].metadata and its size
    assert response.status_code == 400
    [(field, [problem])] = response.json()["fields"].items()
    assert field == "actions[1].metadata"
    assert problem.startswith("Must be at most 4096 bytes as JSON")
    assert UserAction.objects.count() == 0


def test_metadata_at_the_limits_is_accepted(service_client):
    # given metadata exactly 5 levels deep, with a list at the bottom
    item = game_play(user_id=7)
    item["metadata"]["extra"] = {"a": {"b": {"c": ["d"]}}}
    # when it is posted
    response = service_client.post("/api/actions", {"actions": [item]}, format="json")
    # then it is stored
    assert response.status_code == 200, response.content
    assert UserAction.objects.count() == 1


def test_the_limits_are_settings(settings, service_client):
    # given a depth of 2 allowed
    settings.ACTIONS_METADATA_MAX_DEPTH = 2
    item = game_play(user_id=7)
    item["metadata"]["extra"] = {"a": {"b": 1}}
    # when metadata three levels deep is posted, it is refused
    response = service_client.post("/api/actions", {"actions": [item]}, format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["actions[0].metadata"]


def test_depth_and_size_rules():
    limits = MetadataLimits(max_bytes=100, max_depth=3)
    assert nesting_depth({"a": 1}, 10) == 1
    assert nesting_depth({"a": [1, {"b": []}]}, 10) == 4
    assert nesting_depth(deep(1000), 3) == 4  # the walk stops past the limit
    assert metadata_problem({"a": "{[{[{[{["}, limits) is None  # brackets inside strings are no nesting
    assert metadata_problem(deep(4), limits) is not None
    assert metadata_problem({"a": "z" * 200}, limits) is not None


def test_import_applies_the_same_metadata_limits(tmp_path):
    # given a JSON-lines file whose second action's metadata is too deep
    good = game_play(user_id=7)
    bad = game_play(user_id=8)
    bad["metadata"]["extra"] = deep(20)
    path = tmp_path / "actions.jsonl"
    path.write_bytes(orjson.dumps(good) + b"\n" + orjson.dumps(bad) + b"\n")
    # when it is imported
    # then the command refuses it naming line 2's metadata, and nothing of the chunk is stored
    with pytest.raises(CommandError, match=r"line 2: metadata: Must not nest"):
        call_command("import_actions", str(path), "--format", "jsonl", stdout=io.StringIO(), stderr=io.StringIO())
    assert UserAction.objects.count() == 0


# --- throttles -----------------------------------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The throttles' clock stopped 30 s into a minute (no window ends during the test)."""
    monkeypatch.setattr(_FixedWindowThrottle, "timer", staticmethod(lambda: 60 * 16_667 + 30.0))


def test_a_player_past_their_rate_gets_429_with_retry_after(settings, player_client_factory, clock):
    # given a rate of 3 requests a minute per player, 30 s into a minute
    settings.THROTTLE_RATES = {"player": "3/min", "service": None}
    me, other = player_client_factory(31), player_client_factory(32)
    # when one player asks 4 times
    answers = [me.get("/api/me/protection") for _ in range(4)]
    # then the 4th is a 429 JSON error with Retry-After: the 30 s left of the minute; another player is not held
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.json()["error"] == "throttled"
    assert refused["Retry-After"] == "30"
    assert other.get("/api/me/protection").status_code == 200


def test_a_service_key_past_its_rate_gets_429_and_writes_nothing(settings, clock):
    # given a rate of 2 requests a minute per key, and two keys
    settings.THROTTLE_RATES = {"player": None, "service": "2/min"}
    clients = []
    for _ in range(2):
        _, key = factories.make_api_key()
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        clients.append(client)
    first, second = clients
    # when the first key posts 3 batches
    answers = [first.post("/api/actions", {"actions": [action(user_id=40 + i)]}, format="json") for i in range(3)]
    # then the 3rd is refused with 429 and Retry-After, and stores nothing; the other key is not held
    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[-1].has_header("Retry-After")
    assert UserAction.objects.filter(user_id=42).count() == 0
    assert second.post("/api/actions", {"actions": [action(user_id=50)]}, format="json").status_code == 200


def test_tests_are_not_throttled_by_default(settings, player_client_factory):
    assert settings.THROTTLE_RATES == {"player": None, "service": None}
    me = player_client_factory(33)
    assert all(me.get("/api/me/protection").status_code == 200 for _ in range(50))


# --- impressions per player per day --------------------------------------------------------------------------------


def impression_rows(n: int, player_id: int, served_at: dt.datetime) -> list[ImpressionRow]:
    return [
        ImpressionRow(proposal_id_new(player_id), player_id, "MID_STAKE", "token_balance", 0, None, None, {}, served_at)
        for _ in range(n)
    ]


def test_impressions_past_the_daily_bound_are_not_recorded(settings):
    # given a bound of 5 impressions per player per day, and 3 recorded today for player 61
    settings.RECOMMENDATION_IMPRESSIONS_PER_PLAYER_DAY = 5
    now = timezone.now()
    impressions_record(rows=impression_rows(3, 61, now))
    # when 4 more of player 61's and 4 of player 62's are written
    impressions_record(rows=impression_rows(4, 61, now) + impression_rows(4, 62, now))
    # then player 61 has 5 (2 more) and player 62 has 4
    assert RecommendationImpression.objects.filter(user_id=61).count() == 5
    assert RecommendationImpression.objects.filter(user_id=62).count() == 4


def test_the_bound_starts_again_on_the_next_business_day(settings):
    # given a bound of 2, reached on one business day (Asia/Seoul)
    settings.RECOMMENDATION_IMPRESSIONS_PER_PLAYER_DAY = 2
    day_one = dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC)  # 23:00 in Seoul
    impressions_record(rows=impression_rows(3, 63, day_one))
    # when impressions are served an hour later (00:00 the next day in Seoul)
    impressions_record(rows=impression_rows(3, 63, day_one + dt.timedelta(hours=1)))
    # then 2 are recorded on each day
    assert RecommendationImpression.objects.filter(user_id=63).count() == 4


def test_the_bound_applies_to_served_recommendations(settings, player_client_factory):
    # given a bound of 4 impressions a day
    settings.RECOMMENDATION_IMPRESSIONS_PER_PLAYER_DAY = 4
    factories.make_player(id=64)
    client = player_client_factory(64)
    # when the player asks for recommendations 5 times
    served = sum(len(client.get("/api/me/recommendations").json()["proposals"]) for _ in range(5))
    # then every answer is served, but at most 4 impressions are recorded
    assert served > 4
    assert RecommendationImpression.objects.filter(user_id=64).count() == 4


def test_a_new_window_lets_the_player_in_again(settings, player_client_factory, monkeypatch):
    # given a player held back at the end of a minute
    settings.THROTTLE_RATES = {"player": "1/min", "service": None}
    now = [60 * 16_667 + 59.5]
    monkeypatch.setattr(_FixedWindowThrottle, "timer", staticmethod(lambda: now[0]))
    me = player_client_factory(34)
    assert me.get("/api/me/protection").status_code == 200
    held = me.get("/api/me/protection")
    assert held.status_code == 429 and held["Retry-After"] == "1"
    # when the next minute begins
    now[0] += 1.0
    # then they are let in again
    assert me.get("/api/me/protection").status_code == 200
