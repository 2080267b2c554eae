"""Message texts (design brief section 5): defaults in ko and en, operator overrides edited in the admin, unknown
locales falling back to Korean."""

from __future__ import annotations

import pytest
from django.test import Client

from notifications.messages import message_render
from notifications.models import MessageTemplate, Notification
from tests import factories

pytestmark = pytest.mark.django_db

KEY = "NEW_TOKEN_ARRIVAL"
KO_500 = "A 업체에서 500 사이버 토큰을 획득했습니다! 바로 게임에서 사용해보세요."  # spec 2.2.3
EN_500 = "You have acquired 500 cyber tokens from Company A! Use them in the game now."  # spec 2.2.3, English
ADD_URL = "/admin/notifications/messagetemplate/add/"


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(factories.make_staff_user())
    return client


def admin_save(staff: Client, url: str, **fields: str) -> int:
    response = staff.post(url, {"key": KEY, "locale": "ko", **fields, "_save": "Save"})
    return response.status_code


def test_defaults_are_the_spec_texts_in_korean_and_english():
    # given no operator override
    # when the NEW_TOKEN_ARRIVAL message for 500 tokens is rendered in each locale
    # then it is the spec's text
    assert message_render(KEY, "ko", earned_tokens=500) == KO_500
    assert message_render(KEY, "en", earned_tokens=500) == EN_500


@pytest.mark.parametrize("locale", ["fr", "ja", "", "KO", "en-US"])
def test_unknown_locale_falls_back_to_korean(locale):
    # given a locale we have no text for
    # when the message is rendered in it
    # then the Korean text is used
    assert message_render(KEY, locale, earned_tokens=500) == KO_500


def test_admin_override_changes_the_text_at_once(staff):
    # given the Korean default already rendered (and so cached)
    assert message_render(KEY, "ko", earned_tokens=500) == KO_500
    # when an operator adds a Korean wording in the admin
    status = admin_save(staff, ADD_URL, text="A 업체 보상: {earned_tokens} 토큰이 도착했습니다.")
    # then the next render uses it (the admin's save cleared the cache)
    assert status == 302
    assert message_render(KEY, "ko", earned_tokens=500) == "A 업체 보상: 500 토큰이 도착했습니다."
    # and the English text is untouched
    assert message_render(KEY, "en", earned_tokens=500) == EN_500


def test_admin_edit_and_delete_of_an_override_apply_at_once(staff):
    # given an operator's Korean wording, rendered (cached)
    admin_save(staff, ADD_URL, text="첫 문구 {earned_tokens}")
    template = MessageTemplate.objects.get()
    assert message_render(KEY, "ko", earned_tokens=7) == "첫 문구 7"
    # when the operator edits it
    admin_save(staff, f"/admin/notifications/messagetemplate/{template.pk}/change/", text="둘째 문구 {earned_tokens}")
    # then the edit applies at once
    assert message_render(KEY, "ko", earned_tokens=7) == "둘째 문구 7"
    # and when the operator deletes it, the default is back at once
    response = staff.post(f"/admin/notifications/messagetemplate/{template.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert message_render(KEY, "ko", earned_tokens=500) == KO_500


def test_admin_bulk_delete_of_overrides_applies_at_once(staff):
    # given overrides in both locales, rendered (cached)
    admin_save(staff, ADD_URL, text="ko {earned_tokens}")
    admin_save(staff, ADD_URL, locale="en", text="en {earned_tokens}")
    assert (message_render(KEY, "ko", earned_tokens=1), message_render(KEY, "en", earned_tokens=1)) == ("ko 1", "en 1")
    # when the operator deletes both with the list's "delete selected" action
    ids = [str(pk) for pk in MessageTemplate.objects.values_list("pk", flat=True)]
    response = staff.post(
        "/admin/notifications/messagetemplate/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"}
    )
    # then the defaults are back at once
    assert response.status_code == 302
    assert MessageTemplate.objects.count() == 0
    assert message_render(KEY, "ko", earned_tokens=500) == KO_500
    assert message_render(KEY, "en", earned_tokens=500) == EN_500


@pytest.mark.parametrize("text", ["{tokens} 토큰", "{} 토큰", "{earned_tokens 토큰", "토큰 }", "{earned_tokens:s}"])
def test_admin_refuses_a_text_that_cannot_be_rendered(staff, text):
    # given an operator's wording with an unknown placeholder or a stray brace
    # when it is saved in the admin
    response = staff.post(ADD_URL, {"key": KEY, "locale": "ko", "text": text, "_save": "Save"})
    # then the form is shown again with an error on the text, and nothing is stored
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["text"]
    assert MessageTemplate.objects.count() == 0


def test_admin_refuses_an_unknown_message_key(staff):
    # given a key no message has
    # when it is saved in the admin
    response = staff.post(ADD_URL, {"key": "NEW_TOKEN_ARIVAL", "locale": "ko", "text": "hi", "_save": "Save"})
    # then the form shows an error on the key
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["key"]
    assert MessageTemplate.objects.count() == 0


def test_a_broken_override_stored_outside_the_admin_falls_back_to_the_default():
    # given an override with an unknown placeholder, written straight to the table (not through the admin)
    MessageTemplate.objects.create(key=KEY, locale="ko", text="{tokens} 토큰")
    # when the message is rendered
    # then the default text is used rather than failing
    assert message_render(KEY, "ko", earned_tokens=500) == KO_500


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
