"""A player who is not a verified adult never sees an adult content field in any API answer, push or proposal
(issue 15). The same setup for a verified adult does show the content, so the check is not vacuous."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from content.models import AdultContent
from corporate.services import corporate_token_earned
from notifications.models import Notification
from recommendations.models import RecommendationImpression
from tests.content import helpers as h

pytestmark = pytest.mark.django_db

ADULT, SELF_DECLARED, MINOR, UNKNOWN_BIRTH = 8501, 8502, 8503, 8504

# Every adult content field: the catalog's own texts and URLs, and the keys and types that carry them.
SECRETS = ("Velvet Room", "velvet description", "velvet-thumb.jpg", "velvet-media.mp4")
FIELD_NAMES = ("media_url", "thumbnail_url", "content_id", "CONTENT_STAGE", "content_next_stage", "stage_name")


@pytest.fixture
def catalog() -> None:
    h.stage(
        1,
        200,
        name="Velvet Room",
        description="velvet description",
        thumbnail_url="https://cdn.example.com/velvet-thumb.jpg",
        media_url="https://cdn.example.com/velvet-media.mp4",
    )


def player_with_tokens(player_id: int, **fields: Any) -> None:
    """A player with tokens from Company A (the push included), enough for the stage, and a segment."""
    h.player(player_id, **fields)
    corporate_token_earned(
        webhook_id=f"msg_minor_{player_id}",
        player_id=player_id,
        earned_tokens=500,
        reward_type="MISSION_COMPLETE",
        issued_at=timezone.now() - dt.timedelta(minutes=1),
    )
    h.segment(player_id, "Whale")


def everything_said_to(player_id: int, player_client_factory: Any, service_client: Any) -> str:
    """Every answer of every endpoint that speaks of or to the player (an unlock tried after the recommendations), every
    push they got, every proposal served to them."""
    me = player_client_factory(player_id)
    stage_id = AdultContent.objects.get(stage=1).id
    answers = [
        me.get("/api/me/recommendations"),
        service_client.get(f"/api/users/{player_id}/recommendations"),
        me.get("/api/me/content"),
        me.post(f"/api/me/content/{stage_id}/unlock", {"idempotency_key": "try"}, format="json"),
        me.get("/api/me/notifications"),
        me.get("/api/me/wallet"),
        me.get("/api/me/protection"),
        service_client.get(f"/api/users/{player_id}/wallet"),
        service_client.get(f"/api/users/{player_id}/segment"),
    ]
    texts = [r.content.decode() for r in answers]
    texts += [f"{n.message} {n.payload}" for n in Notification.objects.filter(user_id=player_id)]
    texts += [f"{i.proposal_type} {i.reason}" for i in RecommendationImpression.objects.filter(user_id=player_id)]
    return "\n".join(texts)


@pytest.mark.parametrize(
    ("player_id", "fields"),
    [
        (SELF_DECLARED, {"verified": False}),  # an adult birth date the player typed in
        (MINOR, {"born": "minor"}),  # verified, 18 years and 364 days old
        (UNKNOWN_BIRTH, {"born": None}),
    ],
    ids=["self-declared adult", "verified minor", "no birth date"],
)
def test_a_player_who_is_not_a_verified_adult_never_sees_an_adult_content_field(
    catalog, player_id, fields, player_client_factory, service_client
):
    # given a player who is not a verified adult, with tokens enough for the stage and a Whale segment
    if fields.get("born") == "minor":
        fields = {"born": h.born_turning_19_in(1)}
    player_with_tokens(player_id, **fields)
    # when every endpoint that speaks of or to them is asked, and a recommendation is served (the test settings write
    # the impressions at once)
    said = everything_said_to(player_id, player_client_factory, service_client)
    # then no answer, push or proposal carries any adult content field
    for secret in (*SECRETS, *FIELD_NAMES):
        assert secret not in said, secret


def test_the_same_checks_find_the_content_said_to_a_verified_adult(catalog, player_client_factory, service_client):
    # given a verified adult in the same situation
    player_with_tokens(ADULT)
    # when the same endpoints are asked
    said = everything_said_to(ADULT, player_client_factory, service_client)
    # then the content is there, in the answers and in the recorded proposal: the check above would see it
    assert "Velvet Room" in said and "velvet-media.mp4" in said and "CONTENT_STAGE" in said
    assert RecommendationImpression.objects.filter(user_id=ADULT, proposal_type="CONTENT_STAGE").exists()
