"""POST /api/wallet/refund (issue 13, item 6; docs/decisions/0024): a purchase reversed by a refund or a chargeback.
The tokens the balance still holds, up to those bought, are taken back by a REFUND ledger row; the rest, spent already,
is recorded and counted; a payment is reversed once."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from core import metrics
from core.exceptions import InvalidInput
from players import services as player_services
from tests import factories
from tests.wallet.helpers import cached_balance, counts, db_balance, fund, ledger_sum, spend
from wallet import services
from wallet.errors import PurchaseLimitReached
from wallet.models import LedgerEntry, Refund

pytestmark = pytest.mark.django_db

REFUND = "/api/wallet/refund"
PURCHASE = "/api/wallet/purchase"
PLAYER = 4300


def purchase(client: Any, tokens: int = 500, payment_id: str = "pay-r1") -> dict[str, Any]:
    body = {"user_id": PLAYER, "tokens": tokens, "amount_paid": "4900.00", "currency": "KRW", "payment_id": payment_id}
    response = client.post(PURCHASE, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def refund_body(**overrides: Any) -> dict[str, Any]:
    return {"payment_id": "pay-r1", "kind": "refund", "reason": "requested_by_customer", **overrides}


def unrecovered_counted(kind: str) -> float:
    return metrics.REFUND_UNRECOVERED_TOKENS.labels(kind)._value.get()


def refunds_counted(kind: str, recovered: str) -> float:
    return metrics.REFUNDS.labels(kind, recovered)._value.get()


def test_a_refund_of_unspent_tokens_takes_every_token_bought_back(service_client):
    # given a player with 100 tokens who bought 500 more and spent none
    fund(PLAYER, 100)
    bought = purchase(service_client)
    # when the payment is refunded
    response = service_client.post(REFUND, refund_body(), format="json")
    # then the 500 are taken back by a REFUND row (source cash) that names the payment, and nothing is unrecovered
    assert response.status_code == 201
    answer = response.json()
    assert {k: answer[k] for k in ("user_id", "payment_id", "kind", "reason")} == {
        "user_id": PLAYER,
        "payment_id": "pay-r1",
        "kind": "refund",
        "reason": "requested_by_customer",
    }
    assert (answer["purchased_tokens"], answer["recovered_tokens"], answer["unrecovered_tokens"]) == (500, 500, 0)
    assert answer["balance"] == 100
    assert {k: answer["entry"][k] for k in ("kind", "source", "amount", "balance_after", "details")} == {
        "kind": "REFUND",
        "source": "cash",
        "amount": -500,
        "balance_after": 100,
        "details": {
            "payment_id": "pay-r1",
            "reversal": "refund",
            "purchase_entry_id": bought["entry"]["id"],
            "purchased_tokens": 500,
            "unrecovered_tokens": 0,
        },
    }
    # and the ledger, the wallet and the refund's record agree; the purchase row is untouched
    assert db_balance(PLAYER) == ledger_sum(PLAYER) == 100
    entry = LedgerEntry.objects.get(kind="REFUND")
    assert (entry.idempotency_key, entry.reason, entry.action_id) == ("refund:pay-r1", "requested_by_customer", None)
    assert LedgerEntry.objects.get(kind="PURCHASE").amount == 500
    assert Refund.objects.get().entry_id == entry.id


def test_a_refund_of_spent_tokens_takes_back_what_is_left_and_records_the_rest(
    service_client, django_capture_on_commit_callbacks
):
    # given a player who bought 500 tokens and spent 380 of them
    purchase(service_client)
    spend(PLAYER, 380)
    before, part = unrecovered_counted("chargeback"), refunds_counted("chargeback", "part")
    # when the payment is charged back (and the transaction commits)
    with django_capture_on_commit_callbacks(execute=True):
        response = service_client.post(REFUND, refund_body(kind="chargeback", reason="fraudulent"), format="json")
    # then the 120 left are taken back, never below zero, and the 380 spent are recorded as unrecovered
    assert response.status_code == 201
    answer = response.json()
    assert (answer["recovered_tokens"], answer["unrecovered_tokens"], answer["balance"]) == (120, 380, 0)
    assert answer["entry"]["amount"] == -120
    assert answer["entry"]["details"]["unrecovered_tokens"] == 380
    assert db_balance(PLAYER) == ledger_sum(PLAYER) == 0
    refund = Refund.objects.get(payment_id="pay-r1")
    assert (refund.kind, refund.tokens, refund.recovered, refund.unrecovered) == ("chargeback", 500, 120, 380)
    # and they are counted
    assert unrecovered_counted("chargeback") - before == 380
    assert refunds_counted("chargeback", "part") - part == 1


def test_a_refund_after_every_token_was_spent_writes_no_ledger_row_and_records_it(service_client):
    # given a player who bought 500 tokens and spent them all
    purchase(service_client)
    spend(PLAYER, 500)
    before = counts(PLAYER)
    # when the payment is refunded
    response = service_client.post(REFUND, refund_body(), format="json")
    # then there is nothing to take back: no ledger row (a row never moves 0), and the refund is recorded
    assert response.status_code == 201
    answer = response.json()
    assert (answer["recovered_tokens"], answer["unrecovered_tokens"], answer["balance"], answer["entry"]) == (
        0,
        500,
        0,
        None,
    )
    assert counts(PLAYER) == before
    assert Refund.objects.get(payment_id="pay-r1").unrecovered == 500


def test_a_refund_never_takes_more_than_the_purchase_bought(service_client):
    # given a player holding 10,000 tokens, 500 of them bought with the payment
    fund(PLAYER, 9500)
    purchase(service_client)
    # when the payment is refunded
    answer = service_client.post(REFUND, refund_body(), format="json").json()
    # then exactly the 500 bought are taken back
    assert (answer["recovered_tokens"], answer["balance"]) == (500, 9500)
    assert db_balance(PLAYER) == 9500


@pytest.mark.parametrize("second_kind", ["refund", "chargeback"])
def test_a_second_report_of_the_same_payment_answers_the_first(service_client, second_kind):
    # given a purchase of 500 on top of 1,000 tokens, refunded once
    fund(PLAYER, 1000)
    purchase(service_client)
    first = service_client.post(REFUND, refund_body(), format="json")
    # when the payment service reports it again, as a refund or as a chargeback with another reason
    again = service_client.post(REFUND, refund_body(kind=second_kind, reason="duplicate"), format="json")
    # then it is the first answer again, marked replayed: the payment is reversed once
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert LedgerEntry.objects.filter(kind="REFUND").count() == Refund.objects.count() == 1
    assert db_balance(PLAYER) == 1000


def test_a_refund_of_an_unknown_payment_is_404_and_writes_nothing(service_client):
    # given a player with a purchase under another payment id
    purchase(service_client)
    before = counts(PLAYER)
    # when a refund names a payment never recorded
    response = service_client.post(REFUND, refund_body(payment_id="pay-unknown"), format="json")
    # then it is a 404 naming payment_id, and nothing is written
    assert response.status_code == 404
    assert list(response.json()["fields"]) == ["payment_id"]
    assert counts(PLAYER) == before
    assert not Refund.objects.exists()


def test_a_refund_does_not_make_room_under_the_monthly_purchase_limit(service_client):
    # given a monthly purchase limit of 500, used up by a purchase that was then refunded
    factories.make_player(id=PLAYER)
    player_services.protection_update(player_id=PLAYER, changes={"monthly_purchase_limit": 500})
    purchase(service_client)
    service_client.post(REFUND, refund_body(), format="json")
    # when the player buys again this month
    with pytest.raises(PurchaseLimitReached):
        services.wallet_purchase(player_id=PLAYER, tokens=1, amount_paid="1.00", currency="KRW", payment_id="pay-r2")
    # then it is refused: the limit counts what was bought, and a refund gives no room back


def test_redis_follows_the_refunded_balance(service_client, django_capture_on_commit_callbacks):
    # given a player with 100 tokens who bought 500
    fund(PLAYER, 100)
    purchase(service_client)
    # when the payment is refunded and the transaction commits
    with django_capture_on_commit_callbacks(execute=True):
        service_client.post(REFUND, refund_body(), format="json")
    # then Redis' copy is the ledger's balance
    assert cached_balance(PLAYER) == db_balance(PLAYER) == 100


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "partial"),
        ("kind", ""),
        ("payment_id", ""),
        ("payment_id", "p" * 151),
        ("reason", ""),
        ("reason", "r" * 501),
    ],
)
def test_bad_input_is_400_naming_the_field_and_writes_nothing(service_client, field, value):
    # given a purchase
    purchase(service_client)
    before = counts(PLAYER)
    # when a refund arrives with one bad field
    response = service_client.post(REFUND, refund_body(**{field: value}), format="json")
    # then it is a 400 naming that field, and nothing is written
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert counts(PLAYER) == before


def test_the_service_refuses_an_unknown_kind():
    # given a purchase recorded by the service
    services.wallet_purchase(player_id=PLAYER, tokens=5, amount_paid="1.00", currency="KRW", payment_id="pay-r1")
    # when another app asks for a reversal of an unknown kind
    with pytest.raises(InvalidInput) as refused:
        services.wallet_refund(payment_id="pay-r1", kind="goodwill", reason="x")
    # then it is refused naming kind
    assert list(refused.value.fields) == ["kind"]


def test_staff_see_the_refunds_and_the_tokens_not_taken_back(service_client):
    # given a refund of spent tokens and one of unspent tokens
    purchase(service_client)
    spend(PLAYER, 450)
    service_client.post(REFUND, refund_body(), format="json")
    purchase(service_client, payment_id="pay-r2")
    service_client.post(REFUND, refund_body(payment_id="pay-r2"), format="json")
    staff = Client()
    staff.force_login(factories.make_staff_user())
    # when staff list the refunds with some tokens not taken back
    response = staff.get("/admin/wallet/refund/", {"unrecovered": "yes"})
    # then they see the first, not the second, and cannot change or delete it
    assert response.status_code == 200
    page = response.content.decode()
    assert "pay-r1" in page and "pay-r2" not in page
    refund = Refund.objects.get(payment_id="pay-r1")
    assert staff.post(f"/admin/wallet/refund/{refund.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Refund.objects.filter(pk=refund.pk).exists()


def test_only_services_may_record_refunds(api_client, player_client_factory):
    # given a player's app and an anonymous caller
    # when they try to refund a payment
    as_player = player_client_factory(PLAYER).post(REFUND, refund_body(), format="json")
    anonymous = api_client.post(REFUND, refund_body(), format="json")
    # then neither may
    assert (as_player.status_code, anonymous.status_code) == (403, 401)
