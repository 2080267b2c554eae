"""Rendering (``texts.catalog``): the spec's texts by locale, Korean for any other locale, the operators' overrides
read once per process and kept, a save or delete here seen at once, other processes' edits within the time to
live, and the default whenever an override cannot be used."""

from __future__ import annotations

import logging
import time

import pytest

from texts.catalog import catalog, catalog_compile, text_render
from texts.models import MessageTemplate

KEY = "NEW_TOKEN_ARRIVAL"
KO_500 = "A 업체에서 500 사이버 토큰을 획득했습니다! 바로 게임에서 사용해보세요."  # spec 2.2.3
EN_500 = "You have acquired 500 cyber tokens from Company A! Use them in the game now."  # spec 2.2.3, English


@pytest.mark.django_db
def test_defaults_are_the_spec_texts_in_korean_and_english():
    # given no operator override
    # when the NEW_TOKEN_ARRIVAL message for 500 tokens is rendered in each locale
    # then it is the spec's text
    assert text_render(KEY, "ko", earned_tokens=500) == KO_500
    assert text_render(KEY, "en", earned_tokens=500) == EN_500


@pytest.mark.django_db
def test_the_segment_upgrade_push_states_the_group_and_the_tokens():
    assert text_render("SEGMENT_UPGRADE", "ko", group="Whale", reward_tokens=1000) == (
        "등급이 Whale(으)로 올랐습니다. 보상으로 1000 사이버 토큰이 지급되었습니다."
    )
    assert text_render("SEGMENT_UPGRADE", "en", group="Whale", reward_tokens=1000) == (
        "Your tier is now Whale: 1000 cyber tokens have been added to your balance."
    )


@pytest.mark.django_db
@pytest.mark.parametrize("locale", ["fr", "ja", "", "KO", "en-US"])
def test_unknown_locale_falls_back_to_korean(locale):
    # given a locale we have no text for
    # when the message is rendered in it
    # then the Korean text is used
    assert text_render(KEY, locale, earned_tokens=500) == KO_500


@pytest.mark.django_db
def test_an_override_saved_in_this_process_is_seen_at_once():
    # given the default, rendered (so the catalog is cached)
    assert (
        text_render(KEY, "ko", earned_tokens=7)
        == "A 업체에서 7 사이버 토큰을 획득했습니다! 바로 게임에서 사용해보세요."
    )
    # when code saves an override (no admin)
    template = MessageTemplate.objects.create(key=KEY, locale="ko", text="A 업체 보상: {earned_tokens} 토큰")
    # then the next render uses it, and the other locale is untouched
    assert text_render(KEY, "ko", earned_tokens=7) == "A 업체 보상: 7 토큰"
    assert text_render(KEY, "en", earned_tokens=500) == EN_500
    # and an edit, then a delete, apply at once too
    template.text = "둘째 문구 {earned_tokens:,}"
    template.save()
    assert text_render(KEY, "ko", earned_tokens=7000) == "둘째 문구 7,000"
    template.delete()
    assert text_render(KEY, "ko", earned_tokens=500) == KO_500


@pytest.mark.django_db
def test_overrides_are_read_once_then_kept(django_assert_num_queries):
    # given an override, and the catalog read once
    MessageTemplate.objects.create(key=KEY, locale="en", text="+{earned_tokens} tokens")
    with django_assert_num_queries(1):
        catalog()
    # when many texts follow, of any message and locale
    with django_assert_num_queries(0):
        for n in range(5):
            assert text_render(KEY, "en", earned_tokens=n) == f"+{n} tokens"
            text_render("MID_STAKE", "ko", token_balance=n)
    # then no query is made: the overrides were read once


@pytest.mark.django_db
def test_other_processes_see_an_edit_within_the_time_to_live(settings, django_assert_num_queries):
    # given a short time to live, the catalog read, then an override written by another process (no signal here)
    settings.TEXTS_CACHE_SECONDS = 0.05
    assert text_render(KEY, "ko", earned_tokens=500) == KO_500
    MessageTemplate.objects.bulk_create([MessageTemplate(key=KEY, locale="ko", text="다른 문구 {earned_tokens}")])
    assert text_render(KEY, "ko", earned_tokens=500) == KO_500
    # when the time to live has passed
    time.sleep(0.06)
    # then the next text reads the overrides again, once
    with django_assert_num_queries(1):
        assert text_render(KEY, "ko", earned_tokens=500) == "다른 문구 500"


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["{tokens} 토큰", "{earned_tokens!r}", "지금 확률 UP {earned_tokens}", "토큰 }"])
def test_a_bad_override_written_around_the_checks_gives_way_to_the_default(text, caplog):
    # given an override, then broken by a bulk update that skips the model's checks
    MessageTemplate.objects.create(key=KEY, locale="ko", text="ok {earned_tokens}")
    MessageTemplate.objects.update(text=text)
    # when the message is rendered (in a process that reads the overrides now)
    with caplog.at_level(logging.ERROR, logger="texts.catalog"):
        rendered = text_render(KEY, "ko", earned_tokens=500)
    # then the default text is used rather than failing, and the skipped row is logged
    assert rendered == KO_500
    assert "NEW_TOKEN_ARRIVAL [ko] ignored" in caplog.text


def test_an_override_that_fails_with_the_players_values_gives_way_to_the_default(caplog):
    # given an override that passes the check (a number's format) but meets a value it cannot format
    texts = catalog_compile([("SEGMENT_UPGRADE", "en", "Tier {group}: +{reward_tokens:,}")])
    # when it is rendered with such a value
    with caplog.at_level(logging.ERROR, logger="texts.catalog"):
        rendered = texts.render("SEGMENT_UPGRADE", "en", group="Whale", reward_tokens="1000")
    # then the default is used and the failure logged
    assert rendered == "Your tier is now Whale: 1000 cyber tokens have been added to your balance."
    assert "cannot be rendered" in caplog.text
    # and with a number, the override is used
    assert texts.render("SEGMENT_UPGRADE", "en", group="Whale", reward_tokens=1000) == "Tier Whale: +1,000"


def test_an_override_for_an_unknown_locale_or_message_is_skipped():
    texts = catalog_compile([(KEY, "fr", "Bonjour {earned_tokens}"), ("NOPE", "ko", "x")])
    assert texts.render(KEY, "fr", earned_tokens=500) == KO_500
    assert "NOPE" not in texts.by_locale["ko"]
