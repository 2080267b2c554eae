"""The one admin for every text (``texts.admin``) and the model's check on every save: an operator's wording applies
at once, anywhere the message is used (a push, a recommendation); a text that cannot be rendered or claims odds is
refused on the field; the defaults and placeholders are shown beside the form."""

from __future__ import annotations

import dataclasses

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from notifications.models import Notification
from recommendations.engine import recommend
from recommendations.templates import templates_build
from tests import factories
from tests.recommendations.test_engine import EXAMPLE
from texts.catalog import text_render
from texts.models import MessageTemplate

pytestmark = pytest.mark.django_db

KEY = "NEW_TOKEN_ARRIVAL"
KO_500 = "A 업체에서 500 사이버 토큰을 획득했습니다! 바로 게임에서 사용해보세요."  # spec 2.2.3
EN_500 = "You have acquired 500 cyber tokens from Company A! Use them in the game now."  # spec 2.2.3, English
MID_STAKE_KO = "토큰이 250개 있어요! 슬롯머신으로 안정적인 보상을 노려보세요"  # spec 2.3.4's example
LIST_URL = "/admin/texts/messagetemplate/"
ADD_URL = LIST_URL + "add/"


def admin_save(staff: Client, url: str, **fields: str) -> int:
    response = staff.post(url, {"key": KEY, "locale": "ko", **fields, "_save": "Save"})
    return response.status_code


def mid_stake_message(locale: str = "ko") -> str:
    return recommend(dataclasses.replace(EXAMPLE, locale=locale), templates_build()).proposals[0].message


def test_admin_override_changes_the_text_at_once(staff):
    # given the Korean default already rendered (and so cached)
    assert text_render(KEY, "ko", earned_tokens=500) == KO_500
    # when an operator adds a Korean wording in the admin
    status = admin_save(staff, ADD_URL, text="A 업체 보상: {earned_tokens} 토큰이 도착했습니다.")
    # then the next render uses it (the save dropped the cache)
    assert status == 302
    assert text_render(KEY, "ko", earned_tokens=500) == "A 업체 보상: 500 토큰이 도착했습니다."
    # and the English text is untouched
    assert text_render(KEY, "en", earned_tokens=500) == EN_500


def test_admin_edit_and_delete_of_an_override_apply_at_once(staff):
    # given an operator's Korean wording, rendered (cached)
    admin_save(staff, ADD_URL, text="첫 문구 {earned_tokens}")
    template = MessageTemplate.objects.get()
    assert text_render(KEY, "ko", earned_tokens=7) == "첫 문구 7"
    # when the operator edits it
    admin_save(staff, f"{LIST_URL}{template.pk}/change/", text="둘째 문구 {earned_tokens}")
    # then the edit applies at once
    assert text_render(KEY, "ko", earned_tokens=7) == "둘째 문구 7"
    # and when the operator deletes it, the default is back at once
    response = staff.post(f"{LIST_URL}{template.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert text_render(KEY, "ko", earned_tokens=500) == KO_500


def test_admin_bulk_delete_of_overrides_applies_at_once(staff):
    # given overrides in both locales, rendered (cached)
    admin_save(staff, ADD_URL, text="ko {earned_tokens}")
    admin_save(staff, ADD_URL, locale="en", text="en {earned_tokens}")
    assert (text_render(KEY, "ko", earned_tokens=1), text_render(KEY, "en", earned_tokens=1)) == ("ko 1", "en 1")
    # when the operator deletes both with the list's "delete selected" action
    ids = [str(pk) for pk in MessageTemplate.objects.values_list("pk", flat=True)]
    response = staff.post(LIST_URL, {"action": "delete_selected", "_selected_action": ids, "post": "yes"})
    # then the defaults are back at once
    assert response.status_code == 302
    assert MessageTemplate.objects.count() == 0
    assert text_render(KEY, "ko", earned_tokens=500) == KO_500
    assert text_render(KEY, "en", earned_tokens=500) == EN_500


def test_admin_override_of_a_recommendation_applies_at_once_and_delete_restores_the_default(staff):
    # given the default, already compiled
    assert mid_stake_message() == MID_STAKE_KO
    # when an operator adds a Korean wording in the admin
    response = staff.post(ADD_URL, {"key": "MID_STAKE", "locale": "ko", "text": "보유 토큰 {token_balance:,}개"})
    # then the next recommendation uses it with the player's number, and English is untouched
    assert response.status_code == 302
    assert mid_stake_message() == "보유 토큰 250개"
    assert mid_stake_message("en") == "You have 250 tokens! Go for steady rewards on the slot machine"
    # and when the operator deletes it, the default is back at once
    template = MessageTemplate.objects.get()
    response = staff.post(f"{LIST_URL}{template.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert mid_stake_message() == MID_STAKE_KO


@pytest.mark.parametrize(
    ("key", "text", "why"),
    [
        (KEY, "{tokens} 토큰", "Unknown placeholder {tokens}"),
        (KEY, "{} 토큰", "Unknown placeholder {}"),
        (KEY, "{earned_tokens 토큰", "Not a valid template"),
        (KEY, "토큰 }", "Not a valid template"),
        (KEY, "{earned_tokens:s}", "Not a valid template"),
        (KEY, "{earned_tokens} 토큰! 룰렛 당첨 확률 UP", "facts only"),
        ("MID_STAKE", "잔고 {balance}", "Unknown placeholder {balance}"),
        ("MID_STAKE", "잔고 {token_balance.__class__}", "Unknown placeholder"),
        ("MID_STAKE", "잔고 {token_balance[0]}", "Unknown placeholder"),
        ("MID_STAKE", "잔고 {}", "Unknown placeholder {}"),
        ("MID_STAKE", "잔고 {token_balance!r}", "may only take a format"),
        ("MID_STAKE", "잔고 {token_balance", "Not a valid template"),
        ("MID_STAKE", "잔고 {token_balance:s}", "Not a valid template"),
        ("MID_STAKE", "잔고 {token_balance}! 룰렛 확률 UP", "facts only"),
    ],
)
def test_admin_refuses_a_text_it_could_not_render_or_that_claims_odds(staff, key, text, why):
    # given a wording with an unknown placeholder, a stray brace, a conversion or odds wording
    # when an operator saves it in the admin
    response = staff.post(ADD_URL, {"key": key, "locale": "ko", "text": text, "_save": "Save"})
    # then the form is shown again with the problem named on the text, and nothing is stored
    assert response.status_code == 200
    assert any(why in error for error in response.context["adminform"].form.errors["text"])
    assert not MessageTemplate.objects.exists()


def test_admin_refuses_an_unknown_message_key(staff):
    # given a key no message has
    # when it is saved in the admin
    response = staff.post(ADD_URL, {"key": "NEW_TOKEN_ARIVAL", "locale": "ko", "text": "hi", "_save": "Save"})
    # then the form shows an error on the key
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["key"]
    assert not MessageTemplate.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field", "why"),
    [
        ({"key": "CORPORATE_MISSION", "text": "{corporate_token_count} {secret}"}, "text", "secret"),
        ({"key": "SEGMENT_UPGRADE", "text": "{group} 대박 보너스"}, "text", "facts only"),
        ({"key": "NO_SUCH_MESSAGE", "text": "hi"}, "key", "Unknown message"),
        ({"key": KEY, "locale": "fr", "text": "{earned_tokens}"}, "locale", "Unknown locale"),
    ],
)
def test_code_cannot_store_a_bad_template_either(fields, field, why):
    # given a template with a problem
    template = MessageTemplate(**{"locale": "ko", **fields})
    # when code saves it without the admin
    # then the save refuses, naming the field at fault
    with pytest.raises(ValidationError) as refused:
        template.save()
    assert why in " ".join(refused.value.message_dict[field])
    assert not MessageTemplate.objects.exists()


def test_the_admin_form_shows_each_default_and_its_placeholders(staff):
    # given a staff member
    # when they open the form for a new wording
    response = staff.get(ADD_URL)
    # then the key is chosen among the declared messages, and the defaults and the placeholders each message may
    # use are listed beside it, pushes and recommendations alike
    page = response.content.decode()
    assert response.status_code == 200
    assert '<option value="SEGMENT_UPGRADE">' in page and '<option value="QUIZ_MISSION">' in page
    assert "이번 달 토큰 획득이 {corporate_token_count}개예요." in page
    assert "{corporate_token_count}, {reward_tokens}" in page
    assert "You have acquired {earned_tokens} cyber tokens from Company A!" in page
    assert "{group}, {reward_tokens}" in page


def test_the_company_a_push_uses_the_operators_wording(staff, client):
    # given an operator's English wording and an English-speaking player 123
    admin_save(staff, ADD_URL, locale="en", text="+{earned_tokens} tokens from Company A.")
    factories.make_player(id=123, locale="en")
    # when Company A reports 500 tokens
    body = factories.token_earned_body(user_id=123, earned_tokens=500)
    client.post(
        "/api/corporate/webhook",
        data=body,
        content_type="application/json",
        **factories.as_meta(factories.webhook_headers(body)),
    )
    # then the push carries the operator's text, in the spec's object
    assert Notification.objects.get().payload == {
        "type": "NEW_TOKEN_ARRIVAL",
        "user_id": 123,
        "earned_tokens": 500,
        "message": "+500 tokens from Company A.",
    }
