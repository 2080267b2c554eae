"""Concurrent payers and parallel ranges against real PostgreSQL row locks (the PostgreSQL + Redis pass)."""

from __future__ import annotations

import datetime as dt
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import pytest
from django.db import OperationalError, connection, transaction
from django.test import override_settings

from activity.models import UserReward
from activity.selectors import actions_watermark
from segments import services
from segments.models import SegmentHistory, SegmentRun, SegmentRunRange, UserSegment
from tests import factories
from tests.concurrency import run_concurrently, skip_unless_postgresql
from tests.segments.helpers import D, history, kst, player, run
from wallet.models import LedgerEntry

pytestmark = pytest.mark.django_db(transaction=True)

NEXT_DAY = D + dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _postgresql_only() -> None:
    skip_unless_postgresql()


def test_concurrent_payers_of_one_rise_pay_it_once():
    # given a rise applied and pending (its range crashed before paying)
    uid = player()
    history(uid, r=2, f=12, m=500)
    factories.make_actions(user_id=uid, at=[kst(D, 10, i) for i in range(5)])
    factories.make_actions(
        user_id=uid, at=[kst(D, 18)], action_type="SPEND_CYBER_TOKENS", spent_tokens=1_600, game="Roulette"
    )
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


def test_an_apply_process_that_dies_fails_the_run_at_once_and_the_next_run_proceeds(monkeypatch):
    # given a population in 6 ranges, and apply processes of which the one that takes the third range dies there
    # (as under SIGKILL or the out-of-memory killer: no exception, no clean-up)
    for i in range(40):
        history(player(), r=1 + i % 20, f=1 + (i * 7) % 40, m=(i * 1_337) % 12_000)
    apply = services.segment_range_apply

    def apply_or_die(*, range_id: int) -> object:
        third = SegmentRunRange.objects.filter(run__status="running").order_by("id").values_list("id", flat=True)[2]
        if range_id == third:
            os._exit(137)
        return apply(range_id=range_id)

    monkeypatch.setattr(services, "segment_range_apply", apply_or_die)
    # when the batch runs on 2 processes (on a thread of this test, so that a hang is seen rather than waited out)
    outcome: list[BaseException | SegmentRun] = []

    def batch() -> None:
        try:
            outcome.append(services.segment_batch_run(as_of=D, pay_rewards=False, range_size=7, workers=2))
        except BaseException as exc:  # noqa: BLE001 - what the run raised is what is asserted
            outcome.append(exc)
        finally:
            connection.close()  # this thread's own connection

    runner = threading.Thread(target=batch, daemon=True)
    runner.start()
    runner.join(timeout=120)
    # then the run ends (it does not wait for the dead process's range) with the pool's error, and is failed
    assert not runner.is_alive(), "the run still waits for the range of its dead process"
    assert isinstance(outcome[0], BrokenProcessPool)
    failed = SegmentRun.objects.get()
    assert failed.status == SegmentRun.Status.FAILED and "BrokenProcessPool" in failed.error
    # and the next run is not refused: it runs whole and gives the rows of a run nobody killed
    monkeypatch.setattr(services, "segment_range_apply", apply)
    again = services.segment_batch_run(as_of=D, pay_rewards=False, range_size=7, workers=2)
    rows = {s.user_id: (s.rfm_group, s.recency_days, s.frequency, s.monetary) for s in UserSegment.objects.all()}
    UserSegment.objects.all().delete()
    SegmentHistory.objects.all().delete()
    services.segment_batch_run(as_of=D, pay_rewards=False, range_size=7, workers=1, full=True)
    sequential = {s.user_id: (s.rfm_group, s.recency_days, s.frequency, s.monetary) for s in UserSegment.objects.all()}
    assert again.status == SegmentRun.Status.DONE
    assert rows == sequential and len(rows) == 40


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


def _hold_an_uncommitted_action(
    uid: int, *, written: threading.Event, release: threading.Event, committed: threading.Event
) -> int:
    """Log an action in a transaction, hold it open until ``release``, commit; the action's id."""
    try:
        with transaction.atomic():
            [action] = factories.make_actions(user_id=uid, at=[kst(D, 1)])
            written.set()
            release.wait(30)
        committed.set()
        return action.id
    finally:
        connection.close()


def test_the_watermark_waits_for_a_transaction_still_writing_actions():
    # given a transaction that has logged an action (its id allocated) and not committed yet
    uid = player()
    written, release, committed = threading.Event(), threading.Event(), threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        writer = pool.submit(_hold_an_uncommitted_action, uid, written=written, release=release, committed=committed)
        assert written.wait(10)
        # when a run takes its watermark meanwhile (the writer commits a moment later)
        threading.Timer(0.5, release.set).start()
        mark = actions_watermark(wait_seconds=600)
        # then the watermark was taken after the writer committed, and covers its action
        assert committed.is_set()
        assert writer.result() <= mark


def test_a_run_that_cannot_take_its_watermark_fails_and_says_why():
    # given a transaction holding an uncommitted action for longer than a run will wait
    uid = player()
    written, release, committed = threading.Event(), threading.Event(), threading.Event()
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(_hold_an_uncommitted_action, uid, written=written, release=release, committed=committed)
        assert written.wait(10)
        try:
            # when a run starts with a short wait
            with override_settings(SEGMENTS_WATERMARK_WAIT_SECONDS=0.5), pytest.raises(OperationalError):
                services.segment_run_start(as_of=D, pay_rewards=False)
        finally:
            release.set()
    # then the run is failed with the lock named, and the next run can start
    failed = SegmentRun.objects.get()
    assert failed.status == SegmentRun.Status.FAILED and "lock" in failed.error
    assert run().status == SegmentRun.Status.DONE
