"""Nightly reconciliation (Celery beat and ``manage.py reconcile_balances``): every balance recomputed from
the ledger, Redis repaired, drift reported as the metric tokenloop_wallet_drift_players and a log line. A balance
Redis does not hold (expired: wallet.balance_cache) is counted, not drift, and left for the next read to refill.
Includes the crash between commit and the Redis update, with a process that really dies."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from config.schedule import BEAT_SCHEDULE
from core.hotstore import hot_store
from tests import factories
from tests.wallet.helpers import cached_balance, cached_seq, db_balance, fund, ledger_sum
from wallet import selectors, tasks
from wallet.balance_cache import balance_cache_set, key_balance
from wallet.models import LedgerEntry, Wallet
from wallet.reconcile import wallet_reconcile

A, B, C = 4800, 4801, 4802


def drift_metric(store: str) -> float | None:
    """tokenloop_wallet_drift_players{store=...} as GET /metrics shows it."""
    response = APIClient().get("/metrics")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.content.decode()):
        if family.name == "tokenloop_wallet_drift_players":
            for sample in family.samples:
                if sample.labels == {"store": store}:
                    return sample.value
    return None


@pytest.fixture
def three_players(django_capture_on_commit_callbacks) -> None:
    """Players A, B, C with 100, 200 and 300 tokens, committed and cached."""
    with django_capture_on_commit_callbacks(execute=True):
        for pid, amount in ((A, 100), (B, 200), (C, 300)):
            fund(pid, amount)
    assert [cached_balance(p) for p in (A, B, C)] == [100, 200, 300]


@pytest.mark.django_db
def test_a_clean_run_reports_no_drift_and_changes_nothing(three_players, caplog):
    # given three players whose cache and wallets agree with the ledger
    # when reconciliation runs
    with caplog.at_level(logging.INFO, logger="wallet.reconcile"):
        report = wallet_reconcile()
    # then it saw three players and no drift, says so in the log and the metric, and nothing changed
    assert (report.players, report.wallet_drift, report.redis_drift, report.redis_missing) == (3, 0, 0, 0)
    assert "wallet reconcile: 3 players, wallet drift 0, redis drift 0, redis missing 0" in caplog.text
    assert drift_metric("redis") == drift_metric("wallet") == 0
    assert [cached_balance(p) for p in (A, B, C)] == [100, 200, 300]


@pytest.mark.django_db
def test_drift_in_redis_is_repaired_and_reported(three_players, caplog):
    # given B's cached balance is wrong at the current sequence number, and C's is wrong with no sequence
    balance_cache_set({B: (999, cached_seq(B) or 0)}, force=True)
    hot_store.cache.set(key_balance(C), 5, timeout=None)
    hot_store.cache.delete(f"user:{C}:cyber_token_balance_seq")
    # when reconciliation runs
    with caplog.at_level(logging.INFO, logger="wallet.reconcile"):
        report = wallet_reconcile()
    # then both are back to the ledger's balance, and the drift shows in the report, the metric and the log
    assert [cached_balance(p) for p in (A, B, C)] == [100, 200, 300]
    assert (report.redis_drift, report.redis_missing, report.wallet_drift) == (2, 0, 0)
    assert drift_metric("redis") == 2
    assert "redis drift 2" in caplog.text


@pytest.mark.django_db
def test_missing_keys_are_counted_as_no_drift_and_left_for_reads_to_refill(three_players):
    # given an emptied Redis (keys expired, or flushed)
    hot_store.flush()
    # when reconciliation runs
    report = wallet_reconcile()
    # then the missing ones are counted, no drift is reported and nothing is written; a read refills the key
    assert (report.redis_missing, report.redis_drift) == (3, 0)
    assert drift_metric("redis") == 0
    assert [cached_balance(p) for p in (A, B, C)] == [None, None, None]
    assert selectors.wallet_balance(player_id=A) == selectors.BalanceRead(100, from_cache=False)
    assert cached_balance(A) == 100


@pytest.mark.django_db
def test_a_wallet_row_disagreeing_with_its_ledger_is_repaired_from_the_ledger(three_players, caplog):
    # given B's wallet row was changed behind the ledger's back (raw SQL: 150 instead of 200)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE wallets SET balance = 150 WHERE player_id = %s", [B])
    # when reconciliation runs
    with caplog.at_level(logging.INFO, logger="wallet.reconcile"):
        report = wallet_reconcile()
    # then the ledger wins: the wallet is 200 again, and the drift names B in the report, log and metric
    assert db_balance(B) == ledger_sum(B) == 200
    assert (report.wallet_drift, report.drifted_players) == (1, [B])
    assert f"wallet drift: player {B} wallet 150, ledger sum 200" in caplog.text
    assert drift_metric("wallet") == 1
    assert cached_balance(B) == 200


@pytest.mark.django_db
def test_a_sequence_number_no_committed_row_has_is_replaced(three_players):
    # given B's cache claims a ledger row far past any committed one (as after restoring the database
    # from a backup while Redis kept later values), so live writes could never replace it
    balance_cache_set({B: (7, 10**12)})
    # when reconciliation runs
    report = wallet_reconcile()
    # then B's cache is the ledger's again, counted as drift, and later writes land again
    assert cached_balance(B) == 200
    assert report.redis_drift == 1
    balance_cache_set({B: (180, (cached_seq(B) or 0) + 1)})
    assert cached_balance(B) == 180


@pytest.mark.django_db
def test_the_command_reports_what_it_did(three_players):
    # given one drifted key and one missing key
    balance_cache_set({A: (1, cached_seq(A) or 0)}, force=True)
    hot_store.cache.delete(key_balance(C))
    out = StringIO()
    # when an operator runs manage.py reconcile_balances
    call_command("reconcile_balances", stdout=out)
    # then it prints the counts and the drifted key is repaired (the missing one is left for a read)
    assert "players 3, wallet drift 0, redis drift 1, redis missing 1" in out.getvalue()
    assert [cached_balance(p) for p in (A, B, C)] == [100, 200, None]


@pytest.mark.django_db
def test_the_nightly_celery_task_reconciles(three_players):
    # given the beat schedule and an emptied Redis
    entry = BEAT_SCHEDULE["wallet-reconcile"]
    hot_store.flush()
    # when the scheduled task runs (in-process here)
    result = tasks.reconcile_balances.delay().get()
    # then the schedule names this task nightly, and the task answered its counts
    assert (entry["task"], entry.get("nightly")) == ("wallet.tasks.reconcile_balances", True)
    assert result == {"players": 3, "wallet_drift": 0, "redis_drift": 0, "redis_missing": 3}


# --- a process killed between commit and the Redis update ------------------------------------------------

KILLED_SPEND = """
import os
from django.db import transaction
from wallet.services import wallet_spend

with transaction.atomic():
    # registered first, so it runs before the wallet's own after-commit hook (the Redis update)
    transaction.on_commit(lambda: os._exit(9))
    wallet_spend(player_id={player}, amount=30, game="SlotMachine", idempotency_key="killed-1")
print("still alive")
"""


def database_url_for_subprocess() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s["PASSWORD"] else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("redis_before", ["stale", "missing"])
def test_a_process_killed_after_commit_before_the_redis_update_is_repaired(redis_before):
    if connection.vendor != "postgresql":
        pytest.skip(
            "the killed process must share the test database; SQLite's in-memory test database "
            "cannot be opened by another process (runs in the PostgreSQL + Redis pass)"
        )
    # given a committed balance of 100, cached (or, for a first write, no key at all)
    factories.make_player(id=A)
    fund(A, 100)
    assert cached_balance(A) == 100
    if redis_before == "missing":
        hot_store.flush()
    # when another process spends 30 and dies right after its commit, before updating Redis
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
    }
    died = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", KILLED_SPEND.format(player=A)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # then the process really died (exit 9) after committing: the ledger and the wallet say 70
    assert died.returncode == 9, died.stderr
    assert "still alive" not in died.stdout
    assert LedgerEntry.objects.filter(idempotency_key="spend:killed-1").count() == 1
    assert db_balance(A) == ledger_sum(A) == 70
    # and Redis was never told: the old 100 or nothing
    assert cached_balance(A) == (100 if redis_before == "stale" else None)
    # when the nightly reconciliation runs
    out = StringIO()
    call_command("reconcile_balances", stdout=out)
    # then a stale 100 is replaced by 70, reported as the drift it was (a missing key is counted, and the next
    # read refills it), and reads serve 70
    expected = "redis drift 1, redis missing 0" if redis_before == "stale" else "redis drift 0, redis missing 1"
    assert expected in out.getvalue()
    assert cached_balance(A) == (70 if redis_before == "stale" else None)
    assert selectors.wallet_balance(player_id=A).balance == 70
    assert selectors.wallet_balance(player_id=A) == selectors.BalanceRead(70, from_cache=True)
    assert Wallet.objects.get(player_id=A).last_entry_id == cached_seq(A)
