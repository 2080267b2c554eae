"""The engine's ``Templates`` (``recommendations.templates``): the texts catalog with the operators' overrides, read
once per process, and the mission rewards from the one setting the granting code also reads (read where Templates
is built, so a change applies at once)."""

from __future__ import annotations

import dataclasses

import pytest

from recommendations.engine import recommend
from recommendations.missions import mission_reward, mission_rewards
from recommendations.templates import templates_build
from tests.recommendations.test_engine import EXAMPLE
from texts.models import MessageTemplate

MID_STAKE_KO = "토큰이 250개 있어요! 슬롯머신으로 안정적인 보상을 노려보세요"


def mid_stake_message(locale: str = "ko") -> str:
    return recommend(dataclasses.replace(EXAMPLE, locale=locale), templates_build()).proposals[0].message


@pytest.mark.django_db
def test_the_spec_example_comes_out_exactly():
    assert mid_stake_message() == MID_STAKE_KO


@pytest.mark.django_db
def test_an_override_saved_here_reaches_the_next_recommendation():
    # given the default, already compiled
    assert mid_stake_message() == MID_STAKE_KO
    # when code saves an override
    MessageTemplate.objects.create(key="MID_STAKE", locale="en", text="{token_balance:,} tokens")
    # then the next recommendation in that locale uses it
    assert mid_stake_message("en") == "250 tokens"
    assert mid_stake_message() == MID_STAKE_KO


@pytest.mark.django_db
def test_a_bad_override_written_around_the_checks_gives_way_to_the_default():
    # given an override, then broken by a bulk update that skips the model's checks
    MessageTemplate.objects.create(key="MID_STAKE", locale="ko", text="ok {token_balance}")
    MessageTemplate.objects.update(text="broken {nope}")
    # when a recommendation is made by a process that reads the overrides now
    # then the default text is used rather than failing
    assert mid_stake_message() == MID_STAKE_KO


@pytest.mark.django_db
def test_overrides_are_read_once_then_kept(django_assert_num_queries):
    # given the texts read once
    templates_build()
    # when many recommendations follow
    with django_assert_num_queries(0):
        for _ in range(5):
            mid_stake_message()
    # then no query is made: the overrides were read once


@pytest.mark.django_db
def test_mission_rewards_come_from_settings_and_reach_the_messages(settings):
    # given the texts already compiled, then other configured rewards
    mid_stake_message()
    settings.MISSION_REWARDS = {
        "VISIT_CORPORATE_SITE": 40,
        "COMPLETE_CORPORATE_QUIZ": 350,
        "COMPLETE_PROFILE_QUIZ": 120,
    }
    # when the accessor is asked and a recommendation is made
    rec = recommend(dataclasses.replace(EXAMPLE, risk_profile=None), templates_build())
    # then the accessor, the message and the proposal's reward agree with the setting
    assert mission_reward("COMPLETE_CORPORATE_QUIZ") == 350
    mission, quiz = rec.proposals[1], rec.proposals[2]
    assert (mission.reward_tokens, quiz.reward_tokens) == (350, 120)
    assert "350토큰" in mission.message and "120 토큰" in quiz.message


@pytest.mark.parametrize("bad", [{}, {"VISIT_CORPORATE_SITE": 0}, {"VISIT_CORPORATE_SITE": "100"}])
def test_a_missing_or_bad_reward_setting_is_an_error(settings, bad):
    # given a broken MISSION_REWARDS setting
    settings.MISSION_REWARDS = {"COMPLETE_CORPORATE_QUIZ": 200, "COMPLETE_PROFILE_QUIZ": 200, **bad}
    # when the rewards are read
    # then it fails loudly instead of promising a wrong number
    with pytest.raises(ValueError, match="VISIT_CORPORATE_SITE"):
        mission_rewards()


def test_an_unknown_mission_has_no_reward():
    # given an action that is not a mission
    # when its reward is asked for
    # then it is an error
    with pytest.raises(KeyError):
        mission_reward("SET_SPEND_LIMIT")
