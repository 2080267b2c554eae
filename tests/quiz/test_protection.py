"""Protection from the quiz (design brief section 6): a "yes" to the chasing item (spec 2.4.2's "Do you try again when
you lose?") with a high reward sensitivity is a self-reported harm marker. It holds stake-raising proposals back
exactly as the computed markers do, lasts while the latest submission says so, outlives the nightly batch, and staff
see it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from players.models import PlayerHarmMarker
from quiz.services import quiz_submit
from recommendations.services import harm_markers_compute, recommendation_serve
from tests import factories
from tests.factories import make_player
from tests.quiz import helpers as h
from tests.wallet.helpers import fund

pytestmark = pytest.mark.django_db

PID = 8700
CHASING_AND_SENSITIVE = {"q2": 1, "q5": 5, "q6": 5, "q7": 0}  # yes to q2; reward sensitivity 100
CHASING_NOT_SENSITIVE = {"q2": 1, "q5": 1, "q6": 1, "q7": 1}  # yes to q2; reward sensitivity 0


def markers() -> list[str]:
    return list(PlayerHarmMarker.objects.filter(user_id=PID).values_list("marker", flat=True))


def test_chasing_with_a_high_reward_sensitivity_holds_the_stake_raising_proposals_back(player_client_factory):
    # given a High-Risk player with 600 tokens (HIGH_STAKE and RISKY_PLAY would be proposed)
    make_player(id=PID)
    fund(PID, 600)
    # when they answer yes to the chasing item with a high reward sensitivity
    response = player_client_factory(PID).post(
        "/api/quiz/submit", {"answers": h.answers(4, **CHASING_AND_SENSITIVE)}, format="json"
    )
    assert response.status_code == 200 and response.json()["reward_sensitivity"] == 100
    # then the marker is stored, and the recommendation leads with the limit suggestion without the stake-raising
    # proposals, which are recorded as suppressed by the harm-marker rule, as for a computed marker
    assert markers() == ["SELF_REPORTED_CHASING"]
    rec = recommendation_serve(player_id=PID).recommendation
    assert rec.types[0] == "LIMIT_SUGGESTION"
    assert "HIGH_STAKE" not in rec.types and "RISKY_PLAY" not in rec.types
    assert {s.type: s.reason for s in rec.suppressed} == {
        "HIGH_STAKE": {"rule": "harm_markers", "harm_markers": ["SELF_REPORTED_CHASING"]},
        "RISKY_PLAY": {"rule": "harm_markers", "harm_markers": ["SELF_REPORTED_CHASING"]},
    }


def test_chasing_with_a_low_reward_sensitivity_is_no_marker():
    make_player(id=PID)
    fund(PID, 600)
    result = quiz_submit(player_id=PID, answers=h.answers(4, **CHASING_NOT_SENSITIVE))
    assert (result.submission.chasing, result.submission.self_reported_harm) == (True, False)
    assert markers() == []
    assert "RISKY_PLAY" in recommendation_serve(player_id=PID).recommendation.types


def test_a_high_reward_sensitivity_without_chasing_is_no_marker():
    make_player(id=PID)
    quiz_submit(player_id=PID, answers=h.answers(-2, q5=5, q6=5, q7=0))  # q2 no
    assert markers() == []


def test_a_retake_without_it_clears_the_marker():
    make_player(id=PID)
    first = quiz_submit(player_id=PID, answers=h.answers(4, **CHASING_AND_SENSITIVE))
    assert markers() == ["SELF_REPORTED_CHASING"]
    quiz_submit(player_id=PID, answers=h.answers(-2), now=first.next_allowed_at)
    assert markers() == []


def test_the_nightly_batch_keeps_the_self_reported_marker():
    # given a self-reported marker and no behaviour the batch would find
    make_player(id=PID)
    quiz_submit(player_id=PID, answers=h.answers(4, **CHASING_AND_SENSITIVE))
    # when the nightly harm batch runs (it deletes the markers it no longer finds)
    harm_markers_compute(as_of=timezone.now() + dt.timedelta(minutes=1))
    # then the player's own report stays
    assert markers() == ["SELF_REPORTED_CHASING"]


def test_staff_see_the_marker_and_the_submission_that_reported_it():
    make_player(id=PID)
    quiz_submit(player_id=PID, answers=h.answers(4, **CHASING_AND_SENSITIVE))
    client = Client()
    client.force_login(factories.make_staff_user())
    markers_page = client.get("/admin/players/playerharmmarker/", {"marker": "SELF_REPORTED_CHASING"})
    assert markers_page.status_code == 200 and str(PID) in markers_page.content.decode()
    assert "Self-reported chasing (quiz)" in markers_page.content.decode()
    submissions = client.get("/admin/quiz/quizsubmission/", {"self_reported_harm__exact": "1"})
    assert submissions.status_code == 200 and str(PID) in submissions.content.decode()
