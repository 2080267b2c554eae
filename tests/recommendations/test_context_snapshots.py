"""Snapshots of the recommendation context in Redis (``recommendations.context_cache``, docs/decisions/0011): a
request for a player with a snapshot reads everything in one Redis round trip and no SQL; every write to what a
snapshot holds is seen by the next request; a snapshot read before a write is never stored after it; who never
gets one; the nightly build. All of it needs Redis (the embedded default has no snapshots): the PostgreSQL +
Redis pass of ``.ci/run`` runs it."""

from __future__ import annotations

import datetime as dt
import os
import zoneinfo
from collections.abc import Callable, Iterator

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.hotstore import hot_store
from core.signals import player_data_changed_after_commit
from players.models import Player
from recommendations import context_cache, impressions, selectors
from recommendations.impressions import impression_buffer_new
from recommendations.selectors import recommendation_context
from recommendations.services import context_snapshots_build, harm_markers_compute, play_hours_rollup
from segments.models import UserSegment
from segments.services import UserService, segment_batch_run
from tests.recommendations import helpers as h
from wallet import services as wallet

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("redis_only")]

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=SEOUL)
DAY = dt.timedelta(days=1)
PID = 5300


def rich_player(player_id: int = PID, *, locale: str = "ko", tz: str = "Asia/Seoul") -> None:
    """A player with something in every table a snapshot copies, and a wallet."""
    h.player(player_id, locale=locale, timezone=tz)
    h.segment(player_id, "High Engaged", "Low-Risk")
    h.fund(player_id, 100)
    h.corporate_earn(player_id, 150, at=NOW - 3 * DAY)
    h.visit(player_id, NOW - 2 * DAY)
    h.harm_marker(player_id, "SPEND_SPIKE", NOW - DAY)
    h.play_hours(player_id, {21: 4}, NOW - DAY)


@pytest.fixture
def deferred_fills(monkeypatch: pytest.MonkeyPatch) -> Iterator[context_cache.WriteBehind[context_cache.Fill]]:
    """A fill buffer as in production (stored later by its thread), flushed by hand here."""
    buffer = impression_buffer_new(max_rows=10_000, max_age=3600)
    monkeypatch.setattr(impressions, "_buffer", buffer)
    fills = context_cache.WriteBehind(context_cache.fills_write, name="test-fills", max_rows=10_000, max_age=3600)
    monkeypatch.setattr(context_cache, "_fills", fills)
    yield fills
    fills.stop()
    buffer.stop()


# --- the request path --------------------------------------------------------------------------------------------


def test_a_player_with_a_snapshot_is_answered_without_sql_in_one_redis_round_trip(
    player_client_factory, redis_round_trips, deferred_fills
):
    # given the player's first request, read from the database, and its snapshot stored afterwards (not in it)
    rich_player()
    client = player_client_factory(PID)
    player_client_factory(PID + 1).get("/api/me/recommendations")  # the process's first request loads the templates
    with CaptureQueriesContext(connection) as first_queries:
        before = redis_round_trips()
        first = client.get("/api/me/recommendations").json()
        first_trips = redis_round_trips() - before
    assert not h.snapshot_stored(PID)
    assert deferred_fills.flush() == 1
    assert h.snapshot_stored(PID)
    # when they ask again
    with CaptureQueriesContext(connection) as queries:
        before = redis_round_trips()
        second = client.get("/api/me/recommendations").json()
        trips = redis_round_trips() - before
    # then the first request made one statement and one round trip, the second no statement and one round trip,
    # with the same answer (new proposal ids)
    assert (len(first_queries.captured_queries), first_trips) == (1, 1)
    assert (len(queries.captured_queries), trips) == (0, 1)
    assert [{k: v for k, v in p.items() if k != "id"} for p in second["proposals"]] == [
        {k: v for k, v in p.items() if k != "id"} for p in first["proposals"]
    ]
    assert {k: v for k, v in second.items() if k != "proposals"} == {k: v for k, v in first.items() if k != "proposals"}


def test_the_metrics_count_each_context_by_where_it_came_from():
    # given a player, and the counters as they stand
    from core.metrics import RECOMMENDATION_CONTEXTS

    def count(source: str) -> float:
        return RECOMMENDATION_CONTEXTS.labels(source)._value.get()

    rich_player()
    before = {s: count(s) for s in ("snapshot", "database")}
    # when the player's context is read twice (the first read stores the snapshot)
    h.context(PID, NOW)
    # then one came from the database and one from the snapshot
    assert {s: count(s) - before[s] for s in before} == {"snapshot": 1, "database": 1}


def test_the_nightly_build_gives_every_player_the_context_the_database_gives():
    # given players of every kind: segments, risk profiles, locales, time zones, with and without visits, rewards,
    # markers and play hours, without a segment row, with a balance of 0
    groups = ["Whale", "High Engaged", "Medium", "Low", None]
    risks = ["High-Risk", "Moderate-Risk", "Low-Risk", None]
    zones = ["Asia/Seoul", "America/New_York", "Europe/London", "UTC"]
    ids = list(range(PID, PID + 20))
    for i, pid in enumerate(ids):
        h.player(pid, locale="en" if i % 3 == 0 else "ko", timezone=zones[i % 4])
        group = groups[i % 5]
        if group is not None:
            h.segment(pid, group, risks[i % 4])
        h.fund(pid, [5, 150, 199, 200, 499, 500, 1200][i % 7])
        if i % 2:
            h.corporate_earn(pid, 100 + i, at=NOW - (i % 5) * DAY)
        if i % 4:
            h.visit(pid, NOW - (i % 9) * DAY)
        if i % 6 == 1:
            h.harm_marker(pid, "LOSS_CHASING", NOW - DAY)
        if i % 3:
            h.play_hours(pid, {(i * 5) % 24: i, 20: 1}, NOW - DAY)
    h.population_peak(18, NOW - DAY)
    expected = {pid: h.context_from_database(pid, NOW) for pid in ids}
    # when the nightly build runs
    report = context_snapshots_build(as_of=NOW)
    # then every player has a snapshot, and each context read from it is the database's, without any SQL
    assert (report.players, report.eligible, report.stored) == (20, 20, 20)
    with CaptureQueriesContext(connection) as queries:
        read = {pid: recommendation_context(player_id=pid, now=NOW) for pid in ids}
    assert queries.captured_queries == []
    assert read == expected


def test_protected_players_players_without_a_wallet_and_unknown_ids_get_no_snapshot():
    # given a player with a protection row (a daily limit), one without a wallet, and an id without a players row
    rich_player(PID)
    h.limits(PID, NOW - DAY, daily_spend_limit=500)
    h.player(PID + 1)
    # when each is read twice, and the nightly build runs
    for pid in (PID, PID + 1, PID + 2):
        h.context(pid, NOW)
    report = context_snapshots_build(as_of=NOW)
    # then none has a snapshot, and each further read goes to the database
    assert not any(h.snapshot_stored(pid) for pid in (PID, PID + 1, PID + 2))
    assert (report.players, report.eligible) == (2, 0)
    with CaptureQueriesContext(connection) as queries:
        recommendation_context(player_id=PID, now=NOW)
    assert len(queries.captured_queries) == 1


def test_a_snapshot_of_last_month_is_not_used_in_the_new_month():
    # given a snapshot made on the last day of November (150 Company A tokens that month)
    rich_player()
    end_of_november = dt.datetime(2026, 11, 30, 23, 30, tzinfo=SEOUL)
    assert h.context(PID, end_of_november).corporate_tokens_month == 150
    # when the player asks at 00:10 on December 1st, business time
    with CaptureQueriesContext(connection) as queries:
        ctx = recommendation_context(player_id=PID, now=dt.datetime(2026, 12, 1, 0, 10, tzinfo=SEOUL))
    # then the context is read from the database: no Company A tokens yet this month
    assert len(queries.captured_queries) == 1
    assert ctx.corporate_tokens_month == 0


@pytest.mark.parametrize("broken", ["the connection", "the client"])
def test_when_redis_fails_the_context_comes_from_the_database_and_nothing_is_stored(broken, caplog, monkeypatch):
    # given a player, and this thread's Redis connection (or the process's client, for a thread without one)
    # pointing at a port where nothing listens
    import redis

    rich_player()
    if broken == "the connection":
        dead = redis.Connection(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
        monkeypatch.setattr(selectors._thread, "redis", (os.getpid(), dead), raising=False)
    else:
        monkeypatch.setattr(selectors._thread, "redis", None, raising=False)
        monkeypatch.setattr(
            selectors, "_redis_client", redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
        )
    # when the context is read
    ctx = recommendation_context(player_id=PID, now=NOW)
    monkeypatch.undo()
    # then it is the database's (streak 0), a warning says why, and no snapshot was stored
    assert ctx == h.context_from_database(PID, NOW)
    assert "Redis unreachable" in caplog.text
    assert not h.snapshot_stored(PID)


# --- every write is seen by the next request ------------------------------------------------------------------


def _visit() -> None:
    h.visit(PID, NOW - 3 * dt.timedelta(hours=1))


def _earn() -> None:
    h.corporate_earn(PID, 400, at=NOW - dt.timedelta(hours=5))


def _self_exclusion() -> None:
    h.limits(PID, NOW - dt.timedelta(hours=1), self_excluded_until=NOW + 200 * DAY)


def _daily_limit() -> None:
    h.limits(PID, NOW - dt.timedelta(hours=1), daily_spend_limit=50)


def _risk_profile() -> None:
    UserService.set_risk_profile(user_id=PID, risk_profile="High-Risk")


def _locale_in_the_admin() -> None:
    player = Player.objects.get(id=PID)
    player.locale = "en"
    player.save()


def _segment_in_the_admin() -> None:
    row = UserSegment.objects.get(user_id=PID)
    row.rfm_group = "Whale"
    row.save()


def _segment_deleted() -> None:
    UserSegment.objects.filter(user_id=PID).delete()


def _spend() -> None:
    wallet.wallet_spend(user_id=PID, amount=60, game="SlotMachine", idempotency_key="snapshot-spend")


# name: (the write, whether it changes the context, whether it drops the snapshot)
WRITES: dict[str, tuple[Callable[[], None], bool, bool]] = {
    "a Company A visit": (_visit, True, True),
    "Company A tokens": (_earn, True, True),
    "a self-exclusion": (_self_exclusion, True, True),
    "a daily spend limit (a protection row: no snapshot any more)": (_daily_limit, False, True),
    "the quiz's risk profile": (_risk_profile, True, True),
    "the locale, edited in the admin": (_locale_in_the_admin, True, True),
    "the segment, edited in the admin": (_segment_in_the_admin, True, True),
    "the segment row, deleted": (_segment_deleted, True, True),
    "a spend (read from Redis' balance copy; the snapshot stays)": (_spend, True, False),
}


@pytest.mark.parametrize(("write", "changes", "drops"), WRITES.values(), ids=WRITES.keys())
def test_the_next_request_after_a_write_sees_it(write, changes, drops, django_capture_on_commit_callbacks):
    # given a player whose context is in a snapshot
    rich_player()
    with django_capture_on_commit_callbacks(execute=True):
        h.fund(PID, 1)  # Redis' balance copy written, as after any commit
    before = h.context(PID, NOW)
    assert h.snapshot_stored(PID)
    # when the write commits
    with django_capture_on_commit_callbacks(execute=True):
        write()
    # then the snapshot is gone (but for a spend), and the next read is the database's context
    assert h.snapshot_stored(PID) is not drops
    after = recommendation_context(player_id=PID, now=NOW)
    assert after == h.context_from_database(PID, NOW)
    assert (after != before) is changes


def test_a_new_segment_row_for_a_player_without_one_is_seen(django_capture_on_commit_callbacks):
    # given a player without a segment row, whose context is in a snapshot
    h.player(PID)
    h.fund(PID, 300)
    h.context(PID, NOW)
    assert h.snapshot_stored(PID)
    # when a service reads the segment (which writes the placeholder row)
    with django_capture_on_commit_callbacks(execute=True):
        UserService.get_or_create_segment(PID)
    # then the snapshot is gone, and the next read is the database's
    assert not h.snapshot_stored(PID)
    assert recommendation_context(player_id=PID, now=NOW) == h.context_from_database(PID, NOW)


def _rfm_run() -> None:
    segment_batch_run(as_of=NOW.date(), pay_rewards=False, dispatch=False)


def _harm_markers() -> None:
    harm_markers_compute(as_of=NOW)


def _play_hours() -> None:
    play_hours_rollup(as_of=NOW)


NIGHTLY: dict[str, Callable[[], None]] = {
    "the RFM run": _rfm_run,
    "the harm-marker job": _harm_markers,
    "the play-hour rollup": _play_hours,
}


@pytest.mark.parametrize("job", NIGHTLY.values(), ids=NIGHTLY.keys())
def test_a_nightly_job_retires_every_snapshot(job, django_capture_on_commit_callbacks):
    # given a player whose snapshot holds a segment, a marker and play hours that no action supports
    rich_player()
    UserSegment.objects.filter(user_id=PID).update(rfm_group="Whale")
    before = h.context(PID, NOW)
    generation = hot_store.redis().get(context_cache.GENERATION_KEY)
    # when the night's job runs (and finds no such behaviour)
    with django_capture_on_commit_callbacks(execute=True):
        job()
    # then the generation moved on, and the next read is the database's, which the job changed
    assert hot_store.redis().get(context_cache.GENERATION_KEY) != generation
    after = recommendation_context(player_id=PID, now=NOW)
    assert after == h.context_from_database(PID, NOW)
    assert after != before


def test_a_bulk_write_announced_for_everyone_retires_every_snapshot(django_capture_on_commit_callbacks):
    # given two players with snapshots
    rich_player(PID)
    rich_player(PID + 1)
    h.context(PID, NOW)
    h.context(PID + 1, NOW)
    # when a bulk write (a demo load, an import) announces itself for any player
    with django_capture_on_commit_callbacks(execute=True):
        player_data_changed_after_commit(sender=object, user_ids=None)
    # then neither snapshot is used any more
    with CaptureQueriesContext(connection) as queries:
        recommendation_context(player_id=PID, now=NOW)
        recommendation_context(player_id=PID + 1, now=NOW)
    assert len(queries.captured_queries) == 2


# --- a snapshot read before a write is never stored after it ----------------------------------------------------


RACES: dict[str, Callable[[], None]] = {
    "a write (a Company A visit)": lambda: h.visit(PID, NOW - dt.timedelta(hours=1)),
    "a nightly job (the generation)": context_cache.generation_bump,
}


@pytest.mark.parametrize("retire", RACES.values(), ids=RACES.keys())
def test_a_snapshot_read_before_a_retirement_is_refused_after_it(retire, django_capture_on_commit_callbacks):
    # given a request that read the player's version and the generation from Redis, then its context from the
    # database
    rich_player()
    hot = selectors._hot_read(PID)
    assert hot is not None
    month_start = selectors.business_month_start(NOW)
    row = selectors._context_row(connection, NOW, PID, month_start)
    # when a write or a nightly job commits and retires snapshots before that request's fill is stored
    with django_capture_on_commit_callbacks(execute=True):
        retire()
    fill = selectors.snapshot_fill(
        row, user_id=PID, version=hot.version, generation=hot.generation, month_start=month_start, restore_balance=False
    )
    assert fill is not None
    # then the fill stores nothing, and the next read is the database's
    assert context_cache.fills_write([fill]) == 0
    assert not h.snapshot_stored(PID)
    assert recommendation_context(player_id=PID, now=NOW) == h.context_from_database(PID, NOW)


def _sql_statements_of_a_read() -> int:
    with CaptureQueriesContext(connection) as queries:
        recommendation_context(player_id=PID, now=NOW)
    return len(queries.captured_queries)


RETIREMENTS: dict[str, Callable[[], None]] = {
    "a player's snapshot": lambda: context_cache.snapshot_invalidate([PID]),
    "every snapshot (the generation)": context_cache.generation_bump,
}


@pytest.mark.parametrize("retire", RETIREMENTS.values(), ids=RETIREMENTS.keys())
def test_a_retirement_redis_refuses_is_retried_until_it_lands(retire, django_capture_on_commit_callbacks, monkeypatch):
    # given a player with a snapshot, a retry buffer flushed by hand, and Redis unreachable for the retirement
    import redis

    rich_player()
    h.context(PID, NOW)
    retry = context_cache.WriteBehind(
        context_cache._invalidate_retry, name="test-retry", max_rows=100, max_age=3600, retry=True
    )
    monkeypatch.setattr(context_cache, "_retry", retry)
    with monkeypatch.context() as down:
        down.setattr(hot_store, "redis", lambda: redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
        # when a write's retirement runs after its commit
        with django_capture_on_commit_callbacks(execute=True):
            retire()
        # then it waits in the retry buffer, and a retry while Redis is still down keeps it
        assert retry.pending() == 1
        assert retry.flush() == 0
        assert retry.pending() == 1
    assert _sql_statements_of_a_read() == 0  # the snapshot is still used
    # and once Redis answers, the retry retires the snapshot
    assert retry.flush() == 1
    retry.stop()
    assert _sql_statements_of_a_read() == 1


# --- the nightly build ---------------------------------------------------------------------------------------------


def test_the_build_command_reports_what_it_stored(capsys):
    # given two players, one of them protected
    rich_player(PID)
    rich_player(PID + 1)
    h.limits(PID + 1, NOW - DAY, daily_spend_limit=500)
    # when the command runs
    call_command("build_recommendation_snapshots")
    # then it says what it did, and the eligible player has a snapshot
    out = capsys.readouterr().out
    assert "players 2, eligible 1, stored 1" in out
    assert h.snapshot_stored(PID) and not h.snapshot_stored(PID + 1)


def test_a_build_restores_a_missing_balance_copy():
    # given a player whose balance copy is missing from Redis (tests do not run the wallet's after-commit write)
    rich_player()
    assert hot_store.redis().get(f"user:{PID}:cyber_token_balance") is None
    # when the build runs
    report = context_snapshots_build(as_of=timezone.now())
    # then the copy is back, with the wallet's balance
    assert report.balances_restored == 1
    assert int(hot_store.redis().get(f"user:{PID}:cyber_token_balance")) == 250
