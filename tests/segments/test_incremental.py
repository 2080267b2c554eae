"""Incremental runs (docs/decisions/0008): a run that starts from the last run's rows gives exactly the rows a full
recompute gives, whatever arrived between the runs (late, early, very old actions; new players; placeholders), and
a run falls back to full whenever the last run's rows cannot be trusted as a starting point."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

import pytest
from django.test import override_settings

from activity.models import UserAction
from activity.registry import SPENDING_TYPES
from core.hotstore import hot_store, key_streak_count
from players.models import Player
from segments.models import SegmentRun, UserSegment
from segments.services import UserService
from tests import factories
from tests.segments.helpers import KST, D, days_before, fund, history, kst, player, run, segment

pytestmark = pytest.mark.django_db

NEXT_DAY = D + dt.timedelta(days=1)
FULL, INCREMENTAL = SegmentRun.Mode.FULL, SegmentRun.Mode.INCREMENTAL


# --- an independent reference: the design brief's definitions, in Python, over every stored action --------------


@dataclass(frozen=True)
class Expected:
    recency_days: int | None
    frequency: int
    monetary: int
    corporate_tokens_30d: int
    corporate_visits_30d: int
    last_action_at: dt.datetime | None
    rfm_group: str


def _spec_group(r: int | None, f: int, m: int) -> str:
    if r is None:
        return "Low"
    if r <= 2 and f >= 30 and m >= 10_000:
        return "Whale"
    if r <= 5 and f >= 15 and m >= 2_000:
        return "High Engaged"
    if r <= 15 and 5 <= f <= 14 and 100 <= m <= 1_999:
        return "Medium"
    return "Low"


def reference(as_of: dt.date) -> dict[int, Expected]:
    """Every known player's figures as of ``as_of``, computed from the actions one by one (design brief 4): every
    players row (a segment row has one; an action of an id without one gets no row, decision 0003)."""
    start = dt.datetime.combine(as_of - dt.timedelta(days=30), dt.time.min, tzinfo=KST)
    end = dt.datetime.combine(as_of, dt.time.min, tzinfo=KST)
    by_player: dict[int, list[UserAction]] = {}
    for action in UserAction.objects.filter(action_timestamp__lt=end):
        by_player.setdefault(action.user_id, []).append(action)
    expected = {}
    for uid in Player.objects.values_list("id", flat=True):
        acts = by_player.get(uid, [])
        window = [a for a in acts if a.action_timestamp >= start]
        last = max((a.action_timestamp for a in acts), default=None)
        r = None if last is None else (as_of - last.astimezone(KST).date()).days
        f = len(window)
        m = sum(a.metadata.get("spent_tokens", 0) for a in window if a.action_type in SPENDING_TYPES)
        ct = sum(
            a.metadata["earned_tokens"]
            for a in window
            if a.action_type == "EARN_CYBER_TOKENS" and a.metadata.get("source") == "corporate"
        )
        cv = sum(1 for a in window if a.action_type == "CORPORATE_VISIT")
        expected[uid] = Expected(r, f, m, ct, cv, last, _spec_group(r, f, m))
    return expected


def stored() -> dict[int, Expected]:
    return {
        s.user_id: Expected(
            s.recency_days,
            s.frequency,
            s.monetary,
            s.corporate_tokens_30d,
            s.corporate_visits_30d,
            s.last_action_at,
            s.rfm_group,
        )
        for s in UserSegment.objects.all()
    }


# --- what happens between two nights ----------------------------------------------------------------------------

_KINDS: list[tuple[str, dict[str, object]]] = [
    ("GAME_PLAY", {"game": "SlotMachine", "bet": 10, "payout": 0, "result": "loss"}),
    ("SPEND_CYBER_TOKENS", {"game": "Roulette"}),
    ("UNLOCK_CONTENT", {"content_id": 1, "stage": 1}),
    ("EARN_CYBER_TOKENS", {"source": "corporate"}),
    ("EARN_CYBER_TOKENS", {"source": "in_app"}),
    ("CORPORATE_VISIT", {"dwell_seconds": 30, "actions": []}),
    ("SESSION_START", {}),
]


def some_actions(rnd: random.Random, uid: int, *, first: dt.datetime, last: dt.datetime, n: int) -> None:
    """``n`` actions of mixed kinds for ``uid`` at random times in [first, last)."""
    span = (last - first).total_seconds()
    for _ in range(n):
        kind, metadata = rnd.choice(_KINDS)
        metadata = dict(metadata)
        if kind in SPENDING_TYPES:
            metadata["spent_tokens"] = rnd.choice([50, 99, 400, 1_500, 6_000])
        elif kind == "EARN_CYBER_TOKENS":
            metadata["earned_tokens"] = rnd.choice([100, 500])
        at = first + dt.timedelta(seconds=rnd.randrange(int(span)))
        factories.make_actions(user_id=uid, at=[at], action_type=kind, **metadata)


def between_nights(rnd: random.Random, players: list[int], *, last_run: dt.date, next_run: dt.date) -> None:
    """What a day brings: actions of the days that enter the window, late ones for days already counted (some older
    than any window), early ones for days after the next run, a new player, a placeholder row, a player brought in
    with only old actions and one with no action at all (no row either), balances, streaks."""
    midnight = dt.datetime.combine(last_run, dt.time.min, tzinfo=KST)
    next_midnight = dt.datetime.combine(next_run, dt.time.min, tzinfo=KST)
    for uid in rnd.sample(players, k=len(players) // 2):
        some_actions(
            rnd, uid, first=midnight, last=max(next_midnight, midnight + dt.timedelta(hours=1)), n=rnd.randint(1, 8)
        )
    for uid in rnd.sample(players, k=3):  # late: days the last run counted, or older than its window
        some_actions(rnd, uid, first=midnight - dt.timedelta(days=45), last=midnight, n=rnd.randint(1, 3))
    for uid in rnd.sample(players, k=2):  # early: the hours after the next run's midnight, logged before it runs
        some_actions(rnd, uid, first=next_midnight, last=next_midnight + dt.timedelta(hours=30), n=2)
    newcomer = player()
    players.append(newcomer)
    some_actions(rnd, newcomer, first=next_midnight - dt.timedelta(days=3), last=next_midnight, n=rnd.randint(1, 5))
    idle = player()  # a placeholder row, made by a read, with an action long ago
    factories.make_actions(user_id=idle, at=[midnight - dt.timedelta(days=rnd.randint(31, 90))])
    UserService.get_or_create_segment(idle)
    players.append(idle)
    imported = player()  # as ``import_actions`` brings in a dormant player: actions long ago, no segment row
    factories.make_actions(user_id=imported, at=[midnight - dt.timedelta(days=rnd.randint(31, 400))])
    players.append(imported)
    player()  # a players row, nothing else
    fund(rnd.choice(players), rnd.randint(1, 2_000))
    hot_store.cache.set(key_streak_count(rnd.choice(players)), rnd.randint(1, 9), timeout=None)


@pytest.mark.parametrize("seed", range(6))
def test_a_chain_of_incremental_runs_gives_the_rows_of_a_full_recompute(seed):
    # given players with a month and a half of mixed actions, some of them logged ahead of the first run's date,
    # and one whose actions all lie in the window's first days (dormant-only once they leave it)
    rnd = random.Random(seed)
    players = [player() for _ in range(10)]
    for uid in players:
        some_actions(
            rnd, uid, first=kst(D - dt.timedelta(days=45)), last=kst(D + dt.timedelta(days=1)), n=rnd.randint(0, 25)
        )
    fading = player()
    some_actions(rnd, fading, first=kst(D - dt.timedelta(days=30)), last=kst(D - dt.timedelta(days=28)), n=3)
    # when a first run (full) is followed by nights of new, late and early actions, each run one, two, five or zero
    # days after the last, and every run after the first is incremental
    as_of = D
    assert run(as_of=as_of).mode == FULL
    for _ in range(5):
        next_run = as_of + dt.timedelta(days=rnd.choice([0, 1, 1, 2, 5]))
        between_nights(rnd, players, last_run=as_of, next_run=next_run)
        result = run(as_of=next_run)
        assert result.mode == INCREMENTAL, result.mode_reason
        # then after each, every row equals the reference computed from all the actions one by one
        rows = stored()
        assert rows == reference(next_run), f"as of {next_run}"
        assert set(UserSegment.objects.values_list("as_of", flat=True)) == {next_run}
        if next_run != as_of:  # the streak copy is taken when a row is written: every row, on a new date
            streaks = hot_store.get_many(key_streak_count(uid) for uid in rows)
            assert {s.user_id: s.streak_count for s in UserSegment.objects.all()} == {
                uid: int(streaks.get(key_streak_count(uid)) or 0) for uid in rows
            }
        as_of = next_run
    # and a full recompute of the last date finds nothing to change: no row, no history
    check = run(as_of=as_of, full=True)
    assert (check.mode, check.rows_updated, check.rows_inserted, check.changes) == (FULL, 0, 0, 0)


def test_the_days_entering_and_leaving_the_window_move_f_and_m():
    # given a player with a spend 29 days before D and a game on D's eve, and a run for D
    uid = player()
    factories.make_actions(
        user_id=uid, at=[days_before(30)], action_type="SPEND_CYBER_TOKENS", spent_tokens=150, game="Roulette"
    )
    factories.make_actions(user_id=uid, at=[days_before(1), days_before(2)])
    run()
    factories.make_actions(
        user_id=uid, at=[kst(D, 9)], action_type="SPEND_CYBER_TOKENS", spent_tokens=40, game="Roulette"
    )
    # when the next day's run starts from it
    result = run(as_of=NEXT_DAY)
    # then the spend of the day that left is gone, the day that entered is counted, R is from the last action
    row = segment(uid)
    assert result.mode == INCREMENTAL
    assert (row.frequency, row.monetary, row.recency_days) == (3, 40, 1)


def test_an_action_logged_late_for_a_day_already_counted_is_counted_next_night():
    # given a run for D, then an action for a day inside D's window logged after it
    uid = player()
    history(uid, r=3, f=4)
    run()
    factories.make_actions(
        user_id=uid, at=[days_before(10)], action_type="SPEND_CYBER_TOKENS", spent_tokens=500, game="Roulette"
    )
    # when D is run again, and the next day
    again = run()
    after_again = (segment(uid).frequency, segment(uid).monetary)
    run(as_of=NEXT_DAY)
    # then the re-run already counts it (as a full recompute would), and the next night counts it once
    assert again.mode == INCREMENTAL and again.rows_updated == 1
    assert after_again == (5, 500)
    assert (segment(uid).frequency, segment(uid).monetary) == (5, 500)


def test_actions_logged_after_midnight_before_the_run_are_counted_the_next_night_once():
    # given actions stamped after D's midnight, logged before the run for D (the run is at 03:00)
    uid = player()
    history(uid, r=2, f=3)
    factories.make_actions(user_id=uid, at=[kst(D, 1), kst(D, 2)])
    run()
    before = segment(uid).frequency
    # when the next day's run starts from it
    run(as_of=NEXT_DAY)
    # then they were outside D's window and are inside the next one, counted once
    assert before == 3
    assert (segment(uid).frequency, segment(uid).recency_days) == (5, 1)


def test_a_new_player_and_a_placeholder_are_computed_from_their_own_actions():
    # given a run for D, then a player first seen since (actions over the last weeks) and a placeholder row made
    # for a player whose only actions are older than the window
    history(player(), r=1, f=2)
    run()
    newcomer, idle = player(), player()
    factories.make_actions(user_id=newcomer, at=[days_before(20), days_before(1)])
    factories.make_actions(user_id=newcomer, at=[kst(D, 8)], action_type="CORPORATE_VISIT", dwell_seconds=5, actions=[])
    factories.make_actions(user_id=idle, at=[days_before(50)])
    UserService.get_or_create_segment(idle)
    # when the next day's run starts from D's rows
    result = run(as_of=NEXT_DAY)
    # then both rows hold what a full run computes
    assert result.mode == INCREMENTAL
    n, i = segment(newcomer), segment(idle)
    assert (n.frequency, n.corporate_visits_30d, n.recency_days, n.as_of) == (3, 1, 1, NEXT_DAY)
    assert (i.frequency, i.recency_days, i.as_of) == (0, 51, NEXT_DAY)


def test_players_never_computed_get_rows_on_an_incremental_night_and_a_rerun_writes_nothing():
    # given a run for D, then players brought in without a segment row: one with only actions older than the
    # window (as ``import_actions`` brings in a dormant player), one with no action at all; their ids above every
    # row's, and the ranges small
    history(player(), r=1, f=2)
    history(player(), r=3, f=4)
    run(range_size=1)
    imported, silent = player(), player()
    factories.make_actions(user_id=imported, at=[days_before(120), days_before(50)])
    # when the next day's run starts from D's rows, in ranges of one player, then runs again for the same date
    result = run(as_of=NEXT_DAY, range_size=1)
    rows = stored()
    again = run(as_of=NEXT_DAY, range_size=1)
    # then both have a computed row: R the days since the last action (51), or null without any; both Low
    assert result.mode == INCREMENTAL, result.mode_reason
    assert (result.players, result.rows_updated, result.rows_inserted) == (4, 2, 2)
    i, s = segment(imported), segment(silent)
    assert (i.as_of, i.recency_days, i.frequency, i.rfm_group) == (NEXT_DAY, 51, 0, "Low")
    assert i.last_action_at == days_before(50)
    assert (s.as_of, s.recency_days, s.frequency, s.last_action_at, s.rfm_group) == (NEXT_DAY, None, 0, None, "Low")
    assert rows == reference(NEXT_DAY)
    # and the re-run (incremental) writes no row and no history
    assert again.mode == INCREMENTAL
    assert (again.players, again.rows_updated, again.rows_inserted, again.changes) == (4, 0, 0, 0)
    assert stored() == rows


def test_a_player_whose_actions_leave_the_window_keeps_r_counting_from_the_last_one_each_night():
    # given a player whose two actions are 28 and 29 days before D
    uid = player()
    history(uid, r=28, f=2)
    # when the batch runs for D (full), then for each of the next four days (incremental)
    seen = []
    for day in range(5):
        result = run(as_of=D + dt.timedelta(days=day))
        row = segment(uid)
        seen.append((result.mode, row.as_of, row.recency_days, row.frequency))
    # then R grows by one each night from the last action, also once both have left the window (F 0)
    assert seen == [
        (FULL, D, 28, 2),
        (INCREMENTAL, D + dt.timedelta(days=1), 29, 2),
        (INCREMENTAL, D + dt.timedelta(days=2), 30, 1),
        (INCREMENTAL, D + dt.timedelta(days=3), 31, 0),
        (INCREMENTAL, D + dt.timedelta(days=4), 32, 0),
    ]
    assert stored() == reference(D + dt.timedelta(days=4))
    # and a full recompute of the last date finds nothing to change
    check = run(as_of=D + dt.timedelta(days=4), full=True)
    assert (check.rows_updated, check.rows_inserted, check.changes) == (0, 0, 0)


# --- when a run recomputes the whole window instead ----------------------------------------------------------------


def _mode_after(setup) -> SegmentRun:
    history(player(), r=2, f=3)
    history(player(), r=4, f=6)
    run()
    setup()
    return run(as_of=NEXT_DAY)


@pytest.mark.parametrize(
    ("case", "setup", "reason"),
    [
        (
            "rows removed",
            lambda: UserSegment.objects.filter(
                user_id=UserSegment.objects.values_list("user_id", flat=True)[0]
            ).delete(),
            "changed since run",
        ),
        ("last run failed", lambda: SegmentRun.objects.update(status=SegmentRun.Status.FAILED), "ended failed"),
        # The last run's M did not count content unlocks (before issue 15): adding a day's change to it would mix two
        # meanings of M.
        ("figures redefined", lambda: SegmentRun.objects.update(figures_version=1), "definition changed"),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_a_run_is_full_when_the_last_runs_rows_cannot_be_its_start(case, setup, reason):
    # given a run for D, then the case; when the next day runs; then it is full and says why
    result = _mode_after(setup)
    assert result.mode == FULL
    assert reason in result.mode_reason


def test_a_backfill_is_full_and_the_next_night_recomputes_the_rows_it_left_alone():
    # given a run for D, then a backfill for three days before (it leaves D's rows alone: they are newer)
    uid = player()
    history(uid, r=2, f=6, m=300)
    run()
    backfill = run(as_of=D - dt.timedelta(days=3))
    factories.make_actions(user_id=uid, at=[kst(D, 10)])
    # when the next night runs
    result = run(as_of=NEXT_DAY)
    # then the backfill was full; the next run starts from it and computes D's row from the player's own actions
    assert backfill.mode == FULL and "a date before" in backfill.mode_reason
    assert result.mode == INCREMENTAL and result.base_run_id == backfill.id
    assert stored() == reference(NEXT_DAY)


def test_a_run_is_full_when_switched_off_or_the_time_zone_changed_or_too_long_after():
    # given a run for D; when runs follow with incremental runs switched off, in another business time zone, and
    # 31 days after the last run; then each is full and says why
    history(player(), r=2, f=3)
    run()
    with override_settings(SEGMENTS_INCREMENTAL=False):
        off = run(as_of=NEXT_DAY)
    with override_settings(BUSINESS_TIMEZONE="UTC"):
        moved = run(as_of=NEXT_DAY)
    run(as_of=NEXT_DAY)  # back in the business time zone (full, as the zone changed again)
    late = run(as_of=NEXT_DAY + dt.timedelta(days=31))
    assert [r.mode for r in (off, moved, late)] == [FULL, FULL, FULL]
    assert "SEGMENTS_INCREMENTAL" in off.mode_reason
    assert "time zone changed" in moved.mode_reason
    assert "more than 30 days" in late.mode_reason


def test_a_run_is_full_when_too_many_rows_were_not_computed_by_the_last_run(monkeypatch):
    from segments import services

    history(player(), r=2, f=3)
    run()
    # given a run for D, then two placeholder rows made since, past a limit of one
    monkeypatch.setattr(services, "INCREMENTAL_MAX_OTHER_ROWS", 1)
    for _ in range(2):
        UserService.get_or_create_segment(player())
    # when the next day runs; then it is full and says why
    result = run(as_of=NEXT_DAY)
    assert result.mode == FULL
    assert "2 rows not computed" in result.mode_reason


def test_each_run_records_its_watermark_and_counts_nothing_above_it():
    # given actions, and a run
    uid = player()
    history(uid, r=1, f=3)
    first = run()
    # then its watermark is the highest action id, and the next run's is higher once more actions are logged
    assert first.watermark == UserAction.objects.order_by("-id").values_list("id", flat=True)[0]
    factories.make_actions(user_id=uid, at=[days_before(1, hour=15)])
    second = run(as_of=NEXT_DAY)
    assert first.watermark is not None and second.watermark is not None
    assert second.watermark > first.watermark
    assert second.base_run_id == first.id
    assert first.rows_as_of == 1 and second.rows_as_of == 1
