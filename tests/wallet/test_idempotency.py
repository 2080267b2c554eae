"""Idempotency as Stripe and the IETF Idempotency-Key draft (design brief 3): a retry with the same key
returns the first answer, the same key with another body is a 422, amounts are positive whole numbers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from core.exceptions import InvalidInput
from core.models import ApiKey
from players import services as player_services
from players.models import Player
from tests import factories
from tests.wallet.helpers import counts, db_balance, fund, spend
from wallet import services
from wallet.errors import IdempotencyKeyReused
from wallet.models import LedgerEntry

pytestmark = pytest.mark.django_db

SPEND = "/api/wallet/spend"
PURCHASE = "/api/wallet/purchase"
PLAYER = 4500


def spend_body(**overrides: Any) -> dict[str, Any]:
    return {"user_id": PLAYER, "amount": 30, "game": "RPSGame", "idempotency_key": "round-9", **overrides}


def test_a_retried_spend_gets_the_first_answer_and_moves_tokens_once(service_client):
    # given a player with 100 tokens and a spend of 30 already answered
    fund(PLAYER, 100)
    first = service_client.post(SPEND, spend_body(), format="json")
    # when the game server retries it three times
    retries = [service_client.post(SPEND, spend_body(), format="json") for _ in range(3)]
    # then every retry gets the first status and body, marked only by Idempotent-Replayed
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert [r.status_code for r in retries] == [201, 201, 201]
    assert all(r.json() == first.json() for r in retries)
    assert all(r["Idempotent-Replayed"] == "true" for r in retries)
    # and one ledger row and one action exist, the balance moved once
    assert counts(PLAYER) == {"ledger": 2, "token_actions": 2, "balance": 70}


def test_a_retry_after_later_changes_still_gets_the_first_answer(service_client):
    # given a spend answered with balance 70, then more spending brought the balance to 0
    fund(PLAYER, 100)
    first = service_client.post(SPEND, spend_body(), format="json")
    spend(PLAYER, 70)
    # when the first spend is retried
    retry = service_client.post(SPEND, spend_body(), format="json")
    # then it gets the first answer (balance 70 then), not a refusal and not today's balance
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry.json()["balance"] == 70
    assert db_balance(PLAYER) == 0


def test_a_retry_during_a_cool_off_that_began_later_gets_the_first_answer(service_client):
    # given a spend answered, then the player started a cool-off
    fund(PLAYER, 100)
    first = service_client.post(SPEND, spend_body(), format="json")
    cool_off_until = timezone.now() + dt.timedelta(days=2)
    player_services.protection_update(player_id=PLAYER, changes={"cool_off_until": cool_off_until})
    # when the spend is retried
    retry = service_client.post(SPEND, spend_body(), format="json")
    # then the retry is the first answer: nothing new is spent, so the cool-off has nothing to refuse
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert db_balance(PLAYER) == 70


@pytest.mark.parametrize("change", [{"amount": 31}, {"game": "Roulette"}, {"user_id": 4501}])
def test_same_key_with_another_body_is_422_and_writes_nothing(service_client, change):
    # given a spend answered with key round-9
    fund(PLAYER, 100)
    fund(4501, 100)
    service_client.post(SPEND, spend_body(), format="json")
    before = (counts(PLAYER), counts(4501))
    # when the same key comes with another amount, game or player
    response = service_client.post(SPEND, spend_body(**change), format="json")
    # then the answer is 422 naming idempotency_key, and nothing is written for anyone
    assert response.status_code == 422
    assert response.json()["error"] == "idempotency_key_reused"
    assert list(response.json()["fields"]) == ["idempotency_key"]
    assert (counts(PLAYER), counts(4501)) == before


def test_a_reused_key_for_a_player_never_seen_creates_no_player(service_client):
    # given a spend answered with key round-9
    fund(PLAYER, 100)
    service_client.post(SPEND, spend_body(), format="json")
    # when the same key comes for a player id never seen
    response = service_client.post(SPEND, spend_body(user_id=4599), format="json")
    # then it is a 422 and no player appears
    assert response.status_code == 422
    assert not Player.objects.filter(id=4599).exists()


def test_a_refused_spend_does_not_use_up_its_key(service_client):
    # given a player with 10 tokens whose spend of 30 was refused
    fund(PLAYER, 10)
    refused = service_client.post(SPEND, spend_body(), format="json")
    # when they earn 50 and the game server retries the same key
    fund(PLAYER, 50)
    retry = service_client.post(SPEND, spend_body(), format="json")
    # then the refusal wrote nothing (not even the key), so the retry is decided afresh and succeeds
    assert refused.status_code == 409
    assert retry.status_code == 201
    assert "Idempotent-Replayed" not in retry
    assert db_balance(PLAYER) == 30


def test_spend_and_purchase_keys_live_in_separate_namespaces(service_client):
    # given a player with 100 tokens and a spend with key "abc"
    fund(PLAYER, 100)
    service_client.post(SPEND, spend_body(idempotency_key="abc"), format="json")
    # when a purchase arrives whose payment_id is also "abc"
    response = service_client.post(
        PURCHASE,
        {"user_id": PLAYER, "tokens": 50, "amount_paid": "1.00", "currency": "USD", "payment_id": "abc"},
        format="json",
    )
    # then it is a new purchase, not a reuse of the spend's key
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert set(LedgerEntry.objects.filter(player_id=PLAYER).values_list("idempotency_key", flat=True)) >= {
        f"spend@{ApiKey.objects.get().id}:abc",
        "purchase:abc",
    }
    assert db_balance(PLAYER) == 120


def test_services_replay_and_refuse_like_the_api():
    # given an earn recorded by a service with key corporate:wh-1
    first = services.wallet_earn(
        player_id=PLAYER,
        amount=40,
        source="corporate",
        idempotency_key="corporate:wh-1",
        details={"reward_type": "visit"},
    )
    # when the same earn is recorded again, and then with another amount
    again = services.wallet_earn(
        player_id=PLAYER,
        amount=40,
        source="corporate",
        idempotency_key="corporate:wh-1",
        details={"reward_type": "visit"},
    )
    with pytest.raises(IdempotencyKeyReused):
        services.wallet_earn(
            player_id=PLAYER,
            amount=41,
            source="corporate",
            idempotency_key="corporate:wh-1",
            details={"reward_type": "visit"},
        )
    # then the retry is the first row, marked replayed, and the tokens arrived once
    assert (first.replayed, again.replayed, again.entry.id) == (False, True, first.entry.id)
    assert db_balance(PLAYER) == 40


@pytest.mark.parametrize("amount", [0, -10, 1.5, True, 1_000_000_001])
@pytest.mark.parametrize("call", ["spend", "purchase", "earn", "grant"])
def test_services_refuse_amounts_that_are_not_positive_whole_numbers_in_range(call, amount):
    # given a player with 100 tokens
    fund(PLAYER, 100)
    before = counts(PLAYER)
    calls = {
        "spend": lambda: services.wallet_spend(player_id=PLAYER, amount=amount, game="RPSGame", idempotency_key="x"),
        "purchase": lambda: services.wallet_purchase(
            player_id=PLAYER, tokens=amount, amount_paid="1.00", currency="USD", payment_id="x"
        ),
        "earn": lambda: services.wallet_earn(
            player_id=PLAYER, amount=amount, source="in_app", idempotency_key="x", details={}
        ),
        "grant": lambda: services.wallet_grant(player_id=PLAYER, amount=amount, idempotency_key="x", reason="test"),
    }
    # when another app calls the service with such an amount (a spend of -10 must never credit 10)
    with pytest.raises(InvalidInput) as refused:
        calls[call]()
    # then it is refused naming the field, and nothing is written
    assert list(refused.value.fields) == ["tokens" if call == "purchase" else "amount"]
    assert counts(PLAYER) == before


@pytest.mark.parametrize("amount", [0, 1_000_000_001, -1_000_000_001])
def test_an_adjustment_must_move_a_non_zero_amount_in_range(amount):
    # given a player with 100 tokens
    fund(PLAYER, 100)
    # when staff adjust by nothing, or by more than the range
    with pytest.raises(InvalidInput) as refused:
        services.wallet_adjust(player_id=PLAYER, amount=amount, reason="test", actor="alice", idempotency_key="a")
    # then it is refused naming amount, and nothing is written
    assert list(refused.value.fields) == ["amount"]
    assert not LedgerEntry.objects.filter(kind="ADJUST").exists()


# --- keys scoped to the calling API key (docs/decisions/0026) ---------------------------------------------------------


def service(name: str) -> tuple[APIClient, ApiKey]:
    obj, key = factories.make_api_key(name)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client, obj


def test_two_services_using_the_same_idempotency_key_each_spend_once():
    # given a player with 100 tokens and two game servers that both name their next spend "round-9"
    fund(PLAYER, 100)
    (slots, slots_key), (roulette, roulette_key) = service("slots"), service("roulette")
    # when each sends its own spend of 30 under that key
    first = slots.post(SPEND, spend_body(), format="json")
    second = roulette.post(SPEND, spend_body(), format="json")
    # then both are new spends, neither the other's answer: two rows, each under its caller's key
    assert (first.status_code, second.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in first and "Idempotent-Replayed" not in second
    assert first.json()["entry"]["id"] != second.json()["entry"]["id"]
    assert db_balance(PLAYER) == 40
    keys = set(LedgerEntry.objects.filter(kind="SPEND").values_list("idempotency_key", flat=True))
    assert keys == {f"spend@{slots_key.id}:round-9", f"spend@{roulette_key.id}:round-9"}


def test_two_services_using_the_same_key_with_different_bodies_are_not_a_reuse():
    # given a player with 100 tokens and a spend of 30 by one service under "round-9"
    fund(PLAYER, 100)
    (slots, _), (roulette, _) = service("slots"), service("roulette")
    slots.post(SPEND, spend_body(), format="json")
    # when another service spends 50 on another game under the same key
    response = roulette.post(SPEND, spend_body(amount=50, game="Roulette"), format="json")
    # then it is its own spend, not a 422
    assert response.status_code == 201
    assert db_balance(PLAYER) == 20


def test_the_same_key_twice_from_one_service_replays():
    # given two services, one of which spent 30 under "round-9"
    fund(PLAYER, 100)
    (slots, _), (roulette, _) = service("slots"), service("roulette")
    first = slots.post(SPEND, spend_body(), format="json")
    roulette.post(SPEND, spend_body(amount=10), format="json")
    # when the first service retries its spend, then sends the key with another body
    retry = slots.post(SPEND, spend_body(), format="json")
    reused = slots.post(SPEND, spend_body(amount=31), format="json")
    # then the retry is its first answer, and the other body is a 422 naming the key: keys hold within one caller
    assert retry.status_code == 201
    assert retry.json() == first.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert reused.status_code == 422
    assert list(reused.json()["fields"]) == ["idempotency_key"]
    assert db_balance(PLAYER) == 60


def test_a_payment_id_stays_one_payment_whichever_service_reports_it():
    # given a purchase reported by one service
    (shop, _), (webhooks, _) = service("shop"), service("payment-webhooks")
    purchase = {"user_id": PLAYER, "tokens": 50, "amount_paid": "1.00", "currency": "USD", "payment_id": "pay-9"}
    first = shop.post(PURCHASE, purchase, format="json")
    # when another service reports the same payment
    again = webhooks.post(PURCHASE, purchase, format="json")
    # then it is the same purchase, answered once: the provider's id is not scoped by the caller
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert db_balance(PLAYER) == 50


def unscoped_spend(key: str, actor: str, amount: int = 30) -> LedgerEntry:
    """A spend as it was recorded before keys were scoped: ``spend:<key>``, naming its caller."""
    return services.ledger_post(
        services.Posting(
            player_id=PLAYER,
            kind=LedgerEntry.Kind.SPEND,
            source=LedgerEntry.Source.IN_APP,
            amount=-amount,
            idempotency_key=f"spend:{key}",
            fingerprint=services.request_fingerprint({"user_id": PLAYER, "amount": amount, "game": "RPSGame"}),
            action_type="SPEND_CYBER_TOKENS",
            action_metadata={"spent_tokens": amount, "game": "RPSGame"},
            actor=actor,
            details={"game": "RPSGame"},
        )
    ).entry


def test_a_retry_that_spans_the_deploy_gets_the_first_answer_while_the_window_is_open(settings):
    # given a spend of 30 under "round-9" recorded by the game server before keys were scoped, and the deploy's window
    # open
    fund(PLAYER, 100)
    client, _ = service("game-server")
    before = unscoped_spend("round-9", "game-server")
    settings.WALLET_UNSCOPED_KEYS_UNTIL = timezone.now() + dt.timedelta(hours=1)
    # when the game server retries it after the deploy
    retry = client.post(SPEND, spend_body(), format="json")
    # then the retry is that first spend's answer, and nothing is spent twice
    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["entry"]["id"] == before.id
    assert db_balance(PLAYER) == 70


def test_an_unscoped_row_of_another_caller_is_not_the_answer(settings):
    # given a spend under "round-9" recorded before the deploy by another service, the window open
    fund(PLAYER, 100)
    client, _ = service("game-server")
    unscoped_spend("round-9", "other-service")
    settings.WALLET_UNSCOPED_KEYS_UNTIL = timezone.now() + dt.timedelta(hours=1)
    # when the game server spends under that key
    response = client.post(SPEND, spend_body(), format="json")
    # then it is its own new spend
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert db_balance(PLAYER) == 40


def test_once_the_window_has_closed_an_unscoped_row_is_no_longer_looked_up(settings):
    # given a spend under "round-9" recorded before keys were scoped, and the window closed
    fund(PLAYER, 100)
    client, _ = service("game-server")
    unscoped_spend("round-9", "game-server")
    settings.WALLET_UNSCOPED_KEYS_UNTIL = timezone.now() - dt.timedelta(seconds=1)
    # when the game server sends that key again
    response = client.post(SPEND, spend_body(), format="json")
    # then it is a new spend (the decision record says so: retries span a deploy by seconds, the window by a day)
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert db_balance(PLAYER) == 40
