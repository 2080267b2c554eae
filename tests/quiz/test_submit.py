"""POST /api/quiz/submit (spec 2.4.2): the spec's body and answer, every edge of the scoring through the real
endpoint, each bad input a 400 naming the field and writing nothing, the player's own id only, the retake rule."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from activity.models import UserAction
from quiz.errors import RetakeNotAllowed
from quiz.models import QuizSubmission, QuizVersion
from quiz.services import quiz_submit
from segments.services import UserService
from tests.factories import make_player
from tests.quiz import helpers as h

pytestmark = pytest.mark.django_db

PID = 8400
URL = "/api/quiz/submit"


@pytest.fixture
def me(player_client_factory):
    make_player(id=PID)
    return player_client_factory(PID)


def submit(client, answers, **body):
    return client.post(URL, {**body, "answers": answers}, format="json")


def test_the_specs_body_answers_status_ok_and_the_risk_profile(me):
    # given the spec's body, user_id included
    response = submit(me, h.answers(3), user_id=PID)
    # then 200 with the spec's two fields and the rest of the contract
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["risk_profile"], body["risk_score"], body["user_id"]) == ("ok", "High-Risk", 3, PID)
    assert (body["reward_sensitivity"], body["token_preference"], body["version"]) == (33, "balanced", 1)
    assert body["submitted_at"] and body["next_allowed_at"]
    assert body["reward"] == {"mission": "COMPLETE_PROFILE_QUIZ", "tokens": 200}


@pytest.mark.parametrize(
    ("score", "profile"),
    [
        (4, "High-Risk"),
        (3, "High-Risk"),
        (2, "High-Risk"),
        (1, "Moderate-Risk"),
        (0, "Moderate-Risk"),
        (-1, "Moderate-Risk"),
        (-2, "Low-Risk"),
        (-3, "Low-Risk"),
        (-4, "Low-Risk"),
    ],
)
def test_every_risk_score_of_the_default_quiz_gives_the_specs_profile_and_it_reaches_the_segment(me, score, profile):
    response = submit(me, h.answers(score))
    assert response.status_code == 200, response.content
    assert (response.json()["risk_score"], response.json()["risk_profile"]) == (score, profile)
    # and the profile is the player's segment's (spec 2.8: through UserService)
    segment = UserService.get_segment(player_id=PID)
    assert segment is not None and segment.risk_profile == profile


def test_each_answer_is_logged_as_a_quiz_answer_action(me):
    given = h.answers(1)
    assert submit(me, given).status_code == 200
    logged = {
        a.metadata["question"]: a.metadata["answer"]
        for a in UserAction.objects.filter(user_id=PID, action_type="QUIZ_ANSWER")
    }
    assert logged == given


def test_leaving_user_id_out_submits_for_the_calling_player(me):
    assert submit(me, h.answers(0)).status_code == 200
    assert h.written(PID)["submissions"] == 1


def test_another_players_id_is_403_and_writes_nothing(me):
    make_player(id=PID + 1)
    response = submit(me, h.answers(0), user_id=PID + 1)
    assert response.status_code == 403, response.content
    assert response.json()["error"] == "forbidden" and "user_id" in response.json()["fields"]
    assert h.written(PID) == h.NOTHING and h.written(PID + 1) == h.NOTHING


def test_a_service_submits_for_any_player_and_must_name_them(service_client):
    assert submit(service_client, h.answers(-2), user_id=PID).status_code == 200
    assert h.written(PID)["risk_profile"] == "Low-Risk"
    response = submit(service_client, h.answers(-2))
    assert response.status_code == 400 and list(response.json()["fields"]) == ["user_id"]


def test_no_credentials_is_refused(api_client):
    assert submit(api_client, h.answers(0), user_id=PID).status_code in (401, 403)
    assert h.written(PID) == h.NOTHING


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ({k: v for k, v in h.answers(0).items() if k != "q3"}, "answers.q3"),  # a missing question
        ({**h.answers(0), "q10": 3}, "answers.q10"),  # an unknown question
        (h.answers(0, q1=6), "answers.q1"),  # off the 1-5 scale
        (h.answers(0, q1=0), "answers.q1"),
        (h.answers(0, q2=2), "answers.q2"),  # off the yes/no scale
        (h.answers(0, q1="4"), "answers.q1"),  # a string
        (h.answers(0, q2=True), "answers.q2"),  # a boolean is not 1
        (h.answers(0, q1=4.0), "answers.q1"),
        (h.answers(0, q1=None), "answers.q1"),
    ],
)
def test_a_bad_answer_is_a_400_naming_the_field_and_writes_nothing(me, answers, field):
    response = submit(me, answers)
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert h.written(PID) == h.NOTHING


def test_every_bad_answer_is_named_at_once(me):
    given = {**{k: v for k, v in h.answers(0).items() if k != "q9"}, "q1": "x", "q99": 1}
    response = submit(me, given)
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"answers.q1", "answers.q9", "answers.q99"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"user_id": "42", "answers": h.answers(0)}, "user_id"),
        ({"user_id": 0, "answers": h.answers(0)}, "user_id"),
        ({"answers": [4, 1]}, "answers"),
        ({}, "answers"),
        ({"answers": h.answers(0), "extra": 1}, "extra"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field_and_writes_nothing(me, body, field):
    response = me.post(URL, body, format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert h.written(PID) == h.NOTHING


def test_a_replayed_submission_answers_the_first_result_and_pays_once(me):
    first = submit(me, h.answers(2))
    again = submit(me, h.answers(2))
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    written = h.written(PID)
    assert (written["submissions"], written["quiz_answers"], written["rewards"], written["balance"]) == (1, 9, 1, 200)


def test_other_answers_before_the_retake_interval_are_409_and_write_nothing(me):
    assert submit(me, h.answers(2)).status_code == 200
    before = h.written(PID)
    response = submit(me, h.answers(-2))
    assert response.status_code == 409, response.content
    assert response.json()["error"] == "retake_not_allowed"
    assert h.written(PID) == before


@override_settings(QUIZ_RETAKE_DAYS=30)
def test_a_retake_after_the_interval_wins_keeps_the_history_and_pays_nothing_more(me):
    # given a submission through the endpoint
    first = submit(me, h.answers(3))
    assert first.status_code == 200 and first.json()["risk_profile"] == "High-Risk"
    # when the player takes the quiz again 30 days later (the service, with the clock moved on)
    later = timezone.now() + dt.timedelta(days=30, seconds=1)
    retake = quiz_submit(player_id=PID, answers=h.answers(-3), now=later)
    # then the latest profile wins, the first stays as history, and the version's mission was paid once
    assert (retake.submission.risk_profile, retake.reward, retake.replayed) == ("Low-Risk", None, False)
    history = QuizSubmission.objects.filter(user_id=PID).order_by("submitted_at")
    assert list(history.values_list("risk_profile", flat=True)) == ["High-Risk", "Low-Risk"]
    written = h.written(PID)
    assert (written["risk_profile"], written["rewards"], written["balance"]) == ("Low-Risk", 1, 200)
    assert written["quiz_answers"] == 18
    # and the player's quiz shows the latest profile
    current = me.get("/api/quiz").json()["current_profile"]
    assert (current["risk_profile"], current["risk_score"]) == ("Low-Risk", -3)


def test_a_retake_one_second_before_the_interval_ends_is_refused(me):
    first = submit(me, h.answers(3))
    allowed = dt.datetime.fromisoformat(first.json()["next_allowed_at"])
    with pytest.raises(RetakeNotAllowed):
        quiz_submit(player_id=PID, answers=h.answers(-3), now=allowed - dt.timedelta(seconds=1))
    assert quiz_submit(player_id=PID, answers=h.answers(-3), now=allowed).replayed is False


def test_with_no_version_published_the_quiz_is_unavailable_and_nothing_is_written(me):
    QuizVersion.objects.update(published_at=None)
    response = submit(me, h.answers(0))
    assert response.status_code == 409 and response.json()["error"] == "quiz_unavailable"
    assert h.written(PID) == h.NOTHING
    body = me.get("/api/quiz").json()
    assert (body["version"], body["steps"], body["can_submit"]) == (None, [], False)
