"""Concurrent spends against real PostgreSQL row locks: 200 spends of 10 on a balance of 1,000 leave
exactly 100 successes and a balance of 0; concurrent retries of one key write one row."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from activity.models import UserAction
from players import services as player_services
from tests import factories
from tests.concurrency import run_concurrently, skip_unless_postgresql
from tests.wallet.helpers import cached_balance, db_balance, fund, ledger_sum
from wallet import services
from wallet.errors import InsufficientBalance
from wallet.models import LedgerEntry

pytestmark = pytest.mark.django_db(transaction=True)

PLAYER = 4900


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    skip_unless_postgresql()


def spend_call(key: str, amount: int = 10) -> Callable[[], services.LedgerResult]:
    return lambda: services.wallet_spend(player_id=PLAYER, amount=amount, game="SlotMachine", idempotency_key=key)


def earn_call(key: str) -> Callable[[], services.LedgerResult]:
    return lambda: services.wallet_earn(player_id=PLAYER, amount=10, source="in_app", idempotency_key=key, details={})


def test_200_concurrent_spends_of_10_on_1000_give_exactly_100_successes_and_a_zero_balance():
    # given a player with 1,000 tokens, committed and cached
    factories.make_player(id=PLAYER)
    fund(PLAYER, 1000)
    assert cached_balance(PLAYER) == 1000
    # when 200 spends of 10, each with its own key, run on 32 threads at once
    results = run_concurrently([spend_call(f"race-{i}") for i in range(200)])
    # then exactly 100 succeed and 100 are refused for balance, with no other outcome
    outcomes = Counter(type(r).__name__ for r in results)
    assert outcomes == {"LedgerResult": 100, "InsufficientBalance": 100}, [
        r for r in results if not isinstance(r, services.LedgerResult | InsufficientBalance)
    ][:3]
    # and the successes took the balance down one step each: 990, 980, ..., 0, each exactly once
    steps = sorted(r.entry.balance_after for r in results if isinstance(r, services.LedgerResult))
    assert steps == list(range(0, 1000, 10))
    # and the wallet, the ledger and Redis all say 0, with one action per success
    assert db_balance(PLAYER) == 0
    assert ledger_sum(PLAYER) == 0
    assert cached_balance(PLAYER) == 0
    assert LedgerEntry.objects.filter(player_id=PLAYER, kind="SPEND").count() == 100
    assert UserAction.objects.filter(user_id=PLAYER, action_type="SPEND_CYBER_TOKENS").count() == 100


def test_concurrent_retries_of_one_key_write_one_row():
    # given a player with 1,000 tokens
    factories.make_player(id=PLAYER)
    fund(PLAYER, 1000)
    # when the same spend (one key) is sent 64 times at once
    results = run_concurrently([spend_call("same-key") for _ in range(64)])
    # then every caller gets the same ledger row, exactly one of them as the original
    assert all(isinstance(r, services.LedgerResult) for r in results), results[:3]
    assert {r.entry.id for r in results} == {results[0].entry.id}
    assert sum(not r.replayed for r in results) == 1
    # and the tokens moved once, everywhere
    assert LedgerEntry.objects.filter(idempotency_key="spend:same-key").count() == 1
    assert db_balance(PLAYER) == ledger_sum(PLAYER) == cached_balance(PLAYER) == 990


def test_concurrent_retries_of_a_first_purchase_by_a_new_player_write_one_row():
    # given a player never seen (no player row, no wallet yet)
    # when the same purchase (one payment_id) is delivered 64 times at once
    results = run_concurrently(
        [
            lambda: services.wallet_purchase(
                player_id=PLAYER, tokens=500, amount_paid="4.99", currency="USD", payment_id="pay-race"
            )
            for _ in range(64)
        ]
    )
    # then the player and wallet are created once, every caller gets the same row, tokens credited once
    assert all(isinstance(r, services.LedgerResult) for r in results), results[:3]
    assert {r.entry.id for r in results} == {results[0].entry.id}
    assert sum(not r.replayed for r in results) == 1
    assert db_balance(PLAYER) == ledger_sum(PLAYER) == cached_balance(PLAYER) == 500


def test_concurrent_spends_never_pass_a_daily_limit():
    # given a player with 1,000 tokens and a daily spend limit of 100
    factories.make_player(id=PLAYER)
    fund(PLAYER, 1000)
    player_services.protection_update(player_id=PLAYER, changes={"daily_spend_limit": 100})
    # when 50 spends of 10 run at once
    results = run_concurrently([spend_call(f"limit-{i}") for i in range(50)])
    # then exactly 10 fit under the limit and the other 40 are refused by it
    assert Counter(type(r).__name__ for r in results) == {"LedgerResult": 10, "SpendLimitReached": 40}
    assert db_balance(PLAYER) == ledger_sum(PLAYER) == cached_balance(PLAYER) == 900


def test_concurrent_spends_and_earns_keep_the_ledger_and_the_balance_equal():
    # given a player with 100 tokens
    factories.make_player(id=PLAYER)
    fund(PLAYER, 100)
    # when 100 spends of 10 and 50 earns of 10 run interleaved on 32 threads
    calls: list[Callable[[], Any]] = []
    for i in range(100):
        calls.append(spend_call(f"mix-{i}"))
        if i % 2 == 0:
            calls.append(earn_call(f"mix-earn-{i}"))
    results = run_concurrently(calls)
    # then nothing failed but for balance, and the wallet, the ledger and Redis agree, never below zero
    assert all(isinstance(r, services.LedgerResult | InsufficientBalance) for r in results)
    spent = sum(1 for r in results if isinstance(r, services.LedgerResult) and r.entry.kind == "SPEND")
    assert db_balance(PLAYER) == ledger_sum(PLAYER) == cached_balance(PLAYER) == 100 + 50 * 10 - spent * 10
    assert not LedgerEntry.objects.filter(player_id=PLAYER, balance_after__lt=0).exists()


def test_a_refund_racing_spends_takes_back_only_what_the_balance_holds_and_never_goes_below_zero():
    # given a player who bought 1,000 tokens
    factories.make_player(id=PLAYER)
    services.wallet_purchase(player_id=PLAYER, tokens=1000, amount_paid="9900.00", currency="KRW", payment_id="race")
    # when 60 spends of 20 and the payment's refund, reported twice, run at once
    calls: list[Callable[[], Any]] = [spend_call(f"refund-race-{i}", amount=20) for i in range(60)]
    for at in (20, 40):
        calls.insert(at, lambda: services.wallet_refund(payment_id="race", kind="chargeback", reason="race"))
    results = run_concurrently(calls)
    # then the payment was reversed once, taking back what the balance held at its turn, the rest recorded unrecovered
    assert all(isinstance(r, services.LedgerResult | services.RefundResult | InsufficientBalance) for r in results)
    refunds = [r for r in results if isinstance(r, services.RefundResult)]
    assert sorted(r.replayed for r in refunds) == [False, True]
    refund = refunds[0].refund
    assert refund.recovered + refund.unrecovered == 1000
    spent = 20 * sum(1 for r in results if isinstance(r, services.LedgerResult))
    assert db_balance(PLAYER) == ledger_sum(PLAYER) == cached_balance(PLAYER) == 1000 - spent - refund.recovered
    assert not LedgerEntry.objects.filter(player_id=PLAYER, balance_after__lt=0).exists()
    assert LedgerEntry.objects.filter(player_id=PLAYER, kind="REFUND").count() == (1 if refund.recovered else 0)
