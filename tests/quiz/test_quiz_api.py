"""GET /api/quiz: the player's current version in their locale, grouped in steps, whether and when they may (re)take
it, and their current profile; a service names the player; another player's id is 403."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from quiz.models import QuizVersion
from quiz.selectors import quiz_current_version, quiz_versions_forget
from quiz.services import quiz_version_copy, quiz_version_publish
from tests.factories import make_player
from tests.quiz import helpers as h

pytestmark = pytest.mark.django_db

PID = 8500
URL = "/api/quiz"


@pytest.fixture
def me(player_client_factory):
    make_player(id=PID, locale="ko")
    return player_client_factory(PID)


def test_the_current_version_comes_in_steps_of_2_to_3_questions_in_korean(me):
    response = me.get(URL)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["user_id"], body["version"], body["locale"]) == (PID, 1, "ko")
    assert [[q["id"] for q in step] for step in body["steps"]] == [
        ["q1", "q2"],
        ["q3", "q4"],
        ["q5", "q6", "q7"],
        ["q8", "q9"],
    ]
    q1, q2 = body["steps"][0]
    # spec 2.4.2's two example questions
    assert q1["text"] == "높은 배당을 위해 큰 금액을 베팅하는 편인가요?" and q1["scale"] == "scale_1_5"
    assert [c["value"] for c in q1["choices"]] == [1, 2, 3, 4, 5]
    assert q2["text"] == "잃었을 때 다시 도전하는 편인가요?" and q2["scale"] == "yes_no"
    assert q2["choices"] == [{"value": 1, "label": "예"}, {"value": 0, "label": "아니요"}]
    assert (body["can_submit"], body["next_allowed_at"], body["current_profile"]) == (True, None, None)


def test_an_english_player_reads_it_in_english(player_client_factory):
    make_player(id=PID, locale="en")
    body = player_client_factory(PID).get(URL).json()
    q1, q2 = body["steps"][0]
    assert body["locale"] == "en"
    assert q1["text"] == "Do you tend to bet large amounts for high payouts?"
    assert q2["text"] == "Do you try again when you lose?"
    assert q2["choices"] == [{"value": 1, "label": "Yes"}, {"value": 0, "label": "No"}]


def test_after_a_submission_it_says_the_profile_and_when_a_retake_is_allowed(me):
    submitted = me.post("/api/quiz/submit", {"answers": h.answers(2)}, format="json").json()
    body = me.get(URL).json()
    assert body["can_submit"] is False
    assert body["next_allowed_at"] == submitted["next_allowed_at"]
    assert dt.datetime.fromisoformat(body["next_allowed_at"]) - dt.datetime.fromisoformat(
        submitted["submitted_at"]
    ) == dt.timedelta(days=30)
    assert body["current_profile"] == {
        "risk_profile": "High-Risk",
        "risk_score": 2,
        "reward_sensitivity": 33,
        "token_preference": "balanced",
        "version": 1,
        "submitted_at": submitted["submitted_at"],
    }


def test_a_newly_published_version_may_be_taken_at_once_and_pays_its_own_mission(me):
    # given the player took version 1, then staff publish version 2 (a copy)
    assert me.post("/api/quiz/submit", {"answers": h.answers(2)}, format="json").status_code == 200
    draft = quiz_version_copy(version_id=QuizVersion.objects.get(number=1).id)
    quiz_version_publish(version_id=draft.id)
    quiz_versions_forget()
    # then the quiz offers version 2 now, and its first submission pays its own mission
    body = me.get(URL).json()
    assert (body["version"], body["can_submit"], body["next_allowed_at"]) == (2, True, None)
    second = me.post("/api/quiz/submit", {"answers": h.answers(-2)}, format="json").json()
    assert (second["version"], second["reward"]) == (2, {"mission": "COMPLETE_PROFILE_QUIZ", "tokens": 200})
    assert h.written(PID)["balance"] == 400


def test_a_service_names_the_player(service_client):
    make_player(id=PID, locale="en")
    body = service_client.get(URL, {"user_id": PID}).json()
    assert (body["user_id"], body["locale"]) == (PID, "en")
    assert service_client.get(URL).status_code == 400
    assert service_client.get(URL, {"user_id": "x"}).status_code == 400


def test_another_players_id_is_403(me):
    make_player(id=PID + 1)
    assert me.get(URL, {"user_id": PID + 1}).status_code == 403
    assert me.get(URL, {"user_id": PID}).status_code == 200


def test_a_publish_is_offered_at_once_by_the_process_that_made_it(settings, django_capture_on_commit_callbacks):
    # given the published versions kept per process for an hour, and version 1 read into this process's copy
    settings.QUIZ_VERSIONS_REFRESH_SECONDS = 3600.0
    assert _current_number() == 1
    draft = quiz_version_copy(version_id=QuizVersion.objects.get(number=1).id)
    # when staff publish version 2 here (its transaction commits)
    with django_capture_on_commit_callbacks(execute=True):
        quiz_version_publish(version_id=draft.id)
    # then this process offers version 2 at once, without waiting for the copy to expire
    assert _current_number() == 2


def test_a_version_scheduled_ahead_is_offered_from_its_time(settings):
    # given version 2 published with a time an hour ahead, and the versions kept per process
    settings.QUIZ_VERSIONS_REFRESH_SECONDS = 3600.0
    draft = quiz_version_copy(version_id=QuizVersion.objects.get(number=1).id)
    later = timezone.now() + dt.timedelta(hours=1)
    QuizVersion.objects.filter(id=draft.id).update(published_at=later)
    # then version 1 is offered until that time, version 2 from it, from the same copy
    assert _current_number(now=later - dt.timedelta(seconds=1)) == 1
    assert _current_number(now=later) == 2


def _current_number(now: dt.datetime | None = None) -> int | None:
    version = quiz_current_version(now=now)
    return None if version is None else version.number
