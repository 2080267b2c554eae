"""Player protection inside the wallet (design brief 6): spend limits per local day and week, cool-off
and self-exclusion refuse with a 409 naming why, and a refusal writes nothing."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.utils import timezone

from players import services as player_services
from tests import factories
from tests.wallet.helpers import counts, db_balance, fund, spend_at
from wallet.errors import SpendLimitReached

pytestmark = pytest.mark.django_db

SPEND = "/api/wallet/spend"
PURCHASE = "/api/wallet/purchase"
PLAYER = 4600
LA = zoneinfo.ZoneInfo("America/Los_Angeles")
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
DAY = dt.timedelta(days=1)


def spend_body(amount: int, key: str, **overrides: Any) -> dict[str, Any]:
    return {"user_id": PLAYER, "amount": amount, "game": "SlotMachine", "idempotency_key": key, **overrides}


def purchase_body(**overrides: Any) -> dict[str, Any]:
    return {
        "user_id": PLAYER,
        "tokens": 100,
        "amount_paid": "990.00",
        "currency": "KRW",
        "payment_id": "pay-7",
        **overrides,
    }


def player_with(tz: str = "Asia/Seoul", balance: int = 1000, **protection: Any) -> None:
    factories.make_player(id=PLAYER, timezone=tz)
    fund(PLAYER, balance)
    if protection:
        player_services.protection_update(player_id=PLAYER, changes=protection)


# --- limits through the API ------------------------------------------------------------------------------


def test_spend_past_the_daily_limit_is_409_and_writes_nothing(service_client):
    # given a daily limit of 100 and 80 spent today
    player_with(daily_spend_limit=100)
    assert service_client.post(SPEND, spend_body(80, "a"), format="json").status_code == 201
    before = counts(PLAYER)
    # when a spend of 30 is asked for
    response = service_client.post(SPEND, spend_body(30, "b"), format="json")
    # then it is refused with spend_limit_reached, saying the limit and what is left, and nothing is written
    assert response.status_code == 409
    answer = response.json()
    assert answer["error"] == "spend_limit_reached"
    assert "daily limit of 100" in answer["message"]
    assert "20 left" in answer["message"]
    assert list(answer["fields"]) == ["amount"]
    assert counts(PLAYER) == before
    # and what is left can still be spent
    assert service_client.post(SPEND, spend_body(20, "c"), format="json").status_code == 201


def test_spend_past_the_weekly_limit_is_409(service_client):
    # given a weekly limit of 150 (no daily limit) and 150 spent this week
    player_with(weekly_spend_limit=150)
    assert service_client.post(SPEND, spend_body(150, "a"), format="json").status_code == 201
    # when one more token is asked for
    response = service_client.post(SPEND, spend_body(1, "b"), format="json")
    # then it is refused naming the weekly limit
    assert response.status_code == 409
    assert response.json()["error"] == "spend_limit_reached"
    assert "weekly limit of 150" in response.json()["message"]
    assert db_balance(PLAYER) == 850


def test_earnings_do_not_make_room_under_a_limit(service_client):
    # given a daily limit of 100, all of it spent, then 500 tokens earned
    player_with(daily_spend_limit=100)
    service_client.post(SPEND, spend_body(100, "a"), format="json")
    fund(PLAYER, 500)
    # when one more token is asked for
    response = service_client.post(SPEND, spend_body(1, "b"), format="json")
    # then the limit counts spending only: refused
    assert response.status_code == 409
    assert response.json()["error"] == "spend_limit_reached"


def test_a_pending_raise_does_not_count_until_it_is_due():
    # given a daily limit of 100 with a raise to 1,000 waiting its 24 hours
    player_with(daily_spend_limit=100)
    now = timezone.now()
    player_services.protection_update(player_id=PLAYER, changes={"daily_spend_limit": 1000}, now=now)
    # when 150 are asked for before the raise is due, then after
    with pytest.raises(SpendLimitReached):
        spend_at(PLAYER, 150, now + dt.timedelta(hours=23))
    after = spend_at(PLAYER, 150, now + dt.timedelta(hours=25))
    # then the first is refused by the old limit, the second allowed by the new one
    assert after.entry.amount == -150


# --- the day and the week are the player's ------------------------------------------------------------


@pytest.mark.parametrize("tz", [LA, SEOUL], ids=["los_angeles", "seoul"])
def test_the_daily_limit_resets_at_the_players_local_midnight(tz):
    # given a daily limit of 100; "now" is 00:30 on Wednesday 18 November in the player's zone, which is
    # still the same UTC day as 23:59:59 the evening before
    player_with(tz=str(tz), daily_spend_limit=100)
    midnight = dt.datetime(2026, 11, 18, tzinfo=tz)
    now = midnight + dt.timedelta(minutes=30)
    spend_at(PLAYER, 80, midnight - dt.timedelta(seconds=1))
    # when 30 are spent at 00:30
    result = spend_at(PLAYER, 30, now)
    # then the 80 from the evening before do not count: allowed
    assert result.entry.amount == -30


@pytest.mark.parametrize("tz", [LA, SEOUL], ids=["los_angeles", "seoul"])
def test_a_spend_at_the_players_midnight_counts_for_the_new_day(tz):
    # given a daily limit of 100 and 80 spent at exactly 00:00:00 local time
    player_with(tz=str(tz), daily_spend_limit=100)
    midnight = dt.datetime(2026, 11, 18, tzinfo=tz)
    spend_at(PLAYER, 80, midnight)
    before = counts(PLAYER)
    # when 30 more are asked for at 00:30
    with pytest.raises(SpendLimitReached, match="80 spent so far, 20 left"):
        spend_at(PLAYER, 30, midnight + dt.timedelta(minutes=30))
    # then they are refused and nothing is written
    assert counts(PLAYER) == before


def test_the_day_follows_the_player_not_utc_nor_the_business_timezone():
    # given a player in Los Angeles with a daily limit of 100 who spent 60 at 23:00 local time on Tuesday
    # (07:00 UTC and 16:00 in Seoul on Wednesday)
    player_with(tz="America/Los_Angeles", daily_spend_limit=100)
    spend_at(PLAYER, 60, dt.datetime(2026, 11, 17, 23, tzinfo=LA))
    # when they spend 60 at 01:00 local time on Wednesday (09:00 UTC, 18:00 Seoul: the same day in both)
    result = spend_at(PLAYER, 60, dt.datetime(2026, 11, 18, 1, tzinfo=LA))
    # then it is allowed: in their own day they have spent nothing yet
    assert result.entry.amount == -60


def test_the_daily_limit_adds_up_every_spend_of_the_local_day():
    # given a daily limit of 100 and spends of 40 at 01:00 and 40 at 12:00 local time
    player_with(tz="America/Los_Angeles", daily_spend_limit=100)
    day = dt.datetime(2026, 11, 18, tzinfo=LA)
    spend_at(PLAYER, 40, day + dt.timedelta(hours=1))
    spend_at(PLAYER, 40, day + dt.timedelta(hours=12))
    # when 30 are asked for at 23:59, then 20
    with pytest.raises(SpendLimitReached):
        spend_at(PLAYER, 30, day + dt.timedelta(hours=23, minutes=59))
    last = spend_at(PLAYER, 20, day + dt.timedelta(hours=23, minutes=59))
    # then 30 would pass 100 and is refused; 20 reaches it exactly and is allowed
    assert last.entry.amount == -20


def test_the_week_starts_on_monday_at_the_players_local_midnight():
    # given a weekly limit of 100 and 80 spent on Sunday 22 November at 23:59:59 Los Angeles time
    # (already Monday in UTC)
    player_with(tz="America/Los_Angeles", weekly_spend_limit=100)
    monday = dt.datetime(2026, 11, 23, tzinfo=LA)
    spend_at(PLAYER, 80, monday - dt.timedelta(seconds=1))
    # when 90 are spent at 00:30 on Monday, then 11 more on Saturday
    first = spend_at(PLAYER, 90, monday + dt.timedelta(minutes=30))
    with pytest.raises(SpendLimitReached, match="weekly limit of 100"):
        spend_at(PLAYER, 11, monday + dt.timedelta(days=5))
    # then Sunday's 80 belonged to last week (allowed), and Monday's 90 plus 11 would pass 100 (refused)
    assert first.entry.amount == -90


# --- cool-off and self-exclusion ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "length", "code"),
    [
        ("cool_off_until", 2 * DAY, "cooling_off"),
        ("self_excluded_until", 200 * DAY, "self_excluded"),
    ],
)
def test_spends_are_refused_during_cool_off_and_self_exclusion(service_client, field, length, code):
    # given a funded player who started a cool-off or a self-exclusion
    player_with(**{field: timezone.now() + length})
    before = counts(PLAYER)
    # when a spend is asked for
    response = service_client.post(SPEND, spend_body(10, "a"), format="json")
    # then it is a 409 naming the reason with its end, and nothing is written
    assert response.status_code == 409
    assert response.json()["error"] == code
    assert "until" in response.json()["message"]
    assert counts(PLAYER) == before


@pytest.mark.parametrize(
    ("field", "length", "code"),
    [
        ("cool_off_until", 2 * DAY, "cooling_off"),
        ("self_excluded_until", 200 * DAY, "self_excluded"),
    ],
)
def test_purchases_are_refused_during_cool_off_and_self_exclusion(service_client, field, length, code):
    # given a funded player who started a cool-off or a self-exclusion
    player_with(**{field: timezone.now() + length})
    before = counts(PLAYER)
    # when a purchase of tokens is recorded for them
    response = service_client.post(PURCHASE, purchase_body(), format="json")
    # then it is a 409 naming the reason, and no tokens are sold
    assert response.status_code == 409
    assert response.json()["error"] == code
    assert counts(PLAYER) == before


def test_self_exclusion_is_named_when_both_are_in_force(service_client):
    # given a player both cooling off and self-excluded
    player_with(cool_off_until=timezone.now() + 2 * DAY, self_excluded_until=timezone.now() + 200 * DAY)
    # when a spend is asked for
    response = service_client.post(SPEND, spend_body(10, "a"), format="json")
    # then the stronger safeguard is the one named
    assert response.json()["error"] == "self_excluded"


def test_spending_resumes_once_a_cool_off_has_ended(service_client):
    # given a cool-off that started three days ago for two days
    player_with()
    started = timezone.now() - 3 * DAY
    player_services.protection_update(player_id=PLAYER, changes={"cool_off_until": started + 2 * DAY}, now=started)
    # when a spend is asked for now
    response = service_client.post(SPEND, spend_body(10, "a"), format="json")
    # then it is accepted
    assert response.status_code == 201
    assert db_balance(PLAYER) == 990
