"""Recommendation messages: facts-only defaults in ko and en, operator overrides checked on save and applied at
once, mission rewards from the one setting the granting code also reads."""

from __future__ import annotations

import dataclasses
import string

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from recommendations import messages
from recommendations.engine import recommend
from recommendations.messages import DEFAULTS, LOCALES, ODDS_WORDING, PLACEHOLDERS, template_problem, templates
from recommendations.missions import mission_reward, mission_rewards
from recommendations.models import RecommendationTemplate
from tests import factories
from tests.recommendations.test_engine import EXAMPLE

ADD_URL = "/admin/recommendations/recommendationtemplate/add/"
MID_STAKE_KO = "토큰이 250개 있어요! 슬롯머신으로 안정적인 보상을 노려보세요"


@pytest.fixture(autouse=True)
def _fresh_templates():
    messages.templates_invalidate()
    yield
    messages.templates_invalidate()


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(factories.make_staff_user())
    return client


def mid_stake_message(locale: str = "ko") -> str:
    return recommend(dataclasses.replace(EXAMPLE, locale=locale), templates()).proposals[0].message


# --- facts only -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "locale"), [(k, loc) for k in sorted(DEFAULTS) for loc in LOCALES])
def test_no_default_text_claims_odds(key, locale):
    # given a default text
    text = DEFAULTS[key][locale]
    # when it is checked for odds or chance wording
    # then there is none, and it passes the check an override must pass
    assert ODDS_WORDING.search(text) is None
    assert template_problem(key, text) is None


@pytest.mark.parametrize(
    "text",
    [
        "현재 {token_balance} 토큰 보유 중! 룰렛 한 판에 걸어보세요 → 빅윈 확률 UP",  # the spec's HIGH_STAKE text
        "위험을 즐기시는군요! 프리미엄 룰렛으로 한 방 노려보세요 → 빅윈 확률 15% UP",  # the spec's RISKY_PLAY text
        "지금 가지고 있는 토큰으로 슬롯에서 승률 20%↑",
        "{token_balance} tokens: better odds on roulette tonight",
        "Your chance to win is higher now",
    ],
)
def test_the_odds_check_catches_the_specs_claims(text):
    # given a text claiming odds (the spec's own among them)
    # when it is checked as an override of HIGH_STAKE
    problem = template_problem("HIGH_STAKE", text)
    # then it is refused as not a fact
    assert problem is not None and "facts only" in problem


def test_every_message_has_both_locales_and_only_its_placeholders():
    # given the defaults
    for key, by_locale in DEFAULTS.items():
        # then each has ko and en, each using only its declared placeholders, both the same ones (a translation
        # states the same facts)
        assert set(by_locale) == set(LOCALES), key
        used = {
            locale: {name for _, name, _, _ in string.Formatter().parse(text) if name}
            for locale, text in by_locale.items()
        }
        assert used["ko"] <= PLACEHOLDERS[key], key
        assert used["en"] == used["ko"], key


# --- overrides --------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_override_applies_at_once_and_delete_restores_the_default(staff):
    # given the default, already compiled
    assert mid_stake_message() == MID_STAKE_KO
    # when an operator adds a Korean wording in the admin
    response = staff.post(ADD_URL, {"key": "MID_STAKE", "locale": "ko", "text": "보유 토큰 {token_balance:,}개"})
    # then the next recommendation uses it with the player's number, and English is untouched
    assert response.status_code == 302
    assert mid_stake_message() == "보유 토큰 250개"
    assert mid_stake_message("en") == "You have 250 tokens! Go for steady rewards on the slot machine"
    # and when the operator deletes it, the default is back at once
    template = RecommendationTemplate.objects.get()
    response = staff.post(f"/admin/recommendations/recommendationtemplate/{template.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert mid_stake_message() == MID_STAKE_KO


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("잔고 {balance}", "Unknown placeholder {balance}"),
        ("잔고 {token_balance.__class__}", "Unknown placeholder"),
        ("잔고 {token_balance[0]}", "Unknown placeholder"),
        ("잔고 {}", "Unknown placeholder {}"),
        ("잔고 {token_balance!r}", "may only take a format"),
        ("잔고 {token_balance", "Not a valid template"),
        ("잔고 {token_balance:s}", "Not a valid template"),
        ("잔고 {token_balance}! 룰렛 확률 UP", "facts only"),
    ],
)
def test_admin_refuses_a_template_it_could_not_render_or_that_claims_odds(staff, text, why):
    # given a wording with a problem
    # when an operator saves it in the admin
    response = staff.post(ADD_URL, {"key": "MID_STAKE", "locale": "ko", "text": text})
    # then the form is shown again naming the problem, and nothing is stored
    assert response.status_code == 200
    assert why in response.content.decode()
    assert not RecommendationTemplate.objects.exists()


@pytest.mark.django_db
def test_code_cannot_store_a_bad_template_either():
    # given a template with a placeholder the message does not have
    template = RecommendationTemplate(key="CORPORATE_MISSION", locale="ko", text="{corporate_token_count} {secret}")
    # when code saves it without the admin
    # then the save refuses
    with pytest.raises(ValidationError, match="secret"):
        template.save()
    assert not RecommendationTemplate.objects.exists()


@pytest.mark.django_db
def test_a_bad_override_written_around_the_checks_gives_way_to_the_default():
    # given an override, then broken by a bulk update that skips the model's checks
    RecommendationTemplate.objects.create(key="MID_STAKE", locale="ko", text="ok {token_balance}")
    RecommendationTemplate.objects.update(text="broken {nope}")
    messages.templates_invalidate()
    # when a recommendation is made
    # then the default text is used rather than failing
    assert mid_stake_message() == MID_STAKE_KO


@pytest.mark.django_db
def test_overrides_are_read_once_then_kept(django_assert_num_queries):
    # given compiled templates
    templates()
    # when many recommendations follow
    with django_assert_num_queries(0):
        for _ in range(5):
            mid_stake_message()
    # then no query is made: the overrides were read once


@pytest.mark.django_db
def test_other_processes_reload_after_the_ttl(settings, django_assert_num_queries):
    # given compiled templates, then an override written by another process (no signal here)
    templates()
    RecommendationTemplate.objects.bulk_create(
        [RecommendationTemplate(key="MID_STAKE", locale="ko", text="다른 문구 {token_balance}")]
    )
    assert mid_stake_message() == MID_STAKE_KO
    # when the TTL has passed
    settings.RECOMMENDATION_TEMPLATES_TTL_SECONDS = 0
    # then the next call reads the overrides again
    with django_assert_num_queries(1):
        assert mid_stake_message() == "다른 문구 250"


# --- mission rewards ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_mission_rewards_come_from_settings_and_reach_the_messages(settings):
    # given configured rewards
    settings.MISSION_REWARDS = {
        "VISIT_CORPORATE_SITE": 40,
        "COMPLETE_CORPORATE_QUIZ": 350,
        "COMPLETE_PROFILE_QUIZ": 120,
    }
    # when the accessor is asked and a recommendation is made
    rec = recommend(dataclasses.replace(EXAMPLE, risk_profile=None), templates())
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


@pytest.mark.django_db
def test_the_admin_form_shows_each_default_and_its_placeholders(staff):
    # given a staff member
    # when they open the form for a new wording
    response = staff.get(ADD_URL)
    # then the defaults and the placeholders each message may use are listed beside it
    page = response.content.decode()
    assert response.status_code == 200
    assert "이번 달 토큰 획득이 {corporate_token_count}개예요." in page
    assert "{corporate_token_count}, {reward_tokens}" in page
