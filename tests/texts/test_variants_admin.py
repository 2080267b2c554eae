"""The message variants' admin (``texts.admin.MessageVariantAdmin``, issue 18 item 5): a variant is checked as an
override is (odds wording refused on the text field), an operator pins a winner (one per message and locale) or stops
a variant, and the list shows each variant's posterior mean and share of the last 7 days' impressions."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from recommendations.impressions import ImpressionRow
from recommendations.models import VariantPosterior
from recommendations.proposal_ids import proposal_id_new
from recommendations.services import impressions_record
from texts.catalog import variants
from texts.models import MessageVariant

pytestmark = pytest.mark.django_db

LIST_URL = "/admin/texts/messagevariant/"
ADD_URL = LIST_URL + "add/"


def add(staff: Client, **fields: str):
    data = {"key": "MID_STAKE", "locale": "ko", "name": "short-a", "state": "active", **fields, "_save": "Save"}
    return staff.post(ADD_URL, data)


def make(name: str, state: str = "active", key: str = "MID_STAKE", locale: str = "ko") -> MessageVariant:
    return MessageVariant.objects.create(
        key=key, locale=locale, name=name, text=f"[{name}] {{token_balance}}", state=state
    )


def act(staff: Client, action: str, *chosen: MessageVariant):
    return staff.post(LIST_URL, {"action": action, "_selected_action": [v.id for v in chosen]}, follow=True)


def test_a_variant_with_odds_wording_is_refused_on_the_text_field(staff):
    # given the add form
    # when an operator writes a variant that claims better chances
    response = add(staff, text="{token_balance} 토큰! 지금 당첨 확률 UP")
    # then the form comes back with the error on the text, and nothing is stored
    assert response.status_code == 200
    assert "text" in response.context["adminform"].form.errors
    assert "facts only" in response.context["adminform"].form.errors["text"][0]
    assert not MessageVariant.objects.exists()


def test_a_variant_with_another_messages_placeholder_or_the_reserved_name_is_refused(staff):
    # given the add form
    # when an operator uses a placeholder MID_STAKE does not have, or names the variant "default"
    wrong_placeholder = add(staff, text="{tokens_short}개 부족")
    reserved = add(staff, name="default", text="{token_balance} 토큰")
    # then each is refused on its field
    assert "text" in wrong_placeholder.context["adminform"].form.errors
    assert "name" in reserved.context["adminform"].form.errors
    assert not MessageVariant.objects.exists()


def test_a_good_variant_is_stored_and_in_play_at_once(staff):
    # given the variants in play read (none)
    assert variants() == {}
    # when an operator adds a facts-only variant
    response = add(staff, text="보유 토큰 {token_balance}개, 슬롯머신 한 판 어때요?")
    # then it is stored and in play in this process at once
    assert response.status_code == 302
    assert [v.name for v in variants()[("MID_STAKE", "ko")]] == ["short-a"]


def test_pinning_a_variant_unpins_the_other_of_its_message_and_locale(staff):
    # given "a" pinned, "b" active, and an English variant pinned
    make("a", "pinned"), make("a", "pinned", locale="en")
    b = make("b")
    # when an operator pins "b"
    response = act(staff, "pin_as_winner", b)
    # then "b" is the winner, "a" is active again, the English winner is untouched, and the change is in play at once
    assert response.status_code == 200
    states = {(v.locale, v.name): v.state for v in MessageVariant.objects.all()}
    assert states == {("ko", "a"): "active", ("ko", "b"): "pinned", ("en", "a"): "pinned"}
    assert [(v.name, v.pinned) for v in variants()[("MID_STAKE", "ko")]] == [("a", False), ("b", True)]


def test_two_winners_of_one_message_and_locale_are_refused(staff):
    # given two active variants of one message and locale
    a, b = make("a"), make("b")
    # when an operator tries to pin both at once
    response = act(staff, "pin_as_winner", a, b)
    # then neither is pinned and the operator is told why
    assert set(MessageVariant.objects.values_list("state", flat=True)) == {"active"}
    assert "only one variant can be the winner" in response.content.decode()
    # and the database itself refuses a second pinned row
    make("c", "pinned")
    with pytest.raises((IntegrityError, ValidationError)), transaction.atomic():
        make("d", "pinned")


def test_stopping_a_variant_takes_it_out_of_play_at_once(staff):
    # given two variants in play, one pinned
    a, b = make("a", "pinned"), make("b")
    assert len(variants()[("MID_STAKE", "ko")]) == 2
    # when an operator stops both
    act(staff, "stop", a, b)
    # then neither is in play any more
    assert set(MessageVariant.objects.values_list("state", flat=True)) == {"stopped"}
    assert ("MID_STAKE", "ko") not in variants()


def test_the_list_shows_each_variants_posterior_mean_and_share_of_the_last_7_days(staff):
    # given two variants; posteriors of "a" for two groups; 8 recent impressions (a: 2, b: 1, the default: 5), one
    # 8 days old and one withheld from a holdout player (neither counted)
    now = timezone.now()
    make("a"), make("b")
    for group, alpha, beta in (("Whale", 11.0, 91.0), ("Low", 5.0, 95.0)):
        VariantPosterior.objects.create(
            proposal_type="MID_STAKE",
            message_key="MID_STAKE",
            variant="a",
            rfm_group=group,
            locale="ko",
            alpha=alpha,
            beta=beta,
            computed_at=now,
        )
    served = [("a", now), ("a", now), ("b", now)] + [("", now)] * 5 + [("b", now - dt.timedelta(days=8))]
    rows = [
        ImpressionRow(
            proposal_id_new(7000),
            7000,
            "MID_STAKE",
            "token_balance",
            0,
            None,
            None,
            {},
            at,
            "MID_STAKE",
            name,
            "",
            "ko",
        )
        for name, at in served
    ]
    rows.append(rows[-1]._replace(proposal_id=proposal_id_new(7000), served_at=now, variant="b", holdout=True))
    impressions_record(rows=rows)
    # when an operator opens the list
    page = staff.get(LIST_URL).content.decode()
    # then "a" shows its posterior mean pooled over the groups (1 + 10 + 4 over 1 + 10 + 4 + 1 + 90 + 94: 15/200) and
    # 2 of 8 impressions, "b" no posterior and 1 of 8
    assert "7.50%" in page and "25.0%" in page and "12.5%" in page
