"""Attribution (issue 18 item 1; docs/metrics.md "Conversions"): which impression an action converts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from activity.models import UserAction
from corporate import services as corporate
from recommendations.attribution import conversions_attribute
from recommendations.models import AttributionState, ProposalConversion
from tests.recommendations import helpers
from tests.recommendations.loop_helpers import LATER, T0, act, attributed, play, player, serve

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(hours=24)
MICRO = dt.timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("after_serve", "converts"),
    [
        (dt.timedelta(0), True),
        (DAY, True),
        (DAY + MICRO, False),
        (-MICRO, False),
    ],
    ids=["same-instant-as-the-serve", "exactly-at-the-window-end", "one-microsecond-past-the-end", "before-the-serve"],
)
def test_a_round_converts_a_play_proposal_within_its_window_both_ends_included(after_serve, converts):
    # given a MID_STAKE proposal of the slot machine served at T0, and a slot round at T0 + the offset
    p = player(1)
    shown = serve(p, "MID_STAKE", T0, game="SlotMachine")
    play(p, T0 + after_serve)
    # when attribution runs
    conversions_attribute(now=LATER)
    # then the round converts the proposal only within [serve, serve + 24 h]
    assert attributed() == ([(str(shown.proposal_id), "GAME_ROUND", False)] if converts else [])


def test_a_round_of_another_game_does_not_convert_a_play_proposal():
    # given a HIGH_STAKE proposal of roulette and a slot round an hour later
    p = player(1)
    serve(p, "HIGH_STAKE", T0, game="Roulette")
    play(p, T0 + dt.timedelta(hours=1), game="SlotMachine")
    # when attribution runs
    conversions_attribute(now=LATER)
    # then nothing converted
    assert attributed() == []


def test_of_two_impressions_competing_for_one_action_the_latest_wins():
    # given the same proposal served twice, then a round after both
    p = player(1)
    serve(p, "MID_STAKE", T0, game="SlotMachine")
    latest = serve(p, "SAFE_PLAY", T0 + dt.timedelta(hours=2), game="SlotMachine")
    play(p, T0 + dt.timedelta(hours=3))
    # when attribution runs
    conversions_attribute(now=LATER)
    # then the round is one conversion, of the latest impression
    assert attributed() == [(str(latest.proposal_id), "GAME_ROUND", False)]


def test_a_late_action_is_attributed_on_the_next_run_to_the_impression_whose_window_held_it():
    # given two impressions, an hour apart, and a first run that found no action
    p = player(1)
    first = serve(p, "MID_STAKE", T0, game="SlotMachine")
    serve(p, "MID_STAKE", T0 + dt.timedelta(hours=5), game="SlotMachine")
    conversions_attribute(now=LATER)
    assert attributed() == []
    # when an action stamped between them arrives after that run, and attribution runs again
    play(p, T0 + dt.timedelta(hours=1))
    conversions_attribute(now=LATER + dt.timedelta(days=1))
    # then it converts the impression it followed, not the later one
    assert attributed() == [(str(first.proposal_id), "GAME_ROUND", False)]


def test_a_replayed_action_is_one_conversion():
    # given a proposal and a round sent twice with the same event id, one before the run and one after
    p = player(1)
    serve(p, "MID_STAKE", T0, game="SlotMachine")
    play(p, T0 + dt.timedelta(hours=1), event_id="round-1")
    conversions_attribute(now=LATER)
    play(p, T0 + dt.timedelta(hours=1), event_id="round-1")
    play(p, T0 + dt.timedelta(hours=1), event_id="round-1")
    # when attribution runs again
    conversions_attribute(now=LATER + dt.timedelta(hours=1))
    # then the round is one conversion
    assert len(attributed()) == 1


def test_a_rerun_changes_nothing():
    # given proposals, actions and a first run
    p, q = player(1), player(2)
    serve(p, "MID_STAKE", T0, game="SlotMachine")
    serve(q, "CORPORATE_ENGAGE", T0)
    play(p, T0 + dt.timedelta(hours=1))
    act(q, "CORPORATE_VISIT", T0 + dt.timedelta(hours=2), dwell_seconds=30, actions=1)
    first = conversions_attribute(now=LATER)
    rows = list(ProposalConversion.objects.order_by("id").values())
    # when it runs again, with nothing new, and once more with the watermark put back to the start
    again = conversions_attribute(now=LATER + dt.timedelta(hours=1))
    AttributionState.objects.update(last_action_id=0, limit_sets_through=None)
    replayed = conversions_attribute(now=LATER + dt.timedelta(hours=2))
    # then the conversions are the same rows
    assert first.conversions == 2 and again.conversions == 0 and replayed.conversions == 0
    assert list(ProposalConversion.objects.order_by("id").values()) == rows


def test_click_through_and_view_through_are_told_apart():
    # given two players served the same proposal: one clicked it before playing, one played without clicking; and a
    # third who clicked only after playing
    a, b, c = player(1), player(2), player(3)
    clicked = serve(a, "MID_STAKE", T0, game="SlotMachine", clicked_at=T0 + dt.timedelta(minutes=1))
    viewed = serve(b, "MID_STAKE", T0, game="SlotMachine")
    late_click = serve(c, "MID_STAKE", T0, game="SlotMachine", clicked_at=T0 + dt.timedelta(hours=2))
    for who in (a, b, c):
        play(who, T0 + dt.timedelta(hours=1))
    # when attribution runs
    conversions_attribute(now=LATER)
    # then the first is click-through, the others view-through
    assert sorted(attributed()) == sorted(
        [
            (str(clicked.proposal_id), "GAME_ROUND", True),
            (str(viewed.proposal_id), "GAME_ROUND", False),
            (str(late_click.proposal_id), "GAME_ROUND", False),
        ]
    )


def test_holdout_impressions_are_attributed_like_the_others():
    # given a proposal withheld from a holdout player (kept as the counterfactual) and a round after it
    p = player(1)
    withheld = serve(p, "MID_STAKE", T0, game="SlotMachine", holdout=True)
    play(p, T0 + dt.timedelta(hours=1))
    # when attribution runs
    conversions_attribute(now=LATER)
    # then the round counts as what the holdout would have converted
    assert attributed() == [(str(withheld.proposal_id), "GAME_ROUND", False)]


def test_an_action_newer_than_the_lag_waits_so_an_impression_written_behind_is_not_passed_over():
    # given a round stamped 10 s before the run, whose impression (served a second before it) is not written yet
    p = player(1)
    now = T0 + dt.timedelta(hours=3)
    play(p, now - dt.timedelta(seconds=10))
    first = conversions_attribute(now=now)
    # when the impression lands after that run, and the next run comes
    shown = serve(p, "MID_STAKE", now - dt.timedelta(seconds=11), game="SlotMachine")
    conversions_attribute(now=now + dt.timedelta(hours=1))
    # then the first run left the round (the watermark stopped before it), and the next one attributed it
    assert first.conversions == 0 and first.watermark == UserAction.objects.get().id - 1
    assert attributed() == [(str(shown.proposal_id), "GAME_ROUND", False)]


def test_each_proposal_type_is_converted_by_its_own_event():
    # given one player per proposal, each followed by the event that fulfils it (docs/metrics.md "Conversions")
    now = timezone.now()
    served = now - dt.timedelta(minutes=30)
    visit, earn, unlock, quiz, corp_quiz, limit = (player(k) for k in range(1, 7))
    expected = {
        str(serve(visit, "CORPORATE_ENGAGE", served).proposal_id): "CORPORATE_VISIT",
        str(serve(earn, "EARN_MORE", served).proposal_id): "CORPORATE_EARN",
        str(serve(unlock, "CONTENT_STAGE", served, content_id=7).proposal_id): "UNLOCK",
        str(serve(quiz, "QUIZ_MISSION", served).proposal_id): "PROFILE_QUIZ",
        str(serve(corp_quiz, "CORPORATE_MISSION", served).proposal_id): "CORPORATE_QUIZ",
        str(serve(limit, "LIMIT_SUGGESTION", served).proposal_id): "SPEND_LIMIT_SET",
    }
    serve(unlock, "CONTENT_STAGE", served - dt.timedelta(minutes=1), content_id=8)  # another stage: not this unlock's
    act(visit, "CORPORATE_VISIT", served + dt.timedelta(minutes=1), dwell_seconds=30, actions=1)
    helpers.corporate_earn(earn, 50, served + dt.timedelta(minutes=2))
    act(unlock, "UNLOCK_CONTENT", served + dt.timedelta(minutes=3), content_id=7, stage=2, spent_tokens=10)
    act(quiz, "QUIZ_ANSWER", served + dt.timedelta(minutes=4), question="q1", answer=3, version=1, submission_id=1)
    act(quiz, "QUIZ_ANSWER", served + dt.timedelta(minutes=4), question="sport", answer="yes")  # a survey: no
    corporate.corporate_quiz_completed(webhook_id="msg_loop_quiz", player_id=corp_quiz, quiz_id="q", completed_at=now)
    helpers.limits(limit, now, daily_spend_limit=100)
    # when attribution runs after the lag
    conversions_attribute(now=now + dt.timedelta(hours=1))
    # then each proposal is converted by its own event, once
    assert sorted((imp, event) for imp, event, _ in attributed()) == sorted(expected.items())
