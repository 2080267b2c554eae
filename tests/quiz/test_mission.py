"""The profile quiz mission (COMPLETE_PROFILE_QUIZ): a version's first submission pays the amount the recommender's
QUIZ_MISSION message states, once, through the wallet (ledger row, Redis' copy, user_rewards row, push in the
player's locale); and the player's next recommendation sees the profile."""

from __future__ import annotations

import pytest
from django.test import override_settings

from recommendations.services import recommendation_serve
from tests.factories import make_player
from tests.missions import assert_paid_once, mission_paid
from tests.quiz import helpers as h

pytestmark = pytest.mark.django_db

PID = 8600
URL = "/api/quiz/submit"


def recommendation_of(client):
    response = client.get("/api/me/recommendations")
    assert response.status_code == 200, response.content
    return response.json()


def test_the_quiz_missions_stated_amount_is_paid_once_in_the_players_locale(
    player_client_factory, django_capture_on_commit_callbacks
):
    # given a Korean player whose recommendation proposes the quiz mission with its reward
    make_player(id=PID, locale="ko")
    me = player_client_factory(PID)
    mission = next(p for p in recommendation_of(me)["proposals"] if p["type"] == "QUIZ_MISSION")
    stated = mission["reward_tokens"]
    assert f"{stated} 토큰" in mission["message"]
    # when they submit the quiz (after-commit work run, as in a real request)
    with django_capture_on_commit_callbacks(execute=True):
        response = me.post(URL, {"answers": h.answers(0)}, format="json")
    # then the stated amount is paid: ledger row, user_rewards row with the grant's action, Korean push, Redis' copy
    assert response.json()["reward"] == {"mission": "COMPLETE_PROFILE_QUIZ", "tokens": stated}
    assert_paid_once(
        PID,
        "COMPLETE_PROFILE_QUIZ",
        stated,
        message=f"프로필 퀴즈 완료! 보상으로 {stated} 사이버 토큰이 지급되었습니다.",
    )
    grant = mission_paid(PID, "COMPLETE_PROFILE_QUIZ").grants[0]
    assert grant.idempotency_key == f"mission:COMPLETE_PROFILE_QUIZ:{PID}:v1"
    # and the next recommendation has no quiz mission and follows the profile
    after = recommendation_of(me)
    assert "QUIZ_MISSION" not in [p["type"] for p in after["proposals"]]


@override_settings(
    MISSION_REWARDS={"VISIT_CORPORATE_SITE": 100, "COMPLETE_CORPORATE_QUIZ": 200, "COMPLETE_PROFILE_QUIZ": 75}
)
def test_an_operators_reward_is_what_the_message_states_and_what_is_paid(player_client_factory):
    make_player(id=PID, locale="en")
    me = player_client_factory(PID)
    mission = next(p for p in recommendation_of(me)["proposals"] if p["type"] == "QUIZ_MISSION")
    assert mission["reward_tokens"] == 75 and "75 tokens" in mission["message"]
    assert me.post(URL, {"answers": h.answers(0)}, format="json").json()["reward"]["tokens"] == 75
    paid = mission_paid(PID, "COMPLETE_PROFILE_QUIZ")
    assert paid.counts == (1, 1, 1) and paid.grants[0].amount == 75
    assert paid.pushes[0].message == "Profile quiz complete: 75 cyber tokens have been added to your balance."


def test_a_high_risk_profile_is_seen_by_the_next_recommendation(player_client_factory):
    make_player(id=PID)
    me = player_client_factory(PID)
    assert "RISKY_PLAY" not in [p["type"] for p in recommendation_of(me)["proposals"]]
    me.post(URL, {"answers": h.answers(4)}, format="json")
    served = recommendation_serve(player_id=PID)
    assert "RISKY_PLAY" in served.recommendation.types and "QUIZ_MISSION" not in served.recommendation.types


def test_a_low_risk_profile_brings_the_safe_play_proposal(player_client_factory):
    make_player(id=PID)
    me = player_client_factory(PID)
    me.post(URL, {"answers": h.answers(-4)}, format="json")
    types = [p["type"] for p in recommendation_of(me)["proposals"]]
    assert "SAFE_PLAY" in types and "RISKY_PLAY" not in types
