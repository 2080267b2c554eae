"""Every mission the recommender can promise is paid, in the amount it states (design brief section 6; issue 14):
each message with a ``reward_tokens`` placeholder, and each proposal with a mission action and ``reward_tokens``, is
served to a player in its situation, the player does the mission through its real path, and the tokens the proposal
stated are the tokens paid (a ledger GRANT, its user_rewards row, the push, Redis' copy), once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from corporate.services import corporate_quiz_completed, corporate_site_visit
from quiz.services import quiz_submit
from recommendations.engine import CONTENT_STAGE_SHORT, CORPORATE_ENGAGE_FIRST, PROPOSAL_TYPES
from recommendations.services import recommendation_serve
from tests.factories import make_player
from tests.missions import assert_paid_once
from tests.quiz.helpers import answers, default_quiz_ensure
from tests.wallet.helpers import fund
from texts.registry import message_get, message_keys

pytestmark = pytest.mark.django_db

PID = 9100
NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
PROPOSAL_MESSAGES = {*PROPOSAL_TYPES, CORPORATE_ENGAGE_FIRST, CONTENT_STAGE_SHORT}


def visit_at(at: dt.datetime, webhook_id: str) -> None:
    corporate_site_visit(webhook_id=webhook_id, player_id=PID, visit_timestamp=at, dwell_seconds=60, actions=["login"])


def never_visited() -> None:
    make_player(id=PID, locale="en")


def visited_8_days_ago() -> None:
    make_player(id=PID, locale="en")
    fund(PID, 250)
    visit_at(NOW - dt.timedelta(days=8), "old-visit")


def visited_2_days_ago() -> None:
    make_player(id=PID, locale="en")
    fund(PID, 250)
    visit_at(NOW - dt.timedelta(days=2), "recent-visit")


def low_balance_visited_yesterday() -> None:
    make_player(id=PID, locale="en")
    visit_at(NOW - dt.timedelta(days=1), "yesterday-visit")


def take_profile_quiz() -> None:
    default_quiz_ensure()
    quiz_submit(player_id=PID, answers=answers(0))


def visit_company_a() -> None:
    visit_at(NOW + dt.timedelta(minutes=1), "mission-visit")


def complete_company_as_quiz() -> None:
    corporate_quiz_completed(
        webhook_id="mission-quiz", player_id=PID, quiz_id="brand-quiz", completed_at=NOW + dt.timedelta(minutes=1)
    )


# (message key, proposal type, the situation that brings it, the mission it promises, how the player does it)
CASES: list[tuple[str, str, Callable[[], None], str, Callable[[], None]]] = [
    ("QUIZ_MISSION", "QUIZ_MISSION", never_visited, "COMPLETE_PROFILE_QUIZ", take_profile_quiz),
    ("CORPORATE_ENGAGE_FIRST", "CORPORATE_ENGAGE", never_visited, "VISIT_CORPORATE_SITE", visit_company_a),
    ("CORPORATE_ENGAGE", "CORPORATE_ENGAGE", visited_8_days_ago, "VISIT_CORPORATE_SITE", visit_company_a),
    ("CORPORATE_MISSION", "CORPORATE_MISSION", visited_2_days_ago, "COMPLETE_CORPORATE_QUIZ", complete_company_as_quiz),
    ("EARN_MORE", "EARN_MORE", low_balance_visited_yesterday, "VISIT_CORPORATE_SITE", visit_company_a),
]


def test_every_proposal_message_that_states_a_reward_is_covered_here():
    stating = {k for k in message_keys() if k in PROPOSAL_MESSAGES and "reward_tokens" in message_get(k).placeholders}
    assert stating == {c[0] for c in CASES} - {"EARN_MORE"}


@pytest.mark.parametrize(("key", "kind", "situation", "mission", "do_it"), CASES, ids=[c[0] for c in CASES])
def test_the_stated_reward_is_paid(key, kind, situation, mission, do_it, django_capture_on_commit_callbacks):
    # given a player in the situation that brings the proposal
    situation()
    # when their recommendation is served
    served = recommendation_serve(player_id=PID, now=NOW).recommendation
    proposal = next(p for p in served.proposals if p.type == kind)
    stated = proposal.reward_tokens
    # then it promises the mission and states its reward (in the message when the message has the placeholder)
    assert proposal.action == mission and stated is not None and stated > 0
    if "reward_tokens" in message_get(key).placeholders:
        assert f"{stated} tokens" in proposal.message
    if key == "CORPORATE_ENGAGE_FIRST":
        assert "not visited" in proposal.message
    # and when the player does the mission, the stated amount is paid, once
    with django_capture_on_commit_callbacks(execute=True):
        do_it()
    assert_paid_once(PID, mission, stated)
