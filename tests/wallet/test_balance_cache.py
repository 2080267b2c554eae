"""Redis' copy of each balance, ``user:{id}:cyber_token_balance`` (spec 2.6, exact name): it follows every
committed change, reads fall back to the database and rebuild it when it is missing or Redis is down,
commits landing out of order never leave an older balance, and a write Redis missed leaves a stale balance for at
most the copy's lifetime (``WALLET_BALANCE_CACHE_SECONDS``)."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import transaction
from django.test import override_settings

from config.settings.base import redis_caches
from core.hotstore import hot_store, key_last_action_ts
from tests.faults import HungRedis
from tests.wallet.helpers import cached_balance, cached_seq, db_balance, fund, spend
from wallet import selectors, services
from wallet.balance_cache import balance_cache_set, balance_cache_set_quietly, key_balance, key_balance_seq

pytestmark = pytest.mark.django_db

PLAYER = 4700

# The hot store pointed at a port nothing listens on: Redis really unreachable (connection refused).
REDIS_DOWN = {
    **settings.CACHES,
    "hot": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "KEY_FUNCTION": "core.hotstore.raw_cache_key",
        "TIMEOUT": None,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
        },
    },
}


def raw_redis() -> Any:
    return redis.Redis.from_url(os.environ["REDIS_URL"])


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs the block's after-commit hooks at its end, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def test_key_names_are_the_specs():
    # given a player id
    # when the key names are built
    # then the balance key is exactly the spec's, its sequence number beside it
    assert key_balance(42) == "user:42:cyber_token_balance"
    assert key_balance_seq(42) == "user:42:cyber_token_balance_seq"


def test_redis_holds_the_balance_under_the_exact_key(redis_only, committed):
    # given a player who earned 100 and spent 30, both committed
    with committed():
        fund(PLAYER, 100)
    with committed():
        entry = spend(PLAYER, 30).entry
    # when Redis is read with a plain client, no Django in between
    client = raw_redis()
    # then user:{id}:cyber_token_balance holds 70, its sequence is the last ledger row, and both expire within the
    # copy's lifetime
    assert client.get(f"user:{PLAYER}:cyber_token_balance") == b"70"
    assert client.get(f"user:{PLAYER}:cyber_token_balance_seq") == str(entry.id).encode()
    lifetime_ms = settings.WALLET_BALANCE_CACHE_SECONDS * 1000
    assert 0 < client.pttl(f"user:{PLAYER}:cyber_token_balance") <= lifetime_ms
    assert 0 < client.pttl(f"user:{PLAYER}:cyber_token_balance_seq") <= lifetime_ms


def test_the_cached_balance_follows_every_committed_change(committed):
    # given a player
    steps = [
        lambda: fund(PLAYER, 100),
        lambda: spend(PLAYER, 30),
        lambda: services.wallet_purchase(
            player_id=PLAYER, tokens=500, amount_paid="9.99", currency="USD", payment_id="p-1"
        ),
        lambda: services.wallet_grant(player_id=PLAYER, amount=25, idempotency_key="grant-1", reason="upgrade"),
        lambda: services.wallet_adjust(
            player_id=PLAYER, amount=-95, reason="fix", actor="alice", idempotency_key="adj-1"
        ),
    ]
    seen = []
    # when an earn, a spend, a purchase, a grant and an adjustment each commit
    for step in steps:
        with committed():
            step()
        seen.append((cached_balance(PLAYER), db_balance(PLAYER)))
    # then after each one the cache equals the database
    assert seen == [(100, 100), (70, 70), (570, 570), (595, 595), (500, 500)]


def test_a_rolled_back_change_leaves_the_cache_alone(committed):
    # given a committed balance of 100
    with committed():
        fund(PLAYER, 100)
    # when a spend runs inside a transaction that then fails
    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        spend(PLAYER, 30)
        raise RuntimeError("the caller's transaction failed after the spend")
    # then neither the database nor the cache moved
    assert db_balance(PLAYER) == cached_balance(PLAYER) == 100


def test_a_read_falls_back_to_the_database_when_the_key_is_missing_and_rebuilds_it(committed):
    # given a committed balance of 100 and then an emptied Redis
    with committed():
        fund(PLAYER, 100)
    hot_store.flush()
    # when the balance is read twice
    first = selectors.wallet_balance(player_id=PLAYER)
    second = selectors.wallet_balance(player_id=PLAYER)
    # then the first read comes from the database and puts the key back; the second is served by the cache
    assert (first.balance, first.from_cache) == (100, False)
    assert (second.balance, second.from_cache) == (100, True)
    assert cached_balance(PLAYER) == 100


def test_a_balance_key_lost_on_its_own_is_rebuilt_by_a_read(committed):
    # given a cached balance whose key alone was evicted (its sequence key stayed)
    with committed():
        fund(PLAYER, 100)
    hot_store.cache.delete(key_balance(PLAYER))
    assert cached_seq(PLAYER) is not None
    # when the balance is read
    read = selectors.wallet_balance(player_id=PLAYER)
    # then it comes from the database and the key is back
    assert (read.balance, read.from_cache) == (100, False)
    assert cached_balance(PLAYER) == 100


def test_redis_down_reads_fall_back_to_the_database(player_client_factory, caplog):
    # given a committed balance of 100
    fund(PLAYER, 100)
    with override_settings(CACHES=REDIS_DOWN):
        # when Redis cannot be reached at all
        with pytest.raises(redis.exceptions.ConnectionError):
            hot_store.redis().ping()
        read = selectors.wallet_balance(player_id=PLAYER)
        response = player_client_factory(PLAYER).get("/api/me/wallet")
    # then the selector and the API answer from the database, and the outage is logged
    assert (read.balance, read.from_cache) == (100, False)
    assert response.status_code == 200
    assert response.json()["balance"] == 100
    assert "balance cache unreachable" in caplog.text


def test_redis_down_spends_are_still_decided_and_recorded(service_client, committed, caplog):
    # given a committed balance of 100
    fund(PLAYER, 100)
    with override_settings(CACHES=REDIS_DOWN), caplog.at_level(logging.WARNING):
        # when a spend of 30 arrives while Redis is unreachable, and a spend of 200
        with committed():
            accepted = service_client.post(
                "/api/wallet/spend",
                {"user_id": PLAYER, "amount": 30, "game": "Roulette", "idempotency_key": "down-1"},
                format="json",
            )
        refused = service_client.post(
            "/api/wallet/spend",
            {"user_id": PLAYER, "amount": 200, "game": "Roulette", "idempotency_key": "down-2"},
            format="json",
        )
    # then the first is recorded (the database decides), the second refused; the failed cache update is logged
    assert accepted.status_code == 201
    assert refused.status_code == 409
    assert db_balance(PLAYER) == 70
    assert "balance cache update failed" in caplog.text
    # and once Redis is back, a read rebuilds the right value
    assert selectors.wallet_balance(player_id=PLAYER).balance == 70
    assert cached_balance(PLAYER) == 70


def test_a_committed_spend_moves_last_action_ts_forward_never_back(committed):
    # given a player whose last action, as the hot store knows it, is far in the future
    with committed():
        fund(PLAYER, 100)
    first = hot_store.get_many([key_last_action_ts(PLAYER)])[key_last_action_ts(PLAYER)]
    # when they spend (a SPEND_CYBER_TOKENS action) after the earn, and then a later action time is set
    with committed():
        entry = spend(PLAYER, 30).entry
    after_spend = hot_store.get_many([key_last_action_ts(PLAYER)])[key_last_action_ts(PLAYER)]
    hot_store.cache.set(key_last_action_ts(PLAYER), 4_000_000_000, timeout=None)
    with committed():
        spend(PLAYER, 10)
    # then the earn and the spend each set last_action_ts to their action's second, and an older one never
    # moves it back
    assert first <= after_spend == int(entry.created_at.timestamp())
    assert int(hot_store.get_many([key_last_action_ts(PLAYER)])[key_last_action_ts(PLAYER)]) == 4_000_000_000


def test_an_older_write_never_replaces_a_newer_one():
    # given the cache holds balance 90 written by ledger row 5
    balance_cache_set({PLAYER: (90, 5)})
    # when a write from ledger row 4 arrives late, and one from row 5 again with another value
    late = balance_cache_set({PLAYER: (100, 4)})
    same = balance_cache_set({PLAYER: (95, 5)})
    # then neither lands: 90 from row 5 stays
    assert (late, same) == (0, 0)
    assert (cached_balance(PLAYER), cached_seq(PLAYER)) == (90, 5)


def test_a_forced_repair_replaces_an_equal_sequence_but_never_a_newer_one():
    # given the cache holds balance 90 written by ledger row 5
    balance_cache_set({PLAYER: (90, 5)})
    # when a forced repair says row 5 gives 80, then a forced repair from row 4 arrives
    repaired = balance_cache_set({PLAYER: (80, 5)}, force=True)
    stale = balance_cache_set({PLAYER: (100, 4)}, force=True)
    # then the first lands (same row, corrected value), the older one does not
    assert (repaired, stale) == (1, 0)
    assert cached_balance(PLAYER) == 80


def test_commits_whose_hooks_run_out_of_order_leave_the_newest_balance(django_capture_on_commit_callbacks):
    # given a committed balance of 100 (cached)
    with django_capture_on_commit_callbacks(execute=True):
        fund(PLAYER, 100)
    # when two spends commit, 100 -> 70 then 70 -> 40, and their after-commit hooks run newest first
    with django_capture_on_commit_callbacks() as first_hooks:
        spend(PLAYER, 30)
    with django_capture_on_commit_callbacks() as second_hooks:
        spend(PLAYER, 30)
    for hook in [*second_hooks, *first_hooks]:
        hook()
    # then the cache holds 40, the newer balance, not the late 70
    assert cached_balance(PLAYER) == db_balance(PLAYER) == 40


def test_a_rebuild_from_an_older_read_never_replaces_a_newer_balance(committed):
    # given a read that saw balance 100 at ledger row N, after which a spend committed (cache now 70)
    with committed():
        first = fund(PLAYER, 100)
    with committed():
        spend(PLAYER, 30)
    # when the read's rebuild lands late
    balance_cache_set_quietly(PLAYER, 100, first.entry.id, force=True)
    # then the cache keeps 70
    assert cached_balance(PLAYER) == 70


# --- a write Redis missed ---------------------------------------------------------------------------------------


@override_settings(WALLET_BALANCE_CACHE_SECONDS=0.5, REDIS_RETRY_AFTER_SECONDS=0)  # Redis asked again at once
def test_a_grant_whose_redis_write_failed_is_served_once_the_stale_copy_expires(
    committed, django_capture_on_commit_callbacks, caplog
):
    # given a cached balance of 100, written with a lifetime of half a second
    with committed():
        fund(PLAYER, 100)
    assert cached_balance(PLAYER) == 100
    # when a grant of 50 commits while Redis hangs (its after-commit write times out), and then Redis is back
    with django_capture_on_commit_callbacks() as hooks:
        services.wallet_grant(player_id=PLAYER, amount=50, idempotency_key="grant-hung", reason="upgrade")
    with HungRedis() as hung, override_settings(CACHES=redis_caches(hung.url)), caplog.at_level(logging.WARNING):
        for hook in hooks:
            hook()
    assert "balance cache update failed" in caplog.text
    stale = selectors.wallet_balance(player_id=PLAYER)
    time.sleep(0.6)
    served = selectors.wallet_balance(player_id=PLAYER)
    # then the copy missed the grant (100 until it expires, within its lifetime), and once it has expired the
    # balance served is the ledger's, read from the database, and the copy is refilled with it
    assert stale == selectors.BalanceRead(100, from_cache=True)
    assert served == selectors.BalanceRead(150, from_cache=False) and db_balance(PLAYER) == 150
    assert selectors.wallet_balance(player_id=PLAYER) == selectors.BalanceRead(150, from_cache=True)


@override_settings(WALLET_BALANCE_CACHE_SECONDS=0.5)
def test_every_write_of_the_copy_restarts_its_lifetime(committed):
    # given a balance of 100 cached
    with committed():
        fund(PLAYER, 100)
    # when the player spends 30 just before the copy would expire, and the first copy's lifetime passes
    time.sleep(0.3)
    with committed():
        spend(PLAYER, 30)
    time.sleep(0.3)
    # then the spend's copy is still served: each write gets the whole lifetime
    assert selectors.wallet_balance(player_id=PLAYER) == selectors.BalanceRead(70, from_cache=True)
