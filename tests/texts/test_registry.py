"""The registry (``texts.registry``): every app's messages declared in ko and en, each default a fact (design brief
section 6) that renders with its placeholders; the one check an override must pass."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from players.models import Player
from texts.registry import (
    LOCALE_CHOICES,
    LOCALES,
    ODDS_WORDING,
    message_declare,
    message_get,
    message_keys,
    messages,
    placeholders_used,
    template_problem,
)

MESSAGES = [(m.key, locale) for m in messages() for locale in LOCALES]
SAMPLE = {int: 1234, str: "Whale"}


def test_each_apps_messages_are_registered():
    # given the apps' messages modules (found by TextsConfig.ready)
    # then every message the code sends is declared: the pushes (missions' and predictions' included), the reality
    # check, every recommendation text and the quiz's answer labels
    assert set(message_keys()) == {
        "NEW_TOKEN_ARRIVAL",
        "REALITY_CHECK",
        "SEGMENT_UPGRADE",
        "HIGH_STAKE",
        "MID_STAKE",
        "EARN_MORE",
        "RISKY_PLAY",
        "SAFE_PLAY",
        "CORPORATE_ENGAGE",
        "CORPORATE_ENGAGE_FIRST",
        "CORPORATE_MISSION",
        "QUIZ_MISSION",
        "LIMIT_SUGGESTION",
        "CONTENT_STAGE",
        "CONTENT_STAGE_SHORT",
        "MISSION_REWARD_COMPLETE_PROFILE_QUIZ",
        "MISSION_REWARD_COMPLETE_CORPORATE_QUIZ",
        "MISSION_REWARD_VISIT_CORPORATE_SITE",
        "CHURN_INVITATION",
        "VIP_AWARD",
        "QUIZ_SCALE_1",
        "QUIZ_SCALE_2",
        "QUIZ_SCALE_3",
        "QUIZ_SCALE_4",
        "QUIZ_SCALE_5",
        "QUIZ_YES",
        "QUIZ_NO",
    }


@pytest.mark.parametrize(("key", "locale"), MESSAGES)
def test_every_default_states_facts_only_and_renders_with_its_placeholders(key, locale):
    # given a registered message's default text (pushes included)
    message = message_get(key)
    text = message.default(locale)
    # when it is checked for odds or chance wording and rendered with a value for each of its placeholders
    rendered = text.format(**{name: SAMPLE[kind] for name, kind in message.placeholders.items()})
    # then there is no such wording, it passes the check an override must pass, and every value it names appears
    assert ODDS_WORDING.search(text) is None
    assert template_problem(key, text) is None
    for name in placeholders_used(text):
        assert str(SAMPLE[message.placeholders[name]]) in rendered


def test_every_message_has_both_locales_and_only_its_placeholders():
    # given the declared messages
    for message in messages():
        # then each has ko and en, each using only its declared placeholders, both the same ones (a translation
        # states the same facts)
        used = {locale: placeholders_used(message.default(locale)) for locale in LOCALES}
        assert all(message.default(locale) for locale in LOCALES), message.key
        assert used["ko"] <= set(message.placeholders), message.key
        assert used["en"] == used["ko"], message.key


def test_the_locales_are_the_players_locales():
    # given the locales texts offer and those a player may have
    # then they are the same (texts cannot import players, a higher layer)
    assert list(Player.Locale.choices) == LOCALE_CHOICES
    assert set(LOCALES) == set(Player.Locale.values)


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


@pytest.mark.parametrize(
    "text", ["A 업체에서 {earned_tokens} 토큰! 지금 룰렛 당첨 확률 UP", "+{earned_tokens} tokens: your jackpot chance"]
)
def test_the_odds_check_applies_to_pushes_too(text):
    # given a push text claiming odds
    # when it is checked as an override of NEW_TOKEN_ARRIVAL
    problem = template_problem("NEW_TOKEN_ARRIVAL", text)
    # then it is refused as not a fact
    assert problem is not None and "facts only" in problem


@pytest.mark.parametrize(
    ("key", "text", "why"),
    [
        ("MID_STAKE", "잔고 {balance}", "Unknown placeholder {balance}"),
        ("MID_STAKE", "잔고 {token_balance.__class__}", "Unknown placeholder"),
        ("MID_STAKE", "잔고 {token_balance[0]}", "Unknown placeholder"),
        ("MID_STAKE", "잔고 {}", "Unknown placeholder {}"),
        ("MID_STAKE", "잔고 {0}", "Unknown placeholder {0}"),
        ("MID_STAKE", "잔고 {token_balance!r}", "may only take a format"),
        ("MID_STAKE", "잔고 {token_balance:{token_balance}}", "may only take a format"),
        ("MID_STAKE", "잔고 {token_balance", "Not a valid template"),
        ("MID_STAKE", "잔고 }", "Not a valid template"),
        ("MID_STAKE", "잔고 {token_balance:s}", "Not a valid template"),
        ("NEW_TOKEN_ARRIVAL", "{tokens} 토큰", "Unknown placeholder {tokens}"),
        ("NEW_TOKEN_ARRIVAL", "{earned_tokens.real}", "Unknown placeholder"),
        ("NEW_TOKEN_ARRIVAL", "{earned_tokens!r}", "may only take a format"),
        ("NEW_TOKEN_ARRIVAL", "{earned_tokens", "Not a valid template"),
        ("SEGMENT_UPGRADE", "등급 {group:,}", "Not a valid template"),  # a word takes no thousands separator
        ("NEW_TOKEN_ARIVAL", "hi", "Unknown message"),
    ],
)
def test_the_check_names_what_cannot_be_rendered(key, text, why):
    # given a text with a problem
    # when it is checked
    # then the problem is named
    assert why in (template_problem(key, text) or "")


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("MID_STAKE", "보유 토큰 {token_balance:,}개"),
        ("NEW_TOKEN_ARRIVAL", "+{earned_tokens:,} 토큰"),
        ("SEGMENT_UPGRADE", "{group:>8}: +{reward_tokens:,}"),
        ("SAFE_PLAY", ""),
    ],
)
def test_the_check_accepts_formats_its_values_take(key, text):
    assert template_problem(key, text) is None


def test_declaring_a_default_that_claims_odds_fails_at_startup():
    # given a message whose default claims odds
    # when it is declared
    # then the declaration is refused, and nothing is registered
    with pytest.raises(ImproperlyConfigured, match="facts only"):
        message_declare("TEST_ODDS", ko="대박 확률 UP", en="Better odds now")
    assert "TEST_ODDS" not in message_keys()


def test_declaring_translations_that_state_other_facts_fails():
    # given a message whose English default drops a number the Korean one states
    # when it is declared
    # then it is refused
    with pytest.raises(ImproperlyConfigured, match="same placeholders"):
        message_declare("TEST_FACTS", ko="{n}개", en="some", placeholders={"n": int})
    assert "TEST_FACTS" not in message_keys()


def test_a_key_is_declared_once():
    # given a declared message
    known = message_get("NEW_TOKEN_ARRIVAL")
    # when the same declaration comes again (a module imported twice), nothing changes
    assert message_declare(known.key, ko=known.ko, en=known.en, placeholders=known.placeholders) is known
    # and another message under its key is refused
    with pytest.raises(ImproperlyConfigured, match="twice"):
        message_declare(known.key, ko="다른 문구", en="another text")
