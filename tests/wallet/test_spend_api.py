"""POST /api/wallet/spend (design brief 3 and 5): one transaction writes the ledger row, the balance and
the SPEND_CYBER_TOKENS action; a refusal is a 409 naming why and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from core.models import ApiKey
from players.models import Player
from tests import factories
from tests.wallet.helpers import cached_balance, counts, db_balance, fund, ledger_sum
from wallet.balance_cache import balance_cache_set
from wallet.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db

URL = "/api/wallet/spend"
PLAYER = 4100


def body(**overrides: Any) -> dict[str, Any]:
    return {"user_id": PLAYER, "amount": 30, "game": "Roulette", "idempotency_key": "spin-1", **overrides}


def service_named(name: str) -> APIClient:
    _, key = factories.make_api_key(name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_spend_writes_ledger_row_balance_and_action_together():
    # given a player with 100 tokens and a service key named "game-server"
    fund(PLAYER, 100)
    client = service_named("game-server")
    # when the game server spends 30 on Roulette
    response = client.post(URL, body(), format="json")
    # then the answer is 201 with the new balance and the ledger row
    assert response.status_code == 201
    answer = response.json()
    assert answer["user_id"] == PLAYER
    assert answer["balance"] == 70
    assert {k: answer["entry"][k] for k in ("kind", "source", "amount", "balance_after", "details")} == {
        "kind": "SPEND",
        "source": "in_app",
        "amount": -30,
        "balance_after": 70,
        "details": {"game": "Roulette"},
    }
    # and the ledger row, the wallet and the SPEND_CYBER_TOKENS action agree, the row naming who asked (its key
    # scoped to the caller's API key: docs/decisions/0026)
    entry = LedgerEntry.objects.get(id=answer["entry"]["id"])
    key_id = ApiKey.objects.get(name="game-server").id
    assert (entry.idempotency_key, entry.actor) == (f"spend@{key_id}:spin-1", "game-server")
    action = entry.action
    assert action is not None
    assert (action.user_id, action.action_type, action.metadata) == (
        PLAYER,
        "SPEND_CYBER_TOKENS",
        {"spent_tokens": 30, "game": "Roulette"},
    )
    assert db_balance(PLAYER) == ledger_sum(PLAYER) == 70
    assert Wallet.objects.get(player_id=PLAYER).last_entry_id == entry.id


def test_spend_of_the_whole_balance_leaves_zero(service_client):
    # given a player with 30 tokens
    fund(PLAYER, 30)
    # when 30 are spent
    response = service_client.post(URL, body(amount=30), format="json")
    # then it is accepted and the balance is exactly 0
    assert response.status_code == 201
    assert response.json()["balance"] == 0
    assert db_balance(PLAYER) == ledger_sum(PLAYER) == 0


def test_redis_balance_follows_the_spend_once_committed(service_client, django_capture_on_commit_callbacks):
    # given a player with 100 tokens whose cached balance is current
    with django_capture_on_commit_callbacks(execute=True):
        fund(PLAYER, 100)
    assert cached_balance(PLAYER) == 100
    # when a spend of 30 runs, its transaction not yet committed
    with django_capture_on_commit_callbacks(execute=False) as pending:
        response = service_client.post(URL, body(), format="json")
    # then the cache still shows the committed 100; once the commit's hooks run it shows 70
    assert response.status_code == 201
    assert cached_balance(PLAYER) == 100
    for hook in pending:
        hook()
    assert cached_balance(PLAYER) == 70


def test_spend_beyond_the_balance_is_409_and_writes_nothing(service_client):
    # given a player with 20 tokens
    fund(PLAYER, 20)
    before = counts(PLAYER)
    # when 30 are asked for
    response = service_client.post(URL, body(amount=30), format="json")
    # then the answer is 409 insufficient_balance naming the balance, and nothing is written
    assert response.status_code == 409
    answer = response.json()
    assert answer["error"] == "insufficient_balance"
    assert "20" in answer["message"]
    assert list(answer["fields"]) == ["amount"]
    assert counts(PLAYER) == before == {"ledger": 1, "token_actions": 1, "balance": 20}


def test_spend_by_a_player_never_seen_is_409_and_creates_nothing(service_client):
    # given no player 4199
    # when a spend is asked for them
    response = service_client.post(URL, body(user_id=4199), format="json")
    # then it is refused for lack of balance, and neither a player nor a wallet is left behind
    assert response.status_code == 409
    assert response.json()["error"] == "insufficient_balance"
    assert not Player.objects.filter(id=4199).exists()
    assert not Wallet.objects.filter(player_id=4199).exists()


def test_spend_is_decided_on_the_database_never_on_the_cache(service_client):
    # given a player with 0 tokens in the database whose cache claims a million (newest sequence)
    fund(PLAYER, 5)
    service_client.post(URL, body(amount=5, idempotency_key="drain"), format="json")
    balance_cache_set({PLAYER: (1_000_000, 10**12)}, force=True)
    assert cached_balance(PLAYER) == 1_000_000
    # when 30 are asked for
    response = service_client.post(URL, body(amount=30), format="json")
    # then the database's 0 decides: 409, nothing written
    assert response.status_code == 409
    assert response.json()["error"] == "insufficient_balance"
    assert db_balance(PLAYER) == ledger_sum(PLAYER) == 0


def test_spend_is_approved_on_the_database_when_the_cache_says_zero(service_client):
    # given a player with 50 tokens whose cache wrongly says 0
    fund(PLAYER, 50)
    balance_cache_set({PLAYER: (0, 10**12)}, force=True)
    # when 30 are asked for
    response = service_client.post(URL, body(amount=30), format="json")
    # then the database's 50 decides: accepted, 20 left
    assert response.status_code == 201
    assert db_balance(PLAYER) == 20


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("amount", 0),
        ("amount", -10),
        ("amount", 10.0),
        ("amount", 10.5),
        ("amount", "10"),
        ("amount", True),
        ("amount", None),
        ("amount", 1_000_000_001),
        ("amount", 2**64),
        ("user_id", 0),
        ("user_id", -1),
        ("user_id", "4100"),
        ("user_id", 2**63),
        ("user_id", 4100.0),
        ("game", "Poker"),
        ("game", ""),
        ("game", 3),
        ("idempotency_key", ""),
        ("idempotency_key", "k" * 151),
        ("idempotency_key", None),
        ("idempotency_key", "k\x00"),
    ],
)
def test_bad_input_is_400_naming_the_field_and_writes_nothing(service_client, field, value):
    # given a player with 100 tokens
    fund(PLAYER, 100)
    before = counts(PLAYER)
    # when a spend arrives with one bad field
    response = service_client.post(URL, body(**{field: value}), format="json")
    # then the answer is 400 naming exactly that field, and nothing is written
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert list(response.json()["fields"]) == [field]
    assert counts(PLAYER) == before


def test_missing_fields_are_each_named(service_client):
    # given an empty spend
    # when it is sent
    response = service_client.post(URL, {}, format="json")
    # then every required field is named
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"user_id", "amount", "game", "idempotency_key"}
    assert not LedgerEntry.objects.exists()


def test_largest_amount_is_accepted(service_client):
    # given a player holding exactly 1,000,000,000 tokens (the largest amount one request may move)
    fund(PLAYER, 1_000_000_000)
    # when all of it is spent in one request
    response = service_client.post(URL, body(amount=1_000_000_000), format="json")
    # then it is accepted
    assert response.status_code == 201
    assert db_balance(PLAYER) == 0


def test_only_services_may_spend(api_client, player_client_factory):
    # given a funded player
    fund(PLAYER, 100)
    staff_client = APIClient()
    staff_client.force_login(factories.make_staff_user())
    # when the player's own app, staff and an anonymous caller try to spend
    as_player = player_client_factory(PLAYER).post(URL, body(), format="json")
    as_staff = staff_client.post(URL, body(), format="json")
    anonymous = api_client.post(URL, body(), format="json")
    # then the player and staff are forbidden, the anonymous caller unauthenticated; nothing moves
    assert (as_player.status_code, as_staff.status_code, anonymous.status_code) == (403, 403, 401)
    assert as_staff.json()["message"] == "This endpoint is for trusted services (Api-Key)."
    assert db_balance(PLAYER) == 100


def test_spend_costs_a_fixed_number_of_queries(service_client, django_assert_num_queries):
    # given a funded player with no limits set
    fund(PLAYER, 100)
    # when a spend runs (hot path)
    # then it costs: key lookup, savepoint, wallet lock (with player and protection), the key check and the
    # writes (action, ledger row, balance update: one statement on PostgreSQL; four on SQLite), release
    with django_assert_num_queries(5 if connection.vendor == "postgresql" else 8):
        response = service_client.post(URL, body(), format="json")
    assert response.status_code == 201
