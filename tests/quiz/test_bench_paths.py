"""bench/quiz.py's own pieces against the real endpoint: the submissions it builds are accepted, scored and rewarded
as its check expects, and an answer that does not score what was sent is caught by the check."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from bench import quiz as bench
from tests.factories import make_player

pytestmark = pytest.mark.django_db


def send(request: bench.Request) -> tuple[int, bytes]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=request.headers["Authorization"])
    response = client.post(request.path, request.body, content_type="application/json")
    return response.status_code, response.content


def test_the_benchs_submissions_are_accepted_scored_and_rewarded_as_its_check_expects():
    # given the bench's players and their submissions, built as the bench builds them
    players = [9301, 9302, 9303, 9304]
    for pid in players:
        make_player(id=pid)
    questions = bench.quiz_questions()
    bench._QUESTIONS[:] = questions
    requests = bench.submit_requests(players, questions, seed=7)
    # when each is sent to the endpoint, then the bench's check finds each answer right
    for request in requests:
        status, body = send(request)
        assert bench.check_submit(status, body, request) is None, body
    # and an answer that does not score what was sent is caught by the check
    status, body = send(requests[0])
    other = bench.Request(
        "POST",
        "/api/quiz/submit",
        b'{"user_id": 9301, "answers": {"q1": 5, "q2": 1, "q3": 1, "q4": 0, "q5": 5, '
        b'"q6": 5, "q7": 0, "q8": 1, "q9": 1}}',
    )
    assert bench.check_submit(status, body, other) == f"not scored as sent: {body[:300]!r}"
    assert bench.check_submit(409, b"{}", requests[0]) == "HTTP 409: b'{}'"


def test_counts_exact_holds_only_when_every_submission_was_logged_scored_and_rewarded_once():
    counts = dict.fromkeys(
        (
            "submissions",
            "players_submitted",
            "profiles",
            "segments_with_the_submitted_profile",
            "mission_grants",
            "mission_rewards_linked",
            "submissions_linked_to_their_grant",
            "mission_pushes",
        ),
        10,
    )
    checks: dict[str, Any] = {
        "counts": {**counts, "quiz_answers": 90, "players_paid_twice": 0, "site_rewards": 5},
        "wallets_not_equal_to_their_ledger": 0,
        "redis_mismatch": 0,
    }
    assert bench.counts_exact(checks, submitted=10, granted=5)
    assert not bench.counts_exact(
        {**checks, "counts": {**checks["counts"], "mission_grants": 11}}, submitted=10, granted=5
    )
    assert not bench.counts_exact(
        {**checks, "counts": {**checks["counts"], "quiz_answers": 89}}, submitted=10, granted=5
    )
