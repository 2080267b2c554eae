"""POST /api/wallet/purchase (design brief 5): tokens bought for cash, idempotent by payment_id."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from players.models import Player
from tests import factories
from tests.wallet.helpers import counts, db_balance, fund, ledger_sum
from wallet.models import LedgerEntry

pytestmark = pytest.mark.django_db

URL = "/api/wallet/purchase"
PLAYER = 4200


def body(**overrides: Any) -> dict[str, Any]:
    return {
        "user_id": PLAYER,
        "tokens": 500,
        "amount_paid": "4900.00",
        "currency": "KRW",
        "payment_id": "pay_1",
        **overrides,
    }


def test_purchase_credits_tokens_and_records_the_payment(service_client):
    # given a player with 100 tokens
    fund(PLAYER, 100)
    # when a purchase of 500 tokens for 4,900 KRW is recorded
    response = service_client.post(URL, body(), format="json")
    # then the answer is 201 with the new balance, and the ledger row, the wallet and the
    # PURCHASE_CYBER_TOKENS action agree
    assert response.status_code == 201
    answer = response.json()
    assert answer["balance"] == 600
    assert {k: answer["entry"][k] for k in ("kind", "source", "amount", "balance_after", "details")} == {
        "kind": "PURCHASE",
        "source": "cash",
        "amount": 500,
        "balance_after": 600,
        "details": {"amount_paid": "4900.00", "currency": "KRW", "payment_id": "pay_1"},
    }
    entry = LedgerEntry.objects.get(id=answer["entry"]["id"])
    assert entry.idempotency_key == "purchase:pay_1"
    action = entry.action
    assert action is not None
    assert (action.action_type, action.metadata) == (
        "PURCHASE_CYBER_TOKENS",
        {"tokens": 500, "amount_paid": "4900.00", "currency": "KRW", "payment_id": "pay_1"},
    )
    assert db_balance(PLAYER) == ledger_sum(PLAYER) == 600


def test_purchase_by_a_new_player_creates_them_with_a_wallet(service_client):
    # given no player 4299
    # when a purchase is recorded for them
    response = service_client.post(URL, body(user_id=4299), format="json")
    # then the player exists with the bought tokens (first sight creates the player)
    assert response.status_code == 201
    assert Player.objects.filter(id=4299).exists()
    assert db_balance(4299) == 500


def test_same_payment_id_is_applied_once(service_client):
    # given a recorded purchase
    first = service_client.post(URL, body(), format="json")
    # when the payment provider's callback is delivered twice more
    again = [service_client.post(URL, body(), format="json") for _ in range(2)]
    # then each retry gets the first answer, and the tokens were credited once
    assert [r.status_code for r in again] == [201, 201]
    assert all(r.json() == first.json() for r in again)
    assert all(r["Idempotent-Replayed"] == "true" for r in again)
    assert LedgerEntry.objects.filter(idempotency_key="purchase:pay_1").count() == 1
    assert db_balance(PLAYER) == 500


def test_amount_paid_spelled_differently_is_the_same_request(service_client):
    # given a purchase recorded with amount_paid "4900.00"
    first = service_client.post(URL, body(), format="json")
    # when it is retried with amount_paid as the JSON number 4900
    again = service_client.post(URL, body(amount_paid=4900), format="json")
    # then it is the same request: the first answer, nothing credited twice
    assert again.status_code == 201
    assert again.json() == first.json()
    assert db_balance(PLAYER) == 500


@pytest.mark.parametrize(
    "change", [{"tokens": 501}, {"amount_paid": "5000.00"}, {"currency": "USD"}, {"user_id": 4201}]
)
def test_same_payment_id_with_another_body_is_422_naming_payment_id(service_client, change):
    # given a recorded purchase
    service_client.post(URL, body(), format="json")
    before = counts(PLAYER)
    # when the same payment_id comes with something else changed
    response = service_client.post(URL, body(**change), format="json")
    # then it is a 422 naming payment_id, and nothing is written
    assert response.status_code == 422
    assert response.json()["error"] == "idempotency_key_reused"
    assert list(response.json()["fields"]) == ["payment_id"]
    assert counts(PLAYER) == before
    assert not Player.objects.filter(id=4201).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("tokens", 0),
        ("tokens", -5),
        ("tokens", 5.0),
        ("tokens", "500"),
        ("tokens", False),
        ("tokens", 1_000_000_001),
        ("amount_paid", "-1.00"),
        ("amount_paid", "abc"),
        ("amount_paid", "1.005"),
        ("amount_paid", None),
        ("amount_paid", "1" * 13 + ".00"),
        ("currency", "krw"),
        ("currency", "KR"),
        ("currency", "KRWX"),
        ("currency", ""),
        ("payment_id", ""),
        ("payment_id", "p" * 151),
        ("payment_id", "p\x00"),
        ("user_id", 0),
        ("user_id", 2**63),
        ("user_id", "4200"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_writes_nothing(service_client, field, value):
    # given a player with 100 tokens
    fund(PLAYER, 100)
    before = counts(PLAYER)
    # when a purchase arrives with one bad field
    response = service_client.post(URL, body(**{field: value}), format="json")
    # then the answer is 400 naming exactly that field, and nothing is written
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert counts(PLAYER) == before


def test_missing_fields_are_each_named(service_client):
    # given an empty purchase
    # when it is sent
    response = service_client.post(URL, {}, format="json")
    # then every required field is named and nothing is written
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"user_id", "tokens", "amount_paid", "currency", "payment_id"}
    assert not LedgerEntry.objects.exists()


def test_only_services_may_record_purchases(api_client, player_client_factory):
    # given a player
    staff_client = APIClient()
    staff_client.force_login(factories.make_staff_user())
    # when the player's app, staff and an anonymous caller try to record a purchase
    as_player = player_client_factory(PLAYER).post(URL, body(), format="json")
    as_staff = staff_client.post(URL, body(), format="json")
    anonymous = api_client.post(URL, body(), format="json")
    # then none of them may, and no tokens appear
    assert (as_player.status_code, as_staff.status_code, anonymous.status_code) == (403, 403, 401)
    assert not LedgerEntry.objects.exists()
