"""The monthly purchase limit (issue 13, item 6; docs/decisions/0005): tokens bought for cash per calendar month of the
business timezone, set by the player, refused past it with a 409 naming ``tokens`` and what is left this month."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.utils import timezone

from players import services as player_services
from tests import factories
from tests.wallet.helpers import counts, fund, purchase_at, spend
from wallet.errors import PurchaseLimitReached

pytestmark = pytest.mark.django_db

PURCHASE = "/api/wallet/purchase"
PLAYER = 4800
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")  # the business timezone (settings.BUSINESS_TIMEZONE)


def body(tokens: int, payment_id: str) -> dict[str, Any]:
    return {"user_id": PLAYER, "tokens": tokens, "amount_paid": "1.00", "currency": "USD", "payment_id": payment_id}


def player_with(tz: str = "Asia/Seoul", **protection: Any) -> None:
    factories.make_player(id=PLAYER, timezone=tz)
    if protection:
        player_services.protection_update(player_id=PLAYER, changes=protection)


def test_a_purchase_past_the_monthly_limit_is_409_naming_tokens_and_what_is_left(service_client):
    # given a monthly purchase limit of 1,000 tokens and 700 bought this month
    player_with(monthly_purchase_limit=1000)
    assert service_client.post(PURCHASE, body(700, "pay-1"), format="json").status_code == 201
    before = counts(PLAYER)
    # when 400 more are bought
    response = service_client.post(PURCHASE, body(400, "pay-2"), format="json")
    # then it is refused, saying the limit and the 300 left, naming tokens, and nothing is written
    assert response.status_code == 409
    answer = response.json()
    assert answer["error"] == "purchase_limit_reached"
    assert "monthly purchase limit of 1000 tokens" in answer["message"]
    assert "700 bought this month, 300 left" in answer["message"]
    assert answer["fields"] == {"tokens": ["Monthly purchase limit 1000, 300 left this month."]}
    assert counts(PLAYER) == before
    # and the 300 left can be bought, to the limit exactly
    assert service_client.post(PURCHASE, body(300, "pay-3"), format="json").status_code == 201


def test_the_month_is_the_calendar_month_of_the_business_timezone():
    # given a limit of 1,000 and 900 bought at 23:59:59 on 31 October, Seoul time, by a player in Los Angeles
    # (where it is still the morning of the 31st when Seoul's November starts)
    player_with(tz="America/Los_Angeles", monthly_purchase_limit=1000)
    november = dt.datetime(2026, 11, 1, tzinfo=SEOUL)
    purchase_at(PLAYER, 900, november - dt.timedelta(seconds=1))
    # when 1,000 are bought at 00:00:00 on 1 November, Seoul time, and then one more that month
    first = purchase_at(PLAYER, 1000, november)
    with pytest.raises(PurchaseLimitReached, match="1000 bought this month, 0 left"):
        purchase_at(PLAYER, 1, november + dt.timedelta(days=29, hours=23))
    # then October's 900 did not count in November, and November's 1,000 used the limit up
    assert first.entry.amount == 1000


def test_spending_does_not_make_room_under_the_purchase_limit():
    # given a limit of 1,000, all of it bought this month
    player_with(monthly_purchase_limit=1000)
    purchase_at(PLAYER, 1000, timezone.now())
    # when the player spends 600 and buys one more token
    spend(PLAYER, 600)
    # then the limit counts purchases only: refused
    with pytest.raises(PurchaseLimitReached):
        purchase_at(PLAYER, 1, timezone.now())


def test_earned_tokens_do_not_count_against_the_purchase_limit():
    # given a limit of 1,000 and 5,000 tokens earned this month
    player_with(monthly_purchase_limit=1000)
    fund(PLAYER, 5000)
    # when 1,000 are bought
    result = purchase_at(PLAYER, 1000, timezone.now())
    # then it is allowed: only tokens bought for cash count
    assert result.entry.amount == 1000


def test_a_pending_raise_of_the_purchase_limit_does_not_count_until_it_is_due():
    # given a limit of 100 with a raise to 1,000 waiting its 24 hours
    player_with(monthly_purchase_limit=100)
    now = dt.datetime(2026, 11, 10, 12, tzinfo=SEOUL)
    player_services.protection_update(player_id=PLAYER, changes={"monthly_purchase_limit": 1000}, now=now)
    # when 150 are bought 23 hours later, then 25 hours later
    with pytest.raises(PurchaseLimitReached):
        purchase_at(PLAYER, 150, now + dt.timedelta(hours=23))
    after = purchase_at(PLAYER, 150, now + dt.timedelta(hours=25))
    # then the first is refused by the old limit, the second allowed by the new one
    assert after.entry.amount == 150


def test_a_retried_purchase_gets_its_first_answer_once_the_limit_is_used_up(service_client):
    # given a limit of 1,000 and a purchase of 1,000 answered
    player_with(monthly_purchase_limit=1000)
    first = service_client.post(PURCHASE, body(1000, "pay-1"), format="json")
    # when the payment provider's callback is delivered again
    retry = service_client.post(PURCHASE, body(1000, "pay-1"), format="json")
    # then it is the first answer, not a refusal: nothing new is bought
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
