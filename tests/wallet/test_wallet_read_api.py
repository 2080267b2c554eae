"""GET /api/me/wallet (player) and GET /api/users/{id}/wallet (service or staff): balance and recent rows."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests import factories
from tests.wallet.helpers import cached_balance, fund, spend

pytestmark = pytest.mark.django_db

PLAYER = 4300
OTHER = 4301


def test_player_reads_their_balance_and_recent_rows_newest_first(player_client_factory):
    # given a player who earned 100 then spent 30 and 20
    fund(PLAYER, 100)
    spend(PLAYER, 30)
    spend(PLAYER, 20)
    # when they read their wallet
    response = player_client_factory(PLAYER).get("/api/me/wallet")
    # then they see 50 and the three rows, newest first, each with the balance after it
    assert response.status_code == 200
    answer = response.json()
    assert (answer["user_id"], answer["balance"]) == (PLAYER, 50)
    assert [(r["kind"], r["amount"], r["balance_after"]) for r in answer["recent"]] == [
        ("SPEND", -20, 50),
        ("SPEND", -30, 70),
        ("EARN", 100, 100),
    ]
    assert set(answer["recent"][0]) == {"id", "kind", "source", "amount", "balance_after", "created_at", "details"}


def test_player_sees_only_their_own_wallet(player_client_factory):
    # given two players with different balances
    fund(PLAYER, 100)
    fund(OTHER, 7)
    # when the other player reads /api/me/wallet and tries the per-user endpoint for the first one
    mine = player_client_factory(OTHER).get("/api/me/wallet")
    theirs = player_client_factory(OTHER).get(f"/api/users/{PLAYER}/wallet")
    # then they see only their own 7 and are refused the other's wallet
    assert mine.json()["balance"] == 7
    assert [r["amount"] for r in mine.json()["recent"]] == [7]
    assert theirs.status_code == 403


def test_recent_rows_are_the_20_newest(player_client_factory):
    # given a player with 25 ledger rows
    for _ in range(25):
        fund(PLAYER, 1)
    # when they read their wallet
    answer = player_client_factory(PLAYER).get("/api/me/wallet").json()
    # then the balance counts all 25 and the list holds the 20 newest
    assert answer["balance"] == 25
    assert [r["balance_after"] for r in answer["recent"]] == list(range(25, 5, -1))


def test_service_and_staff_read_any_wallet(service_client):
    # given a player with 100 tokens and a staff member logged in
    fund(PLAYER, 100)
    staff_client = APIClient()
    staff_client.force_login(factories.make_staff_user())
    # when a service and the staff member read the player's wallet
    by_service = service_client.get(f"/api/users/{PLAYER}/wallet")
    by_staff = staff_client.get(f"/api/users/{PLAYER}/wallet")
    # then both see the balance and the row
    assert by_service.status_code == by_staff.status_code == 200
    assert by_service.json() == by_staff.json()
    assert by_service.json()["balance"] == 100


def test_anonymous_callers_read_nothing(api_client):
    # given a funded player
    fund(PLAYER, 100)
    # when an anonymous caller reads either endpoint
    # then both answer 401
    assert api_client.get("/api/me/wallet").status_code == 401
    assert api_client.get(f"/api/users/{PLAYER}/wallet").status_code == 401


def test_service_token_cannot_read_me_wallet(service_client):
    # given a service key
    # when it asks for /api/me/wallet (a player endpoint)
    response = service_client.get("/api/me/wallet")
    # then it is refused
    assert response.status_code == 403


def test_a_player_never_seen_reads_zero_and_leaves_no_cache_key(service_client):
    # given no player 4399
    # when their wallet is read
    response = service_client.get("/api/users/4399/wallet")
    # then it is an empty wallet, and nothing was put into the hot store for an id with no wallet
    assert response.status_code == 200
    assert response.json() == {"user_id": 4399, "balance": 0, "recent": []}
    assert cached_balance(4399) is None


def test_an_id_past_the_bigint_range_is_404(service_client):
    # given an id no player can have (players.id is a bigint)
    # when its wallet is read
    response = service_client.get(f"/api/users/{2**63}/wallet")
    # then it is a 404, not a server error
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_reading_a_wallet_rebuilds_the_cached_balance(player_client_factory):
    # given a player with 100 tokens and an empty hot store
    fund(PLAYER, 100)
    assert cached_balance(PLAYER) is None
    # when they read their wallet
    response = player_client_factory(PLAYER).get("/api/me/wallet")
    # then they see 100 and the cache holds it from now on
    assert response.json()["balance"] == 100
    assert cached_balance(PLAYER) == 100


def test_me_wallet_costs_a_fixed_number_of_queries(player_client_factory, django_assert_num_queries):
    # given a player with a cached balance
    fund(PLAYER, 100)
    client = player_client_factory(PLAYER)
    client.get("/api/me/wallet")
    # when they read their wallet again
    # then it costs a single query (the recent rows): the balance comes from the cache, auth from the JWT
    with django_assert_num_queries(1):
        response = client.get("/api/me/wallet")
    assert response.json()["balance"] == 100
