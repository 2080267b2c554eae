"""The recommendation API (design brief section 5): the spec's example end to end, who may read whose
recommendation, the answer's shape against its documented serializer, and the hot path's cost."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from recommendations.models import RecommendationImpression
from recommendations.selectors import business_month_start
from recommendations.serializers import ProposalOutput, RecommendationOutput, UsageWindowOutput
from tests import factories
from tests.recommendations import helpers as h
from tests.recommendations.helpers import written_by

pytestmark = pytest.mark.django_db

PID = 5200
OTHER = 5201


def spec_example_player(player_id: int = PID) -> None:
    """Spec 2.3.4's example: High Engaged, Low-Risk, 250 tokens (150 of them from Company A this month), last
    Company A visit 2 days ago."""
    now = timezone.now()
    month_start = business_month_start(now)
    h.player(player_id)
    h.segment(player_id, "High Engaged", "Low-Risk")
    h.fund(player_id, 100)
    h.corporate_earn(player_id, 150, at=month_start + (now - month_start) / 2)
    h.visit(player_id, now - dt.timedelta(days=2))


def test_the_spec_example_end_to_end(player_client_factory):
    # given the spec's example player
    spec_example_player()
    # when they ask for their recommendation
    response = player_client_factory(PID).get("/api/me/recommendations")
    # then the answer is the spec's, message for message, with ids and reasons added
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["user_id"] == PID
    assert answer["recommended_game"] == "SlotMachine"
    assert [
        {k: v for k, v in p.items() if k in {"type", "message", "game", "action"}} for p in answer["proposals"]
    ] == h.SPEC_EXAMPLE["proposals"]
    assert [p["reason"] for p in answer["proposals"]] == [
        {"rule": "token_balance", "token_balance": 250},
        {"rule": "risk_profile", "risk_profile": "Low-Risk"},
        {"rule": "corporate_tokens_month", "corporate_tokens_month": 150, "days_since_visit": 2},
    ]
    assert all(uuid.UUID(p["id"]).version == 8 for p in answer["proposals"])
    assert answer["usage_window"]["timezone"] == "Asia/Seoul"
    assert answer["suppressed"] == []


def test_each_served_proposal_is_recorded_as_an_impression(player_client_factory):
    # given the spec's example player
    spec_example_player()
    # when they ask for their recommendation (tests write impressions at once)
    answer = player_client_factory(PID).get("/api/me/recommendations").json()
    # then each proposal is recorded under its id, with its type, rule and place, not clicked
    rows = {str(r.proposal_id): r for r in RecommendationImpression.objects.filter(user_id=PID)}
    assert set(rows) == {p["id"] for p in answer["proposals"]}
    for position, p in enumerate(answer["proposals"]):
        row = rows[p["id"]]
        assert (row.proposal_type, row.rule, row.position, row.clicked_at) == (
            p["type"],
            p["reason"]["rule"],
            position,
            None,
        )
    assert rows[answer["proposals"][0]["id"]].reason == {"rule": "token_balance", "token_balance": 250}


def test_the_answer_has_exactly_the_documented_fields(player_client_factory):
    # given a player whose answer holds a play proposal, a mission and a suppressed proposal
    h.player(PID)
    h.segment(PID, "Whale", "High-Risk")
    h.fund(PID, 800)
    h.harm_marker(PID, "LOSS_CHASING", timezone.now())
    # when they ask for their recommendation
    answer = player_client_factory(PID).get("/api/me/recommendations").json()
    # then every key is one the OpenAPI serializer names, and every required one is there
    assert set(answer) == set(RecommendationOutput().fields)
    proposal_fields = set(ProposalOutput().fields)
    required = {name for name, f in ProposalOutput().fields.items() if f.required}
    for p in answer["proposals"]:
        assert required <= set(p) <= proposal_fields
    assert set(answer["usage_window"]) == set(UsageWindowOutput().fields)
    assert [s["type"] for s in answer["suppressed"]] == ["HIGH_STAKE", "RISKY_PLAY"]
    assert answer["proposals"][0]["type"] == "LIMIT_SUGGESTION"


def test_a_verified_adult_gets_the_next_content_stage_with_its_documented_fields(player_client_factory):
    # given a verified adult with 300 tokens and stage 1 priced 280
    from players.services import age_verification_record
    from tests.content.helpers import stage

    h.player(PID, locale="en")
    age_verification_record(
        player_id=PID,
        birth_date=dt.date(1990, 5, 17),
        verified_at=timezone.now() - dt.timedelta(days=1),
        provider="PASS",
        reference="rec-api",
    )
    h.fund(PID, 300)
    item = stage(1, 280, name="Night Walk")
    # when they ask for their recommendation
    answer = player_client_factory(PID).get("/api/me/recommendations").json()
    # then the content proposal names the stage, its price and the balance, facts only, with the stage to open
    proposal = next(p for p in answer["proposals"] if p["type"] == "CONTENT_STAGE")
    assert set(proposal) <= set(ProposalOutput().fields)
    assert (proposal["action"], proposal["content_id"]) == ("OPEN_CONTENT", item.id)
    assert proposal["message"] == "Stage 1, 'Night Walk', unlocks for 280 tokens. Your balance is 300 tokens"
    assert proposal["reason"] == {
        "rule": "content_next_stage",
        "verified_adult": True,
        "content_id": item.id,
        "stage": 1,
        "price": 280,
        "token_balance": 300,
        "segment_level": 0,
        "required_segment_level": 0,
    }


def test_a_player_reads_only_their_own_recommendation(player_client_factory):
    # given two players
    spec_example_player(PID)
    h.player(OTHER)
    # when the other player asks for their own and for the first player's
    mine = player_client_factory(OTHER).get("/api/me/recommendations")
    theirs = player_client_factory(OTHER).get(f"/api/users/{PID}/recommendations")
    # then they get their own and are refused the other's
    assert mine.status_code == 200
    assert mine.json()["user_id"] == OTHER
    assert theirs.status_code == 403
    assert theirs.json()["error"] == "permission_denied"


def test_service_and_staff_read_any_players_recommendation(service_client):
    # given the example player and a staff member logged in
    spec_example_player()
    staff = APIClient()
    staff.force_login(factories.make_staff_user())
    # when a service and the staff member ask for the player's recommendation
    by_service = service_client.get(f"/api/users/{PID}/recommendations")
    by_staff = staff.get(f"/api/users/{PID}/recommendations")
    # then both get it
    assert by_service.status_code == by_staff.status_code == 200
    assert by_service.json()["recommended_game"] == by_staff.json()["recommended_game"] == "SlotMachine"
    assert by_service.json()["user_id"] == PID


def test_callers_without_the_right_credential_are_refused(api_client, service_client):
    # given the example player
    spec_example_player()
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
    # when an anonymous caller, a bad token and a service (on the player's endpoint) ask
    # then: 401, 401, 403, each in the error envelope
    assert api_client.get("/api/me/recommendations").status_code == 401
    assert api_client.get(f"/api/users/{PID}/recommendations").status_code == 401
    assert bad_token.get("/api/me/recommendations").status_code == 401
    refused = service_client.get("/api/me/recommendations")
    assert refused.status_code == 403
    assert set(refused.json()) >= {"error", "message"}


def test_an_id_past_the_bigint_range_is_404(service_client):
    # given an id no player can have
    # when a service asks for its recommendation
    response = service_client.get(f"/api/users/{2**63}/recommendations")
    # then 404 in the error envelope
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_a_player_without_a_row_yet_gets_a_new_players_recommendation(player_client_factory):
    # given a valid token for an id never seen before
    # when they ask for their recommendation
    response = player_client_factory(PID).get("/api/me/recommendations")
    # then they get the new player's answer (Quiz, earn more, engage Company A, the quiz mission)
    assert response.status_code == 200
    answer = response.json()
    assert answer["recommended_game"] == "Quiz"
    assert [p["type"] for p in answer["proposals"]] == ["EARN_MORE", "CORPORATE_ENGAGE", "QUIZ_MISSION"]


def test_the_hot_path_is_one_query_and_the_impressions_one_insert_later(
    player_client_factory, production_impression_buffer
):
    # given the example player, 20 of their requests' impressions going into a production-style buffer
    spec_example_player()
    buffer = production_impression_buffer
    client = player_client_factory(PID)
    client.get("/api/me/recommendations")  # the process's first request loads the message templates
    # when they ask 20 times
    with CaptureQueriesContext(connection) as during:
        answers = [client.get("/api/me/recommendations") for _ in range(20)]
    with CaptureQueriesContext(connection) as flush:
        written = buffer.flush()
    buffer.stop()
    # then each request made one query, and the 63 impressions were written by one INSERT (after one SELECT: the
    # count against the player's daily bound)
    assert all(a.status_code == 200 for a in answers)
    assert len(during.captured_queries) == 20
    assert written == 63
    assert written_by(flush) == ["SELECT", "INSERT"]
    assert RecommendationImpression.objects.filter(user_id=PID).count() == 63


def test_the_hot_path_is_one_redis_round_trip(player_client_factory, redis_round_trips, production_impression_buffer):
    # given the example player and a buffer that writes later
    spec_example_player()
    buffer = production_impression_buffer
    client = player_client_factory(PID)
    client.get("/api/me/recommendations")
    before = redis_round_trips()
    # when they ask once
    response = client.get("/api/me/recommendations")
    # then Redis was asked once
    assert response.status_code == 200
    assert redis_round_trips() - before == 1
    buffer.flush()
    buffer.stop()


def test_the_bare_bench_view_is_not_routed_by_default(api_client):
    # given the default settings (BENCH_ENDPOINTS off)
    # when anyone asks for the bench-only view
    response = api_client.get("/api/bench/bare")
    # then it does not exist
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("path", "method", "security"),
    [
        ("/api/me/recommendations", "get", [{"PlayerJWT": []}]),
        ("/api/users/{user_id}/recommendations", "get", [{"ApiKey": []}, {"cookieAuth": []}]),
        ("/api/recommendations/{proposal_id}/click", "post", [{"PlayerJWT": []}]),
    ],
)
def test_the_endpoints_are_documented_with_their_callers_scheme_and_output(path, method, security):
    # given the OpenAPI document
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    # when a recommendation endpoint is read
    operation = schema["paths"][path][method]
    # then it is secured by exactly its callers' schemes and answers a documented object; the bench view is absent
    assert sorted(operation["security"], key=str) == sorted(security, key=str)
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert schema["components"]["schemas"][ref]["properties"]
    assert not any("bench" in p for p in schema["paths"])


def test_an_expired_token_is_answered_by_drf_with_401(api_client):
    # given a player's token that has expired
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {factories.player_token(PID, ttl_seconds=-10)}")
    # when it is used
    response = client.get("/api/me/recommendations")
    # then the fast path leaves it to DRF: 401 in the error envelope, naming the expiry
    assert response.status_code == 401
    assert response.json()["message"] == "Token has expired."
