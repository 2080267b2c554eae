"""Concurrent submissions of one player against real PostgreSQL row locks: 50 at once pay the profile quiz mission
once and store one submission (the player's ``quiz_profiles`` row takes them one at a time)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from quiz import services
from quiz.errors import RetakeNotAllowed
from quiz.models import QuizSubmission
from tests.concurrency import run_concurrently, skip_unless_postgresql
from tests.missions import mission_paid
from tests.quiz import helpers as h
from tests.wallet.helpers import cached_balance, db_balance, ledger_sum

pytestmark = pytest.mark.django_db(transaction=True)

PLAYER = 8800


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    skip_unless_postgresql()


def submit_call(risk: int) -> Callable[[], services.SubmitResult]:
    return lambda: services.quiz_submit(player_id=PLAYER, answers=h.answers(risk))


@pytest.mark.parametrize("same_answers", [True, False], ids=["the same answers", "different answers"])
def test_50_concurrent_submissions_of_one_player_pay_one_reward(same_answers):
    # given a player never seen before (the first submission makes them)
    # when 50 submissions run at once on 32 threads, all with the same answers or with different ones
    risks = [2 if same_answers else (i % 9) - 4 for i in range(50)]
    results = run_concurrently([submit_call(r) for r in risks])
    # then one submission went through; the others answered it as a replay (the same answers) or were refused as a
    # retake too early (other answers); nothing else failed
    firsts = [r for r in results if isinstance(r, services.SubmitResult) and not r.replayed]
    assert len(firsts) == 1
    others = [r for r in results if r is not firsts[0]]
    for r in others:
        assert (isinstance(r, services.SubmitResult) and r.replayed) or isinstance(r, RetakeNotAllowed), r
    assert QuizSubmission.objects.filter(user_id=PLAYER).count() == 1
    written = h.written(PLAYER)
    assert (written["quiz_answers"], written["profiles"]) == (9, 1)
    # and the mission was paid once: one GRANT, one user_rewards row, one push; the balance agrees everywhere
    assert mission_paid(PLAYER, "COMPLETE_PROFILE_QUIZ").counts == (1, 1, 1)
    assert db_balance(PLAYER) == ledger_sum(PLAYER) == cached_balance(PLAYER) == 200
