"""Concurrent payers and parallel ranges against real PostgreSQL row locks (the PostgreSQL + Redis pass)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connection

from activity.models import UserReward
from segments import services
from segments.models import SegmentHistory, SegmentRun, UserSegment
from tests import factories
from tests.segments.helpers import D, history, kst, player, run
from wallet.models import LedgerEntry

pytestmark = pytest.mark.django_db(transaction=True)

NEXT_DAY = D + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL's row locks and concurrent connections (runs in the PostgreSQL + Redis pass)")


def run_concurrently(calls: list[Callable[[], Any]]) -> list[Any]:
    def call_and_close(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - every outcome is returned to the test
            return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(call_and_close, calls))


def test_concurrent_payers_of_one_rise_pay_it_once():
    # given a rise applied and pending (its range crashed before paying)
    uid = player()
    history(uid, r=2, f=12, m=500)
    factories.make_actions(user_id=uid, at=[kst(D, 10, i) for i in range(5)])
    factories.make_actions(user_id=uid, at=[kst(D, 18)], action_type="SPEND_CYBER_TOKENS", spent_tokens=1_600,
                           game="Roulette")
    run(pay_rewards=True)
    started = services.segment_run_start(as_of=NEXT_DAY, pay_rewards=True)
    for range_id in services.segment_run_stage(run_id=started.id):
        services.segment_range_apply(range_id=range_id)
    pending = SegmentHistory.objects.get(user_id=uid, reward_state="pending")
    # when eight workers try to pay it at once
    outcomes = run_concurrently([lambda: services.segment_reward_pay(history_id=pending.id)] * 8)
    # then exactly one paid: one grant, one user_rewards row
    assert sorted(outcomes) == [False] * 7 + [True]
    assert LedgerEntry.objects.filter(player_id=uid, kind="GRANT").count() == 1
    assert UserReward.objects.filter(user_id=uid).count() == 1


def test_ranges_on_parallel_workers_give_the_rows_of_a_sequential_run():
    # given a population
    ids = []
    for i in range(40):
        uid = player()
        history(uid, r=1 + i % 20, f=1 + (i * 7) % 40, m=(i * 1_337) % 12_000)
        ids.append(uid)
    # when the batch runs on 3 worker threads in ranges of 7, and again in turn for the next day and back
    parallel = run(range_size=7, workers=3)
    rows = {s.user_id: (s.rfm_group, s.recency_days, s.frequency, s.monetary) for s in UserSegment.objects.all()}
    UserSegment.objects.all().delete()
    SegmentHistory.objects.all().delete()
    run(range_size=7, workers=1)
    sequential = {s.user_id: (s.rfm_group, s.recency_days, s.frequency, s.monetary) for s in UserSegment.objects.all()}
    # then every range ran once and the rows are the same
    assert parallel.status == SegmentRun.Status.DONE and parallel.ranges_total == 6
    assert rows == sequential and set(rows) == set(ids)


def test_a_range_delivered_twice_at_once_is_applied_once():
    # given a staged run of one range
    for i in range(5):
        history(player(), r=1 + i, f=3)
    started = services.segment_run_start(as_of=D, pay_rewards=False)
    [range_id] = services.segment_run_stage(run_id=started.id)
    # when two workers get the same range at once
    outcomes = run_concurrently([lambda: services.segment_range_apply(range_id=range_id)] * 2)
    # then one applied it, the other found it applied; one history row per player
    assert sorted(outcomes) == [False, True]
    assert SegmentHistory.objects.count() == 5
