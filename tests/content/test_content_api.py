"""GET /api/me/content: every active stage with its state, its price and what is missing; nothing about the content
for a player who is not a verified adult; ``media_url`` only for an unlocked stage."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from players.services import protection_update
from tests.content import helpers as h

pytestmark = pytest.mark.django_db

PID = 8200
URL = "/api/me/content"


@pytest.fixture
def me(player_client_factory):
    return player_client_factory(PID)


def unlock(client: Any, content_id: int, key: str) -> Any:
    return client.post(f"/api/me/content/{content_id}/unlock", {"idempotency_key": key}, format="json")


def test_each_stage_says_whether_it_is_unlocked_and_what_is_missing(me):
    # given a Medium player (level 1) with 250 tokens, stage 1 unlocked, and stages 2 (250), 3 (400, level 2) and a
    # withdrawn stage
    h.player(PID)
    h.segment(PID, "Medium")
    h.give(PID, 350)
    one, two, three = h.stage(1, 100), h.stage(2, 250), h.stage(3, 400, level=2)
    h.stage(4, 10, active=False)
    assert unlock(me, one.id, "u1").status_code == 201
    # when they read their content
    response = me.get(URL)
    # then the active stages come in order, each with its state and price
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["user_id"], body["balance"], body["segment_level"]) == (PID, 250, 1)
    stages = {s["stage"]: s for s in body["stages"]}
    assert list(stages) == [1, 2, 3]
    # and stage 1 is unlocked with its media; the others have no media and say what is missing
    assert stages[1]["unlocked"] is True and stages[1]["media_url"] == one.media_url and stages[1]["missing"] == {}
    assert stages[2]["unlocked"] is False and "media_url" not in stages[2]
    assert stages[2]["missing"] == {}  # the previous stage is unlocked and 250 tokens cover it: nothing missing
    assert "media_url" not in stages[3]
    assert stages[3]["missing"] == {
        "previous_stage": {"id": two.id, "stage": 2},
        "segment_level": {"required": 2, "current": 1},
        "balance": {"price": 400, "balance": 250, "short": 150},
    }
    assert (stages[3]["price"], stages[3]["name"], stages[3]["thumbnail_url"]) == (400, three.name, three.thumbnail_url)


def test_the_players_own_safeguards_are_named_as_missing(me):
    # given an adult with tokens, two stages and a daily limit that leaves 150
    h.player(PID)
    h.give(PID, 1_000)
    h.stage(1, 100)
    h.stage(2, 200)
    now = timezone.now()
    protection_update(player_id=PID, changes={"daily_spend_limit": 150}, now=now)
    # when they read their content
    stages = {s["stage"]: s for s in me.get(URL).json()["stages"]}
    # then the stage the limit still allows lacks nothing; the other names the limit and what it leaves
    assert stages[1]["missing"] == {}
    assert stages[2]["missing"]["protection"] == {"rule": "daily_spend_limit", "limit": 150, "left": 150}
    # and during a cool-off every locked stage names it
    protection_update(player_id=PID, changes={"cool_off_until": now + dt.timedelta(days=2)}, now=now)
    stages = {s["stage"]: s for s in me.get(URL).json()["stages"]}
    assert stages[1]["missing"]["protection"]["rule"] == "cool_off"


def test_an_unlocked_stage_that_was_withdrawn_stays_the_players(me):
    # given a stage the player unlocked, then withdrawn by staff
    h.player(PID)
    h.give(PID, 500)
    item = h.stage(1, 100)
    unlock(me, item.id, "u")
    item.is_active = False
    item.save()
    # when they read their content
    stages = me.get(URL).json()["stages"]
    # then it is still there, unlocked, with its media, marked as no longer offered
    assert [(s["id"], s["active"], s["unlocked"], s["media_url"]) for s in stages] == [
        (item.id, False, True, item.media_url)
    ]


@pytest.mark.parametrize(
    ("born", "verified", "code"),
    [
        (None, False, "age_verification_required"),
        (h.ADULT_BIRTH, False, "age_verification_required"),  # a birth date the player typed in
        ("minor", True, "under_age"),
    ],
    ids=["no birth date", "self-declared adult", "verified minor"],
)
def test_a_player_who_is_not_a_verified_adult_is_told_only_that(me, born, verified, code):
    # given stages in the catalog and a player who is not a verified adult
    item = h.stage(1, 100)
    h.player(PID, born=h.born_turning_19_in(1) if born == "minor" else born, verified=verified)
    # when they read their content
    response = me.get(URL)
    # then 403 with the reason and nothing about the stages
    assert response.status_code == 403
    body = response.json()
    assert set(body) == {"error", "message"} and body["error"] == code
    text = response.content.decode()
    for secret in (item.name, item.description, item.thumbnail_url, item.media_url, "stage", "price"):
        assert secret not in text


def test_a_player_never_seen_is_told_verification_is_needed(me):
    # given no players row for the caller
    h.stage(1, 100)
    # when they read their content
    response = me.get(URL)
    # then verification is needed
    assert response.status_code == 403
    assert response.json()["error"] == "age_verification_required"
