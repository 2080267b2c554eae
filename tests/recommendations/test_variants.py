"""Message variants chosen by Thompson sampling at serve time (spec 2.5.2, issue 18 items 3 and 4;
``recommendations.variants``): stable for a player within a business day, led by the posteriors, a pinned variant
for all, a stopped one for none, a new one drawn; protected and harm-marked players get the default text and are not
learnt from; the rules stay hard (the bandit only words what the engine allowed)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from players.models import PlayerProtection
from recommendations.engine import recommend
from recommendations.models import RecommendationImpression, VariantPosterior
from recommendations.services import recommendation_serve
from recommendations.templates import templates_build
from recommendations.variants import DEFAULT, draw, variant_choose
from tests.recommendations import helpers as h
from tests.recommendations.test_engine import EXAMPLE, TEMPLATES
from tests.recommendations.test_live_protection import chasing_burst, whale_with_tokens
from texts.catalog import Variant, text_render
from texts.models import MessageVariant

PID = 6100
REPO = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 20)
MID_STAKE = recommend(EXAMPLE, TEMPLATES).proposals[0]  # "토큰이 250개 있어요! ..." (message MID_STAKE)


def variant(name: str, *, pinned: bool = False, text: str | None = None) -> Variant:
    return Variant("MID_STAKE", "ko", name, text or f"[{name}] 토큰 {{token_balance}}개", pinned)


def chosen(player_id: int, day: dt.date, in_play: list[Variant], beliefs: dict[Any, Any] | None = None) -> str:
    worded = variant_choose(
        proposal=MID_STAKE,
        player_id=player_id,
        day=day,
        locale="ko",
        rfm_group="High Engaged",
        in_play=in_play,
        beliefs=beliefs or {},
    )
    return worded.variant


THREE = [variant("a"), variant("b")]  # with the default: three candidates, none with a posterior yet


# --- the draw ---------------------------------------------------------------------------------------------------


def test_a_players_wording_is_the_same_all_day_and_varies_across_days_and_players():
    # given two variants besides the default, none counted yet (each Beta(1, 1))
    # when one player is served 20 times on one day, on 30 days, and 60 players on one day
    same_day = {chosen(PID, DAY, THREE) for _ in range(20)}
    days = {chosen(PID, DAY + dt.timedelta(days=n), THREE) for n in range(30)}
    players = {chosen(PID + n, DAY, THREE) for n in range(60)}
    # then the day's wording never changes, and across days and across players every candidate is served
    assert len(same_day) == 1
    assert days == players == {DEFAULT, "a", "b"}


def test_the_draws_are_the_same_in_another_process_with_another_hash_seed():
    # given this process's draws for 200 players
    here = [
        draw(player_id=PID + n, day=DAY, key="MID_STAKE", locale="ko", variant="a", belief=(3.0, 40.0))
        for n in range(200)
    ]
    # when another Python process with another PYTHONHASHSEED draws them
    code = (
        "import json, datetime as dt, django; django.setup(); "
        "from recommendations.variants import draw; "
        f"print(json.dumps([draw(player_id={PID} + n, day=dt.date(2026, 11, 20), key='MID_STAKE', locale='ko', "
        "variant='a', belief=(3.0, 40.0)) for n in range(200)]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "4321", "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    # then they are exactly the same
    assert json.loads(out.stdout.strip().splitlines()[-1]) == here


def test_a_variant_with_a_much_better_posterior_takes_most_draws():
    # given the default at 1% conversion over 2,000 impressions and "b" at 5% over 2,000 (group High Engaged, ko)
    beliefs = {
        ("MID_STAKE", DEFAULT, "High Engaged", "ko"): (21.0, 1981.0),
        ("MID_STAKE", "b", "High Engaged", "ko"): (101.0, 1901.0),
    }
    # when 1,000 players are served
    served = Counter(chosen(PID + n, DAY, [variant("b")], beliefs) for n in range(1000))
    # then "b" takes nearly every draw
    assert served["b"] > 990


def test_a_new_variant_without_a_posterior_gets_drawn():
    # given a default counted at 10% over 500 impressions and a new variant with no row (Beta(1, 1))
    beliefs = {("MID_STAKE", DEFAULT, "High Engaged", "ko"): (51.0, 451.0)}
    # when 300 players are served
    served = Counter(chosen(PID + n, DAY, [variant("new")], beliefs) for n in range(300))
    # then the new variant is served to many of them (its draws spread over [0, 1], most above 10%)
    assert served["new"] > 150
    assert served[DEFAULT] > 0


def test_the_posterior_of_the_players_group_decides_not_another_groups():
    # given "b" far better for Whales only
    beliefs = {
        ("MID_STAKE", DEFAULT, "High Engaged", "ko"): (101.0, 1901.0),
        ("MID_STAKE", "b", "High Engaged", "ko"): (21.0, 1981.0),
        ("MID_STAKE", "b", "Whale", "ko"): (501.0, 1501.0),
    }
    # when 300 High Engaged players are served
    served = Counter(chosen(PID + n, DAY, [variant("b")], beliefs) for n in range(300))
    # then their own group's figures rule: mostly the default
    assert served[DEFAULT] > 250


def test_a_pinned_variant_is_served_to_everyone_whatever_the_posteriors():
    # given a pinned variant with a poor posterior and a better active one
    beliefs = {
        ("MID_STAKE", "won", "High Engaged", "ko"): (2.0, 2000.0),
        ("MID_STAKE", "b", "High Engaged", "ko"): (500.0, 500.0),
    }
    in_play = [variant("b"), variant("won", pinned=True)]
    # when 100 players are served on 5 days
    served = {chosen(PID + n, DAY + dt.timedelta(days=n % 5), in_play, beliefs) for n in range(100)}
    # then every one saw the pinned variant
    assert served == {"won"}


def test_a_variant_that_cannot_be_rendered_with_the_players_values_gives_way_to_the_default():
    # given a pinned variant written around the model's check (it names a placeholder MID_STAKE does not have)
    broken = variant("broken", pinned=True, text="{tokens_short}개 부족")
    # when it is chosen for a player
    worded = variant_choose(
        proposal=MID_STAKE, player_id=PID, day=DAY, locale="ko", rfm_group="", in_play=[broken], beliefs={}
    )
    # then the default text is served, and recorded as the default
    assert (worded.variant, worded.proposal.message) == (DEFAULT, MID_STAKE.message)


def test_the_variant_states_the_same_facts_as_the_default():
    # given a pinned variant of MID_STAKE
    worded = variant_choose(
        proposal=MID_STAKE,
        player_id=PID,
        day=DAY,
        locale="ko",
        rfm_group="",
        in_play=[variant("won", pinned=True)],
        beliefs={},
    )
    # then it is rendered with the engine's values, and only the text changed
    assert worded.proposal.message == "[won] 토큰 250개"
    assert dataclasses.replace(worded.proposal, message=MID_STAKE.message) == MID_STAKE


# --- at the service and through the API --------------------------------------------------------------------------

# The whale of the live-protection tests (900 tokens, High-Risk, never visited Company A): HIGH_STAKE, RISKY_PLAY and
# CORPORATE_ENGAGE (message CORPORATE_ENGAGE_FIRST) when calm; a LIMIT_SUGGESTION when marked.
WHALE_MESSAGES = ("HIGH_STAKE", "RISKY_PLAY", "CORPORATE_ENGAGE_FIRST", "LIMIT_SUGGESTION")


def pin_every_whale_message() -> dict[str, str]:
    """A pinned Korean variant of each message the whale can be shown; returns {message key: the variant's name}."""
    pinned = {}
    for key in WHALE_MESSAGES:
        name = f"pin-{key.lower().replace('_', '-')}"
        MessageVariant.objects.create(key=key, locale="ko", name=name, text=f"[{name}]", state="pinned")
        pinned[key] = name
    return pinned


def shown_rows(player_id: int) -> list[tuple[str, str, str, bool, bool]]:
    return sorted(
        RecommendationImpression.objects.filter(user_id=player_id).values_list(
            "proposal_type", "message_key", "variant", "holdout", "learning"
        )
    )


@pytest.mark.django_db
def test_a_served_variant_is_in_the_answer_and_its_impression_says_which_and_for_whom(player_client_factory):
    # given the calm whale and a pinned variant of each of their messages
    whale_with_tokens(PID)
    pinned = pin_every_whale_message()
    # when they open the app
    answer = player_client_factory(PID).get("/api/me/recommendations").json()
    # then each proposal is in its pinned wording, and each impression names message, variant, group and locale,
    # counted for learning
    assert [p["message"] for p in answer["proposals"]] == [
        "[pin-high-stake]",
        "[pin-risky-play]",
        "[pin-corporate-engage-first]",
    ]
    rows = RecommendationImpression.objects.filter(user_id=PID)
    assert sorted(
        rows.values_list("proposal_type", "message_key", "variant", "rfm_group", "locale", "holdout", "learning")
    ) == [
        ("CORPORATE_ENGAGE", "CORPORATE_ENGAGE_FIRST", pinned["CORPORATE_ENGAGE_FIRST"], "Whale", "ko", False, True),
        ("HIGH_STAKE", "HIGH_STAKE", pinned["HIGH_STAKE"], "Whale", "ko", False, True),
        ("RISKY_PLAY", "RISKY_PLAY", pinned["RISKY_PLAY"], "Whale", "ko", False, True),
    ]


def cool_off(player_id: int, now: dt.datetime) -> None:
    PlayerProtection.objects.create(player_id=player_id, cool_off_until=now + dt.timedelta(days=1))


def self_exclusion(player_id: int, now: dt.datetime) -> None:
    PlayerProtection.objects.create(player_id=player_id, self_excluded_until=now + dt.timedelta(days=200))


def spend_limit_used_up(player_id: int, now: dt.datetime) -> None:
    PlayerProtection.objects.create(player_id=player_id, daily_spend_limit=100)
    h.spend_at(player_id, 100, now - dt.timedelta(seconds=5))


def nightly_harm_marker(player_id: int, now: dt.datetime) -> None:
    h.harm_marker(player_id, "LOSS_CHASING", now)


PROTECTIONS = [cool_off, self_exclusion, spend_limit_used_up, nightly_harm_marker]


@pytest.mark.django_db
@pytest.mark.parametrize("protect", PROTECTIONS, ids=lambda f: f.__name__)
def test_a_protected_player_is_served_the_default_text_not_learnt_from_and_no_suppressed_proposal(protect):
    # given the whale under a protection, and a pinned variant of every message they could be shown
    whale_with_tokens(PID)
    now = timezone.now()
    protect(PID, now)
    pin_every_whale_message()
    engine_answer = recommend(h.context(PID, now), templates_build())
    # when they are served
    served = recommendation_serve(player_id=PID, now=now).recommendation
    # then exactly the engine's proposals, in its default wording (no suppressed one came back), and none of their
    # impressions is counted for learning
    assert served.proposals == engine_answer.proposals
    assert not {p.type for p in served.proposals} & {s.type for s in served.suppressed}
    assert served.suppressed == engine_answer.suppressed != ()
    assert all(variant == DEFAULT and not learning for _, _, variant, _, learning in shown_rows(PID))


@pytest.mark.django_db
@pytest.mark.parametrize("protect", PROTECTIONS, ids=lambda f: f.__name__)
def test_through_the_api_a_protected_player_sees_no_variant(protect, player_client_factory):
    # given the whale under a protection and a pinned variant of every message they could be shown
    whale_with_tokens(PID)
    protect(PID, timezone.now())
    pin_every_whale_message()
    # when they open the app
    answer = player_client_factory(PID).get("/api/me/recommendations").json()
    # then no message is a variant, nothing protection removed is offered, and no row is counted for learning
    assert not [p for p in answer["proposals"] if p["message"].startswith("[pin-")]
    assert not {p["type"] for p in answer["proposals"]} & {s["type"] for s in answer["suppressed"]}
    assert {"HIGH_STAKE"} <= {s["type"] for s in answer["suppressed"]}
    assert all(variant == DEFAULT and not learning for _, _, variant, _, learning in shown_rows(PID))


@pytest.mark.django_db(transaction=True)
def test_a_player_with_a_live_harm_signal_sees_no_variant_and_no_stake_raising_proposal(
    post_actions, player_client_factory
):
    # given the whale right after a loss-chasing burst, and a pinned variant of every message they could be shown
    whale_with_tokens(PID)
    post_actions(chasing_burst(PID, end=timezone.now()))
    pin_every_whale_message()
    # when they open the app
    answer = player_client_factory(PID).get("/api/me/recommendations").json()
    # then the limit suggestion leads in its default text, the stake-raising proposals stay removed, and no row is
    # counted for learning
    assert answer["proposals"][0]["type"] == "LIMIT_SUGGESTION"
    assert answer["proposals"][0]["message"] == text_render("LIMIT_SUGGESTION", "ko")
    assert not [p for p in answer["proposals"] if p["message"].startswith("[pin-")]
    assert {s["type"] for s in answer["suppressed"]} == {"HIGH_STAKE", "RISKY_PLAY"}
    assert all(variant == DEFAULT and not learning for _, _, variant, _, learning in shown_rows(PID))
    # and at the service, the same moment: exactly the engine's proposals in their default wording
    now = timezone.now()
    served = recommendation_serve(player_id=PID, now=now).recommendation
    assert served.proposals == recommend(h.context(PID, now), templates_build()).proposals


@pytest.mark.django_db
def test_a_stopped_variant_is_never_served_whatever_its_posterior(player_client_factory):
    # given a stopped variant of the whale's HIGH_STAKE message with a posterior far above the default's
    now = timezone.now()
    MessageVariant.objects.create(key="HIGH_STAKE", locale="ko", name="gone", text="[gone]", state="stopped")
    VariantPosterior.objects.create(
        proposal_type="HIGH_STAKE",
        message_key="HIGH_STAKE",
        variant="gone",
        rfm_group="Whale",
        locale="ko",
        impressions=100,
        conversions=90,
        alpha=91,
        beta=11,
        computed_at=now,
    )
    # when 40 whales are served
    messages = set()
    for n in range(40):
        whale_with_tokens(PID + n)
        messages |= {p.message for p in recommendation_serve(player_id=PID + n, now=now).recommendation.proposals}
    # then none saw it
    assert "[gone]" not in messages
    assert not RecommendationImpression.objects.filter(variant="gone").exists()


@pytest.mark.django_db
def test_before_the_first_nightly_run_the_default_and_the_active_variants_are_all_served():
    # given two active variants of HIGH_STAKE and no posterior at all
    now = timezone.now()
    for name in ("x", "y"):
        MessageVariant.objects.create(key="HIGH_STAKE", locale="ko", name=name, text=f"[{name}] {{token_balance}}")
    # when 60 whales are served
    for n in range(60):
        whale_with_tokens(PID + n)
        recommendation_serve(player_id=PID + n, now=now)
    # then each of the three wordings was served to a good share of them (Beta(1, 1) each: about a third)
    served = Counter(
        RecommendationImpression.objects.filter(proposal_type="HIGH_STAKE").values_list("variant", flat=True)
    )
    assert set(served) == {DEFAULT, "x", "y"}
    assert min(served.values()) >= 8


@pytest.mark.django_db
def test_with_variants_and_posteriors_the_hot_path_stays_one_query_per_request(
    player_client_factory, production_impression_buffer
):
    # given the calm whale, an active variant of each of their messages and a posterior for one
    whale_with_tokens(PID)
    for key in WHALE_MESSAGES:
        MessageVariant.objects.create(key=key, locale="ko", name="alt", text="[alt]")
    VariantPosterior.objects.create(
        proposal_type="HIGH_STAKE",
        message_key="HIGH_STAKE",
        variant="alt",
        rfm_group="Whale",
        locale="ko",
        impressions=10,
        conversions=1,
        alpha=2,
        beta=10,
        computed_at=timezone.now(),
    )
    client = player_client_factory(PID)
    client.get("/api/me/recommendations")  # the process's first request reads the texts, variants and posteriors
    # when they ask 10 times
    with CaptureQueriesContext(connection) as during:
        answers = [client.get("/api/me/recommendations") for _ in range(10)]
    # then each request made its one query (the context): the variants and posteriors came from this process's copy
    assert all(a.status_code == 200 for a in answers)
    assert len(during.captured_queries) == 10
    production_impression_buffer.flush()


@pytest.mark.django_db
def test_a_variant_saved_is_in_play_at_once_in_the_saving_process(player_client_factory):
    # given the calm whale served once (the variants, none, now kept by this process)
    whale_with_tokens(PID)
    client = player_client_factory(PID)
    client.get("/api/me/recommendations")
    # when an operator pins a HIGH_STAKE variant
    MessageVariant.objects.create(
        key="HIGH_STAKE", locale="ko", name="new", text="[new] {token_balance}", state="pinned"
    )
    # then the next answer has it
    answer = client.get("/api/me/recommendations").json()
    assert answer["proposals"][0]["message"] == "[new] 900"
