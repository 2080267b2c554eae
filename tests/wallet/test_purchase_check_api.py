"""POST /api/wallet/purchase/check (issue 13, item 6): the purchase's own rules asked before the player pays, so a
paused player, or one past their monthly purchase limit, is refused before any money moves. It writes nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.exceptions import DomainError
from players import services as player_services
from players.models import Player, PlayerProtection
from tests import factories
from tests.wallet.helpers import counts, fund
from wallet import services

pytestmark = pytest.mark.django_db

CHECK = "/api/wallet/purchase/check"
PURCHASE = "/api/wallet/purchase"
PLAYER = 4700
DAY = dt.timedelta(days=1)


def check_body(**overrides: Any) -> dict[str, Any]:
    return {"user_id": PLAYER, "tokens": 500, "amount_paid": "4900.00", "currency": "KRW", **overrides}


def purchase_body(**overrides: Any) -> dict[str, Any]:
    return {**check_body(), "payment_id": "pay-check-1", **overrides}


def player_with(**protection: Any) -> None:
    factories.make_player(id=PLAYER)
    fund(PLAYER, 100)
    if protection:
        player_services.protection_update(player_id=PLAYER, changes=protection)


@pytest.mark.parametrize(
    ("field", "length", "code"),
    [("cool_off_until", 2 * DAY, "cooling_off"), ("self_excluded_until", 200 * DAY, "self_excluded")],
)
def test_a_purchase_by_a_paused_player_is_refused_by_the_pre_check_and_by_the_purchase_alike(
    service_client, field, length, code
):
    # given a player in a cool-off or a self-exclusion
    player_with(**{field: timezone.now() + length})
    before = counts(PLAYER)
    # when the shop asks before the player pays, and the purchase is recorded anyway
    check = service_client.post(CHECK, check_body(), format="json")
    purchase = service_client.post(PURCHASE, purchase_body(), format="json")
    # then both are the same 409 naming the reason and its end, and no tokens are sold
    assert check.status_code == purchase.status_code == 409
    assert check.json() == purchase.json()
    assert check.json()["error"] == code
    assert "until" in check.json()["message"]
    assert counts(PLAYER) == before


def test_the_pre_check_allows_a_purchase_the_rules_allow_and_writes_nothing(service_client):
    # given a player with a daily spend limit and a monthly purchase limit the purchase stays within
    player_with(daily_spend_limit=10, monthly_purchase_limit=500)
    before = (counts(PLAYER), PlayerProtection.objects.filter(player_id=PLAYER).values().get())
    # when the shop asks about a purchase of 500 tokens
    with CaptureQueriesContext(connection) as queries:
        response = service_client.post(CHECK, check_body(), format="json")
    # then it is allowed, and nothing was written: no statement but reads
    assert response.status_code == 200
    assert response.json() == {"allowed": True}
    writes = [q["sql"] for q in queries if q["sql"].lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]
    assert writes == []
    assert (counts(PLAYER), PlayerProtection.objects.filter(player_id=PLAYER).values().get()) == before


def test_the_pre_check_for_a_player_never_seen_allows_and_makes_no_player(service_client):
    # given no player 4799
    # when the shop asks about their first purchase
    response = service_client.post(CHECK, check_body(user_id=4799), format="json")
    # then it is allowed and the player is not made (the purchase will make them)
    assert response.json() == {"allowed": True}
    assert not Player.objects.filter(id=4799).exists()


def test_the_pre_check_refuses_a_purchase_past_the_monthly_limit_as_the_purchase_does(service_client):
    # given a monthly purchase limit of 800 tokens, 500 of them bought this month
    player_with(monthly_purchase_limit=800)
    assert service_client.post(PURCHASE, purchase_body(payment_id="pay-earlier"), format="json").status_code == 201
    before = counts(PLAYER)
    # when another 500 are asked about, then recorded
    check = service_client.post(CHECK, check_body(), format="json")
    purchase = service_client.post(PURCHASE, purchase_body(), format="json")
    # then both refuse alike, naming tokens and the 300 left this month, and nothing is written
    assert check.status_code == purchase.status_code == 409
    assert check.json() == purchase.json()
    assert check.json()["error"] == "purchase_limit_reached"
    assert "300 left" in check.json()["message"]
    assert list(check.json()["fields"]) == ["tokens"]
    assert counts(PLAYER) == before
    # and the 300 left pass both
    assert service_client.post(CHECK, check_body(tokens=300), format="json").json() == {"allowed": True}
    assert service_client.post(PURCHASE, purchase_body(tokens=300), format="json").status_code == 201


def test_the_pre_check_and_the_purchase_share_one_rule(service_client, monkeypatch):
    # given the one function that holds the purchase's rules, replaced by a rule that refuses everything
    class Refused(DomainError):
        code = "planted_rule"

    def refuse(**kwargs: Any) -> None:
        raise Refused("A planted rule.")

    monkeypatch.setattr(services, "purchase_rules_check", refuse)
    # when the pre-check and the purchase are asked
    check = service_client.post(CHECK, check_body(), format="json")
    purchase = service_client.post(PURCHASE, purchase_body(), format="json")
    # then both refuse by it: they share it, no copy of the rules can drift from the other
    assert check.status_code == purchase.status_code == 409
    assert check.json()["error"] == purchase.json()["error"] == "planted_rule"


@pytest.mark.parametrize(
    ("field", "value"),
    [("tokens", 0), ("tokens", "500"), ("amount_paid", "-1.00"), ("currency", "krw"), ("user_id", 0)],
)
def test_bad_input_to_the_pre_check_is_400_naming_the_field(service_client, field, value):
    # given a pre-check with one bad field
    # when it is sent
    response = service_client.post(CHECK, check_body(**{field: value}), format="json")
    # then the answer is 400 naming exactly that field, as the purchase would
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]


def test_the_pre_check_needs_no_payment_id(service_client):
    # given a pre-check without a payment_id (the player has not paid yet)
    # when it is sent
    response = service_client.post(CHECK, check_body(), format="json")
    # then it is answered
    assert response.status_code == 200


def test_only_services_may_ask(api_client, player_client_factory):
    # given a player's app and an anonymous caller
    # when they ask the pre-check
    as_player = player_client_factory(PLAYER).post(CHECK, check_body(), format="json")
    anonymous = api_client.post(CHECK, check_body(), format="json")
    # then neither may
    assert (as_player.status_code, anonymous.status_code) == (403, 401)
