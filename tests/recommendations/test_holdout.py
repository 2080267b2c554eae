"""The standing holdout (spec 2.5.2, issue 18 item 4; ``recommendations.holdout``): a stable share of players, the same
in every process and on every day, served no optional proposal (the limit suggestion still goes out), their withheld
proposals recorded with ``holdout = True`` under ids never given to them, and never learnt from."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.utils import timezone

from corporate.models import VisitMissionOffer
from recommendations.holdout import holdout_member, holdout_position
from recommendations.models import RecommendationImpression
from recommendations.services import recommendation_serve
from tests.recommendations import helpers as h
from tests.recommendations.test_live_protection import whale_with_tokens
from texts.models import MessageVariant

SHARE = 0.05
SALT = "holdout-test"
IDS = range(1, 100_001)
REPO = Path(__file__).resolve().parents[2]


def members(share: float = SHARE, salt: str = SALT) -> set[int]:
    return {i for i in IDS if holdout_member(i, share=share, salt=salt)}


def test_the_holdout_is_about_its_share_of_100000_players():
    # given the share 5%
    # when membership is decided for 100,000 ids
    share = len(members()) / len(IDS)
    # then about 5% are in (the binomial standard deviation is 0.07 points; this allows 4)
    assert abs(share - SHARE) < 0.003


def test_the_holdout_is_the_same_in_another_process_with_another_hash_seed():
    # given this process's holdout positions of 2,000 ids
    ids = list(range(1, 2001))
    here = [holdout_position(i, salt=SALT) for i in ids]
    # when another Python process with another PYTHONHASHSEED computes them
    code = (
        "import json, sys, django; django.setup(); "
        "from recommendations.holdout import holdout_position; "
        f"print(json.dumps([holdout_position(i, salt={SALT!r}) for i in range(1, 2001)]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    there = json.loads(out.stdout.strip().splitlines()[-1])
    # then they are exactly the same
    assert there == here


def test_a_larger_share_keeps_everyone_already_in_and_another_salt_draws_another_holdout():
    # given the 5% holdout
    five = members()
    # when the share grows to 10%, and when the salt changes
    ten = members(share=0.10)
    other = members(salt="holdout-2")
    # then the 10% holdout holds every 5% member, and the other salt's shares about 5% of them (independent draws)
    assert five < ten
    assert len(five & other) / len(five) < 0.15


def holdout_player(start: int) -> int:
    """The first id from ``start`` in the settings' holdout."""
    return next(i for i in range(start, start + 10_000) if holdout_member(i))


@pytest.fixture
def holdout_on(settings):
    settings.RECOMMENDATION_HOLDOUT_SHARE = SHARE
    settings.RECOMMENDATION_HOLDOUT_SALT = SALT


@pytest.mark.django_db
def test_a_holdout_player_is_in_the_holdout_on_every_day(holdout_on):
    # given a holdout player
    pid = holdout_player(6300)
    whale_with_tokens(pid)
    now = timezone.now()
    # when they are served today, in three days and in a month
    served = [recommendation_serve(player_id=pid, now=now + dt.timedelta(days=d)) for d in (0, 3, 30)]
    # then every time they are in the holdout and shown no proposal
    assert [(s.holdout, s.recommendation.proposals) for s in served] == [(True, ())] * 3


@pytest.mark.django_db
def test_a_holdout_players_answer_holds_no_optional_proposal_and_the_withheld_ones_are_recorded(
    holdout_on, player_client_factory
):
    # given a calm whale in the holdout (HIGH_STAKE, RISKY_PLAY, a first Company A visit proposed to anyone else),
    # with a pinned variant of one of those messages
    pid = holdout_player(6300)
    whale_with_tokens(pid)
    MessageVariant.objects.create(key="HIGH_STAKE", locale="ko", name="won", text="[won]", state="pinned")
    # when they open the app
    answer = player_client_factory(pid).get("/api/me/recommendations").json()
    # then the answer has its usual shape, the game and the usage window, and no proposal
    assert set(answer) == {
        "user_id",
        "recommended_game",
        "recommended_game_reason",
        "reward_level",
        "proposals",
        "usage_window",
        "suppressed",
    }
    assert (answer["recommended_game"], answer["proposals"], answer["suppressed"]) == ("Roulette", [], [])
    assert answer["usage_window"] is not None
    # and each withheld proposal is a row where it would have been: holdout, the default text, not learnt from
    rows = RecommendationImpression.objects.filter(user_id=pid).order_by("position")
    assert list(rows.values_list("position", "proposal_type", "message_key", "variant", "holdout", "learning")) == [
        (0, "HIGH_STAKE", "HIGH_STAKE", "", True, False),
        (1, "RISKY_PLAY", "RISKY_PLAY", "", True, False),
        (2, "CORPORATE_ENGAGE", "CORPORATE_ENGAGE_FIRST", "", True, False),
    ]
    # and the visit mission was not offered (it was not shown)
    assert not VisitMissionOffer.objects.filter(user_id=pid).exists()


@pytest.mark.django_db
def test_a_marked_holdout_player_is_still_shown_the_limit_suggestion(holdout_on, player_client_factory):
    # given a holdout whale whom the nightly batch marked for loss chasing
    pid = holdout_player(6300)
    whale_with_tokens(pid)
    h.harm_marker(pid, "LOSS_CHASING", timezone.now())
    # when they open the app
    answer = player_client_factory(pid).get("/api/me/recommendations").json()
    # then only the limit suggestion is shown (protection goes out), its id the one answered; protection's removals
    # are reported as to anyone; the engagement proposal is withheld and recorded
    assert [p["type"] for p in answer["proposals"]] == ["LIMIT_SUGGESTION"]
    assert {s["type"] for s in answer["suppressed"]} == {"HIGH_STAKE", "RISKY_PLAY"}
    rows = {str(r.proposal_id): r for r in RecommendationImpression.objects.filter(user_id=pid)}
    shown = rows.pop(answer["proposals"][0]["id"])
    assert (shown.holdout, shown.learning) == (False, False)
    assert [(r.proposal_type, r.holdout, r.learning) for r in rows.values()] == [("CORPORATE_ENGAGE", True, False)]


@pytest.mark.django_db
def test_a_player_outside_the_holdout_is_served_as_before(holdout_on, player_client_factory):
    # given a calm whale outside the holdout
    pid = next(i for i in range(6300, 16300) if not holdout_member(i))
    whale_with_tokens(pid)
    # when they open the app
    answer = player_client_factory(pid).get("/api/me/recommendations").json()
    # then every proposal is shown and recorded as shown and learnt from
    assert [p["type"] for p in answer["proposals"]] == ["HIGH_STAKE", "RISKY_PLAY", "CORPORATE_ENGAGE"]
    assert set(RecommendationImpression.objects.filter(user_id=pid).values_list("holdout", "learning")) == {
        (False, True)
    }
    assert VisitMissionOffer.objects.filter(user_id=pid).exists()
