"""The nightly batch (spec 2.2.3): set-based, split by user-id range, re-runnable, recording history and rules."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.hotstore import hot_store, key_streak_count
from segments import services
from segments.models import SegmentHistory, SegmentRule, SegmentRuleChange, SegmentRun, SegmentRunRange, UserSegment
from segments.services import SegmentRunInProgress, UserService
from segments.tasks import rfm_apply_range, rfm_nightly
from tests import factories
from tests.segments.helpers import D, days_before, fund, history, player, run, segment

pytestmark = pytest.mark.django_db

NEXT_DAY = D + dt.timedelta(days=1)


def _population(n: int) -> list[int]:
    ids = []
    for i in range(n):
        uid = player()
        history(uid, r=1 + i % 20, f=1 + (i * 7) % 40, m=(i * 1_337) % 12_000)
        ids.append(uid)
    return ids


def _rows() -> dict[int, tuple]:
    return {
        s.user_id: (
            s.rfm_group,
            s.as_of,
            s.recency_days,
            s.frequency,
            s.monetary,
            s.corporate_tokens_30d,
            s.corporate_visits_30d,
            s.balance,
            s.last_action_at,
            s.streak_count,
            s.last_updated,
        )
        for s in UserSegment.objects.all()
    }


def test_covers_every_known_player():
    # given a player active in the window, one with only a segment row, one with only old actions and no row
    # (brought in by an import, say), and one with a players row only
    active, known, dormant, silent = player(), player(), player(), player()
    history(active, r=3, f=4)
    UserService.get_or_create_segment(known)
    factories.make_actions(user_id=dormant, at=[days_before(60)])
    # when the batch runs
    result = run()
    # then each has a row computed as of D; the dormant player's R counts from their last action, the others
    # without any action have none
    rows = {s.user_id: (s.as_of, s.recency_days, s.frequency, s.rfm_group) for s in UserSegment.objects.all()}
    assert rows == {
        active: (D, 3, 4, "Low"),
        known: (D, None, 0, "Low"),
        dormant: (D, 60, 0, "Low"),
        silent: (D, None, 0, "Low"),
    }
    assert result.players == 4
    assert result.status == SegmentRun.Status.DONE


def test_actions_of_an_id_without_a_player_are_left_out():
    # given an action logged for an id that has no players row (the log has no foreign key), and a real player
    from activity.models import UserAction

    uid = player()
    history(uid, r=2, f=3)
    UserAction.objects.create(
        event_id="orphan-1",
        user_id=987_654_321,
        action_type="SESSION_START",
        metadata={},
        action_timestamp=days_before(1),
    )
    # when the batch runs, and the next day (incremental) after another such action
    result = run()
    UserAction.objects.create(
        event_id="orphan-2",
        user_id=987_654_321,
        action_type="SESSION_START",
        metadata={},
        action_timestamp=days_before(0),
    )
    nightly = run(as_of=NEXT_DAY)
    # then each ends well, with a row for the player only and no history for the unknown id
    assert (result.status, nightly.status, nightly.mode) == ("done", "done", "incremental")
    assert (result.players, nightly.players) == (1, 1)
    assert list(UserSegment.objects.values_list("user_id", flat=True)) == [uid]
    assert not SegmentHistory.objects.filter(user_id=987_654_321).exists()


def test_rerunning_the_same_date_changes_nothing():
    # given a population and a first run for D, after which some balances move
    ids = _population(12)
    run()
    before = _rows()
    history_rows = SegmentHistory.objects.count()
    fund(ids[0], 500)
    # when the batch runs again for D
    again = run()
    # then no row is rewritten (last_updated included), no history is added
    assert _rows() == before
    assert SegmentHistory.objects.count() == history_rows
    assert (again.rows_updated, again.rows_inserted, again.changes) == (0, 0, 0)


def test_history_has_one_row_per_change_with_the_inputs_that_caused_it():
    # given a player who is Medium as of D and Low the next day (the window no longer holds enough spend)
    uid = player()
    factories.make_actions(
        user_id=uid, at=[days_before(15)], action_type="SPEND_CYBER_TOKENS", spent_tokens=150, game="Roulette"
    )
    factories.make_actions(user_id=uid, at=[days_before(30), days_before(20), days_before(18), days_before(17)])
    # when the batch runs for D, again for D, then for the next day
    run()
    run()
    run(as_of=NEXT_DAY)
    # then the history holds the first group (from nothing) and the fall, each with its as-of date and R/F/M
    rows = list(
        SegmentHistory.objects.filter(user_id=uid)
        .order_by("as_of")
        .values_list("as_of", "from_group", "to_group", "recency_days", "frequency", "monetary")
    )
    assert rows == [(D, None, "Medium", 15, 5, 150), (NEXT_DAY, "Medium", "Low", 16, 4, 150)]


def test_ranges_give_the_same_rows_as_one_range():
    # given a population
    ids = _population(15)
    # when the batch runs in ranges of 4 players, and separately as one range for the next day's twin run
    result = run(range_size=4)
    split = {
        uid: (s.rfm_group, s.recency_days, s.frequency, s.monetary)
        for uid, s in UserSegment.objects.in_bulk(ids).items()
    }
    UserSegment.objects.all().delete()
    SegmentHistory.objects.all().delete()
    run(range_size=1_000)
    whole = {
        uid: (s.rfm_group, s.recency_days, s.frequency, s.monetary)
        for uid, s in UserSegment.objects.in_bulk(ids).items()
    }
    # then the ranges covered every player once, in id order, and the rows are the same
    ranges = list(
        SegmentRunRange.objects.filter(run=result).order_by("first_id").values_list("first_id", "last_id", "players")
    )
    assert [n for _, _, n in ranges] == [4, 4, 4, 3]
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges))
    assert split == whole
    assert len(split) == 15


def _count_queries(n_players: int, *, incremental: bool) -> int:
    _population(n_players)
    if incremental:
        run()  # the base: the next day's run starts from its rows
    with CaptureQueriesContext(connection) as ctx:
        result = run(as_of=NEXT_DAY if incremental else D, range_size=10_000, full=not incremental)
    assert result.mode == (SegmentRun.Mode.INCREMENTAL if incremental else SegmentRun.Mode.FULL)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("incremental", [False, True], ids=["full", "incremental"])
def test_the_batch_runs_no_query_per_player(incremental):
    # given a small population, then a larger one (the tables emptied in between)
    # when the batch runs over each, in one range (an incremental run after a first one)
    small = _count_queries(3, incremental=incremental)
    for model in (UserSegment, SegmentHistory, SegmentRunRange, SegmentRun):
        model.objects.all().delete()
    large = _count_queries(30, incremental=incremental)
    # then it issues as many statements for 33 players as for 3 (set-based: no statement per player)
    assert large == small


def test_streak_count_is_mirrored_from_the_hot_store():
    # given two players, one with a streak in the hot store (Redis on the PostgreSQL pass)
    with_streak, without = player(), player()
    history(with_streak, r=1, f=3)
    history(without, r=1, f=3)
    hot_store.cache.set(key_streak_count(with_streak), 7, timeout=None)
    # when the batch runs; then the streak moves, the date is re-run, and the next day runs
    run()
    first = (segment(with_streak).streak_count, segment(without).streak_count)
    hot_store.cache.set(key_streak_count(with_streak), 9, timeout=None)
    run()
    rerun = segment(with_streak).streak_count
    run(as_of=NEXT_DAY)
    # then each row holds the stored streak (0 without a key); a re-run of the date writes nothing, the next
    # night copies the new value
    assert first == (7, 0)
    assert rerun == 7
    assert segment(with_streak).streak_count == 9


def test_a_rule_change_is_recorded_and_takes_effect_at_the_next_run():
    # given a player at 12 actions, Medium by the default rules, and a first run
    uid = player()
    history(uid, r=2, f=12, m=500)
    first = run()
    # when an operator lowers Medium's upper frequency bound to 10 and the batch runs again
    rule = SegmentRule.objects.get(group="Medium")
    services.segment_rule_update(rule_id=rule.id, changes={"max_frequency": 10, "enabled": True}, actor="ops-kim")
    second = run()
    # then the change is in the log (who, what, before and after), each run records the rules it used,
    # and the player left Medium only at the second run
    change = SegmentRuleChange.objects.get()
    assert (change.rule_id, change.changed_by, change.changes) == (rule.id, "ops-kim", {"max_frequency": [14, 10]})
    medium = {r["group"]: r for r in first.rules}["Medium"]
    assert medium["max_frequency"] == 14 and first.rules_version == 0
    assert {r["group"]: r for r in second.rules}["Medium"]["max_frequency"] == 10
    assert second.rules_version == change.id
    assert list(SegmentHistory.objects.filter(user_id=uid).order_by("id").values_list("from_group", "to_group")) == [
        (None, "Medium"),
        ("Medium", "Low"),
    ]


def test_rules_are_evaluated_in_their_order():
    # given a Whale-level player and the Whale rule moved after High Engaged
    uid = player()
    history(uid, r=1, f=30, m=10_000)
    SegmentRule.objects.filter(group="Whale").update(position=9)
    # when the batch runs
    run()
    # then High Engaged, evaluated first, wins (the spec's CASE is first match)
    assert segment(uid).rfm_group == "High Engaged"


def test_a_disabled_rule_puts_nobody_in_its_group():
    uid = player()
    history(uid, r=1, f=30, m=10_000)
    SegmentRule.objects.filter(group__in=["Whale", "High Engaged"]).update(enabled=False)
    run()
    assert segment(uid).rfm_group == "Low"


def test_risk_profile_is_kept_by_the_batch():
    # given a player whose quiz set a risk profile
    uid = player()
    history(uid, r=1, f=30, m=10_000)
    UserService.set_risk_profile(player_id=uid, risk_profile="High-Risk")
    # when the batch runs
    run()
    # then the profile stays and the group is computed
    assert (segment(uid).risk_profile, segment(uid).rfm_group) == ("High-Risk", "Whale")


def test_a_run_for_an_earlier_date_leaves_newer_rows_alone():
    # given rows computed for the next day
    uid = player()
    history(uid, r=1, f=30, m=10_000, as_of=NEXT_DAY)
    run(as_of=NEXT_DAY)
    before = _rows()
    # when the batch runs for D (a backfill of an earlier date)
    run(as_of=D)
    # then the newer row is untouched
    assert _rows() == before


def test_only_one_run_at_a_time_and_one_without_progress_is_failed():
    # given a run still marked running
    stuck = services.segment_run_start(as_of=D, trigger="test")
    # when another starts, then it is refused, saying when the first counts as abandoned
    with pytest.raises(SegmentRunInProgress, match="after 30 minutes without progress"):
        services.segment_run_start(as_of=D)
    # when the stuck one has made no progress for longer than the limit, then the next start fails it and goes ahead
    SegmentRun.objects.filter(id=stuck.id).update(started_at=timezone.now() - dt.timedelta(minutes=31))
    fresh = services.segment_run_start(as_of=D)
    stuck.refresh_from_db()
    assert stuck.status == SegmentRun.Status.FAILED and "abandoned: no progress for 30 minutes" in stuck.error
    assert fresh.status == SegmentRun.Status.RUNNING


def test_a_long_run_that_still_makes_progress_is_not_counted_abandoned():
    # given a run started two hours ago whose last range was applied a minute ago
    _population(3)
    long = services.segment_run_start(as_of=D, trigger="test")
    range_ids = services.segment_run_stage(run_id=long.id)
    services.segment_range_apply(range_id=range_ids[0])
    SegmentRun.objects.filter(id=long.id).update(started_at=timezone.now() - dt.timedelta(hours=2))
    SegmentRunRange.objects.filter(id=range_ids[0]).update(applied_at=timezone.now() - dt.timedelta(minutes=1))
    # when another run starts, then it is refused and the long one goes on
    with pytest.raises(SegmentRunInProgress):
        services.segment_run_start(as_of=D)
    long.refresh_from_db()
    assert long.status == SegmentRun.Status.RUNNING
    # and once that range is also older than the limit, the long one counts as abandoned
    SegmentRunRange.objects.filter(id=range_ids[0]).update(applied_at=timezone.now() - dt.timedelta(minutes=31))
    assert services.segment_run_start(as_of=D).status == SegmentRun.Status.RUNNING
    long.refresh_from_db()
    assert long.status == SegmentRun.Status.FAILED


def test_a_failing_run_is_marked_failed_and_drops_its_scratch_table(monkeypatch):
    # given a population and a range that fails
    _population(3)

    def boom(*, range_id: int) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "segment_range_apply", boom)
    # when the batch runs
    with pytest.raises(RuntimeError):
        run()
    # then the run is failed with the error, its scratch table is gone, and the next run can start
    failed = SegmentRun.objects.get()
    assert failed.status == SegmentRun.Status.FAILED and "disk full" in failed.error
    assert failed.stage_table not in connection.introspection.table_names()
    monkeypatch.undo()
    assert run().status == SegmentRun.Status.DONE


def test_a_range_task_repeated_after_success_changes_nothing():
    # given a staged run whose first range was applied by its task
    _population(6)
    started = services.segment_run_start(as_of=D, pay_rewards=False)
    range_ids = services.segment_run_stage(run_id=started.id, range_size=3)
    rfm_apply_range.delay(range_ids[0])
    before = _rows()
    # when the same task is delivered again (a redelivery), then the rest run
    rfm_apply_range.delay(range_ids[0])
    after_repeat = _rows()
    for range_id in range_ids[1:]:
        rfm_apply_range.delay(range_id)
    # then the repeat changed nothing and the last range ended the run, whose scratch table is dropped
    assert after_repeat == before
    started.refresh_from_db()
    assert started.status == SegmentRun.Status.DONE
    assert started.players == 6 and started.rows_inserted == 6
    assert started.stage_table not in connection.introspection.table_names()


def test_the_nightly_task_and_run_nightly_compute_today():
    # given a player active yesterday (business time)
    uid = player()
    today = services.business_today()
    factories.make_actions(user_id=uid, at=[days_before(1, as_of=today)])
    # when the beat task runs (in-process: no broker), then run_nightly
    result = rfm_nightly.delay().get()
    out = StringIO()
    call_command("run_nightly", stdout=out)
    # then today's row is computed, and run_nightly ran the segments job first
    assert result["status"] == "done" and result["as_of"] == today.isoformat()
    assert (segment(uid).as_of, segment(uid).recency_days) == (today, 1)
    assert out.getvalue().index("segments.tasks.rfm_nightly") < out.getvalue().index("wallet.tasks")


def test_run_rfm_command_prints_a_summary():
    # given a population
    _population(4)
    out, err = StringIO(), StringIO()
    # when the command runs for D in ranges of 2, then for the next day, then for it again with --full
    call_command("run_rfm", "--as-of", D.isoformat(), "--range-size", "2", stdout=out, stderr=err)
    call_command("run_rfm", "--as-of", NEXT_DAY.isoformat(), stdout=out, stderr=err)
    call_command("run_rfm", "--as-of", NEXT_DAY.isoformat(), "--full", stdout=out, stderr=err)
    # then it reports each run, its mode and why, and the rows are there
    lines = out.getvalue().splitlines()
    assert f"as of {D} (full): done; 4 players, 0 updated, 4 new" in lines[0]
    assert f"as of {NEXT_DAY} (incremental): done; 4 players, 4 updated, 0 new" in lines[1]
    assert f"as of {NEXT_DAY} (full): done; 4 players, 0 updated, 0 new" in lines[2]
    assert "full (first run): 4 players in 2 ranges" in err.getvalue()
    assert re.search(r"incremental \(from run \d+ \(as of 2026-03-10\)\): 4 players in 1 ranges", err.getvalue())
    assert "full (asked for a full run)" in err.getvalue()
    assert UserSegment.objects.filter(as_of=NEXT_DAY).count() == 4


def test_run_rfm_refuses_a_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("run_rfm", "--as-of", "10/03/2026", stdout=StringIO(), stderr=StringIO())
