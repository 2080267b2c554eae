"""Writes for segments: ``UserService`` (spec 2.8), the nightly RFM batch (spec 2.2.3), upgrade rewards, rule edits.

The batch, for an as-of date D (design brief section 4; docs/decisions/0008):

1. ``segment_run_start``: a ``segment_runs`` row (one run at a time) with the rules it will use, read once.
2. ``segment_run_stage``: one statement computes every covered player's R, F, M, Company A figures, balance,
   new and previous group into the run's scratch table; then the table is cut into user-id ranges.
3. Per range (``segment_range_process``, a Celery task each; or ``segment_batch_run`` here, in turn or on
   threads): ``segment_range_apply`` reads the streak counts from the hot store in bulk, then runs the history
   rows, the UPDATE of changed rows and the INSERT of new ones as three set-based statements in one
   transaction that also marks the range applied; ``segment_range_close`` pays the range's pending rises one
   player at a time (``segment_reward_pay``) and marks it done; the last range ends the run.

Re-running D changes no row and writes no history (``IS DISTINCT FROM``); a rise is paid exactly once:
it is recorded ``pending`` in the same transaction as the change, and its payment (wallet grant, user_rewards
row, push, the history row marked paid) is one transaction keyed by player, group and date.
"""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import logging
import time
import zoneinfo
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

from activity.selectors import actions_watermark
from activity.services import reward_record
from core.exceptions import DomainError, InvalidInput, NotFound
from core.hotstore import hot_store, key_streak_count
from notifications.services import Kind, notification_create
from players.selectors import player_exists
from segments import rfm_sql
from segments.models import (
    GROUP_RANK,
    Group,
    RiskProfile,
    SegmentHistory,
    SegmentRule,
    SegmentRuleChange,
    SegmentRun,
    SegmentRunRange,
    UserSegment,
)
from segments.selectors import segment_distribution
from texts.catalog import text_render
from wallet.errors import IdempotencyKeyReused
from wallet.services import wallet_grant

logger = logging.getLogger(__name__)

Progress = Callable[[int], object]  # told how many more players were applied
MGET_CHUNK = 10_000
MGET_PIPELINE = 10
REWARD_TYPE = "segment_upgrade"
NOTIFICATION_TYPE = "SEGMENT_UPGRADE"


class SegmentRunInProgress(DomainError):
    code = "segment_run_in_progress"


def business_today() -> dt.date:
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(settings.BUSINESS_TIMEZONE))


# --- UserService (spec 2.8) -----------------------------------------------------------------------------------


class UserService:
    """Segment creation and retrieval in one place (spec 2.8): API code reaches segments only through here."""

    GROUPS: tuple[str, ...] = tuple(Group.values)  # lowest tier first
    RISK_PROFILES: tuple[str, ...] = tuple(RiskProfile.values)

    @staticmethod
    def get_or_create_segment(player_id: int) -> UserSegment:
        """The player's segment. A known player without one gets a Low row with empty inputs and ``as_of``
        null (not yet computed; the next nightly run computes it). An unknown player: NotFound."""
        segment = UserSegment.objects.filter(user_id=player_id).first()
        if segment is not None:
            return segment
        if not player_exists(player_id=player_id):
            raise NotFound(f"No player {player_id}.")
        # Concurrent first reads (or the batch) may create it too: insert unless present, then read.
        UserSegment.objects.bulk_create([UserSegment(user_id=player_id)], ignore_conflicts=True)
        return UserSegment.objects.get(user_id=player_id)

    @staticmethod
    def get_segment(*, player_id: int) -> UserSegment | None:
        return UserSegment.objects.filter(user_id=player_id).first()

    @staticmethod
    def set_risk_profile(*, player_id: int, risk_profile: str | None) -> UserSegment:
        """Record the quiz's risk profile (spec 2.4); the batch never writes it."""
        if risk_profile is not None and risk_profile not in RiskProfile.values:
            raise InvalidInput(
                "Unknown risk profile.", fields={"risk_profile": [f"Must be one of: {', '.join(RiskProfile.values)}."]}
            )
        with transaction.atomic():
            UserService.get_or_create_segment(player_id)
            UserService.risk_profile_record(player_id=player_id, risk_profile=risk_profile)
        return UserSegment.objects.get(user_id=player_id)

    @staticmethod
    def risk_profile_record(*, player_id: int, risk_profile: str | None) -> None:
        """Record the quiz's risk profile of a known player (the quiz's submission, which made the player) in one
        statement, without reading the segment back: its row is updated, or made as ``get_or_create_segment`` makes
        one (Low, not yet computed) with the profile."""
        if risk_profile is not None and risk_profile not in RiskProfile.values:
            raise InvalidInput(
                "Unknown risk profile.", fields={"risk_profile": [f"Must be one of: {', '.join(RiskProfile.values)}."]}
            )
        UserSegment.objects.bulk_create(
            [UserSegment(user_id=player_id, risk_profile=risk_profile, last_updated=timezone.now())],
            update_conflicts=True,
            unique_fields=["user"],
            update_fields=["risk_profile", "last_updated"],
        )

    @staticmethod
    def segment_history(*, player_id: int, limit: int = 100) -> list[SegmentHistory]:
        return list(SegmentHistory.objects.filter(user_id=player_id).order_by("-as_of", "-id")[:limit])

    @staticmethod
    def distribution() -> dict[str, int]:
        return segment_distribution()


# --- rules ------------------------------------------------------------------------------------------------------

RULE_FIELDS = (*(f for f in rfm_sql.Rule.__dataclass_fields__ if f != "group"), "position")


def segment_rules_snapshot() -> list[dict[str, Any]]:
    """The rules as a run uses them, in evaluation order (position, then the higher tier first)."""
    rules = sorted(SegmentRule.objects.all(), key=lambda r: (r.position, -GROUP_RANK[r.group]))
    return [{"group": r.group, **{f: getattr(r, f) for f in RULE_FIELDS}} for r in rules]


def segment_rule_update(*, rule_id: int, changes: Mapping[str, Any], actor: str) -> SegmentRule:
    """Change a rule and record who changed what (before and after). Takes effect at the next run."""
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise InvalidInput("Unknown rule fields.", fields={name: ["Not a rule field."] for name in sorted(unknown)})
    with transaction.atomic():
        rule = SegmentRule.objects.select_for_update().get(id=rule_id)
        diff = {name: [getattr(rule, name), value] for name, value in changes.items() if getattr(rule, name) != value}
        if not diff:
            return rule
        for name, (_, value) in diff.items():
            setattr(rule, name, value)
        rule.full_clean()
        rule.save()
        SegmentRuleChange.objects.create(rule=rule, changed_by=actor or "unknown", changes=diff)
    return rule


# --- the batch --------------------------------------------------------------------------------------------------


def _adapt(value: Any) -> Any:
    """A date or datetime as the current database takes it in a hand-written statement."""
    if isinstance(value, dt.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, dt.date):
        return connection.ops.adapt_datefield_value(value)
    return value


def _tune_transaction(*, jit: bool, hash_joins: bool = False) -> None:
    """PostgreSQL, for this transaction: the batch's work_mem (the window's hash aggregate and the range joins
    stay in memory); a plan made for each range's own bounds (statements are prepared once run a few times on
    a connection, and a generic plan would not know a range's size); and no JIT for a range's statements (their
    cost estimates cross the JIT thresholds, yet compiling would take longer than running them). ``hash_joins``:
    no nested loop where another join exists: a range's statement joins hundreds of thousands of rows on both
    sides, while the planner, estimating its filters' selectivity, expects a few hundred and would probe an index
    per row (the LATERAL lookups, which only a nested loop can do, stay one)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('plan_cache_mode', 'force_custom_plan', true)")
        if settings.SEGMENTS_WORK_MEM:
            cursor.execute("SELECT set_config('work_mem', %s, true)", [settings.SEGMENTS_WORK_MEM])
        if not jit:
            cursor.execute("SELECT set_config('jit', 'off', true)")
        if hash_joins:
            cursor.execute("SELECT set_config('enable_nestloop', 'off', true)")


def _execute_create_as(sql: str, params: Mapping[str, Any]) -> None:
    """Run a CREATE TABLE ... AS with parameters. PostgreSQL cannot take server-bound parameters in it (a
    utility statement), so there psycopg binds them on the client (its own quoting, not string formatting)."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    from psycopg import ClientCursor

    connection.ensure_connection()
    with ClientCursor(connection.connection) as cursor:
        cursor.execute(sql, params)


def _drop_table(table: str) -> None:
    """Drop a scratch or temporary table of the batch (its name is ours, never input)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")


def _last_progress(run: SegmentRun) -> dt.datetime:
    """The latest of the run's start and its ranges' applied and done times."""
    ranges = run.ranges.aggregate(applied=Max("applied_at"), done=Max("done_at"))
    return max(t for t in (run.started_at, ranges["applied"], ranges["done"]) if t is not None)


def segment_run_start(
    *, as_of: dt.date, pay_rewards: bool | None = None, trigger: str = "", full: bool = False
) -> SegmentRun:
    """Open a run for ``as_of`` with the rules as they are now (read once). Only one run at a time: a run left
    ``running`` with no progress for SEGMENTS_RUN_STALE_MINUTES (its process killed) is failed first; a live one
    refuses.

    ``pay_rewards`` defaults to "as_of is the business date today": a run for a past date is a backfill and
    records rises without paying them. The run then takes the actions' watermark and chooses its mode: incremental
    from the last run when that is possible (``_incremental_base``), else (or with ``full``) full.
    """
    if pay_rewards is None:
        pay_rewards = as_of >= business_today()
    stale_minutes = settings.SEGMENTS_RUN_STALE_MINUTES
    for running in SegmentRun.objects.filter(status=SegmentRun.Status.RUNNING):
        if _last_progress(running) < timezone.now() - dt.timedelta(minutes=stale_minutes):
            segment_run_fail(run_id=running.id, error=f"abandoned: no progress for {stale_minutes} minutes")
    rules = segment_rules_snapshot()
    version = SegmentRuleChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
    try:
        with transaction.atomic():
            run = SegmentRun.objects.create(
                as_of=as_of,
                pay_rewards=pay_rewards,
                trigger=trigger,
                rules=rules,
                rules_version=version,
                figures_version=rfm_sql.FIGURES_VERSION,
                business_timezone=settings.BUSINESS_TIMEZONE,
            )
    except IntegrityError as exc:
        other = SegmentRun.objects.filter(status=SegmentRun.Status.RUNNING).first()
        if other is None:
            raise SegmentRunInProgress("Another RFM run is still running.") from exc
        raise SegmentRunInProgress(
            f"RFM run {other.id} (as of {other.as_of}) is still running: its last progress was at "
            f"{_last_progress(other):%Y-%m-%d %H:%M:%S %Z}. It counts as abandoned, and a new run fails it and goes "
            f"ahead, after {stale_minutes} minutes without progress (SEGMENTS_RUN_STALE_MINUTES)."
        ) from exc
    try:
        base, reason = (None, "asked for a full run") if full else _incremental_base(run)
        run.watermark = actions_watermark(wait_seconds=settings.SEGMENTS_WATERMARK_WAIT_SECONDS)
    except BaseException as exc:
        segment_run_fail(run_id=run.id, error=f"{type(exc).__name__}: {exc}")
        raise
    run.mode = SegmentRun.Mode.INCREMENTAL if base is not None else SegmentRun.Mode.FULL
    run.base_run, run.mode_reason = base, reason[:200]
    run.save(update_fields=["watermark", "mode", "base_run", "mode_reason"])
    return run


# An incremental run computes the rows its base did not leave (placeholders, rows of other dates) one player at a
# time through the index; past this many of them (or this share of the rows) a full run is cheaper.
INCREMENTAL_MAX_OTHER_ROWS = 10_000
INCREMENTAL_MAX_OTHER_SHARE = 0.01


def _incremental_base(run: SegmentRun) -> tuple[SegmentRun | None, str]:
    """The run an incremental run as of ``run.as_of`` can start from, with the reason; or None and why not.

    It is the last run before this one, done, as of a date at most 30 days earlier (or the same date), in the same
    business time zone, with a watermark, its figures defined as now (``rfm_sql.FIGURES_VERSION``); and user_segments
    still holds the rows it left (none removed since) and few others (placeholders made since, rows of other
    dates)."""
    if not settings.SEGMENTS_INCREMENTAL:
        return None, "incremental runs are switched off (SEGMENTS_INCREMENTAL)"
    base = SegmentRun.objects.filter(id__lt=run.id).order_by("-id").first()
    if base is None:
        return None, "first run"
    if base.status != SegmentRun.Status.DONE:
        return None, f"the last run ({base.id}) ended {base.status}"
    if base.watermark is None or base.rows_as_of is None:
        return None, f"the last run ({base.id}) recorded no watermark"
    if base.figures_version != run.figures_version:
        return None, (
            f"the figures' definition changed since the last run ({base.id}): version {base.figures_version} to "
            f"{run.figures_version}"
        )
    if base.business_timezone != run.business_timezone:
        return None, f"the business time zone changed ({base.business_timezone} to {run.business_timezone})"
    if base.as_of > run.as_of:
        return None, f"a date before the last run's ({base.as_of}): a backfill"
    if (run.as_of - base.as_of).days > rfm_sql.WINDOW_DAYS:
        return None, f"more than {rfm_sql.WINDOW_DAYS} days after the last run ({base.as_of})"
    counts = UserSegment.objects.aggregate(same=Count("pk", filter=Q(as_of=base.as_of)), all=Count("pk"))
    same, others = counts["same"], counts["all"] - counts["same"]
    if same != base.rows_as_of:
        return None, f"rows as of {base.as_of} changed since run {base.id} ({base.rows_as_of} then, {same} now)"
    if others > max(INCREMENTAL_MAX_OTHER_ROWS, INCREMENTAL_MAX_OTHER_SHARE * same):
        return None, f"{others} rows not computed by run {base.id}"
    return base, f"from run {base.id} (as of {base.as_of})"


def segment_run_stage(*, run_id: int, range_size: int | None = None) -> list[int]:
    """The run's one big statement, then its user-id ranges of ``range_size`` players; returns the range ids, in
    user-id order. Full: every covered player's row into the scratch table, which is then cut into ranges.
    Incremental: each player's change of the window since the base run into the scratch table; the ranges are
    cut along the players rows (every one is covered)."""
    run = SegmentRun.objects.select_related("base_run").get(id=run_id)
    size = max(int(range_size or settings.SEGMENTS_RANGE_SIZE), 1)
    table = run.stage_table
    start, end = rfm_sql.window(run.as_of, run.business_timezone)
    params: dict[str, Any] = {
        "start": _adapt(start),
        "end": _adapt(end),
        "as_of": _adapt(run.as_of),
        "tz": run.business_timezone,
        "watermark": run.watermark,
    }
    started = time.monotonic()
    with transaction.atomic():
        _drop_table(table)
        if run.mode == SegmentRun.Mode.INCREMENTAL:
            base = run.base_run
            assert base is not None and base.watermark is not None
            base_start, base_end = rfm_sql.window(base.as_of, run.business_timezone)
            params.update(base_start=_adapt(base_start), base_end=_adapt(base_end), base_watermark=base.watermark)
            # JIT off: compiling this statement took longer than running it (a day or two of actions).
            _tune_transaction(jit=False)
            _execute_create_as(rfm_sql.delta_sql(connection.vendor, table), params)
        else:
            sql, rule_params = rfm_sql.stage_sql(connection.vendor, table, _rules(run))
            _tune_transaction(jit=True)
            _execute_create_as(sql, {**params, **rule_params})
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE INDEX {table}_user ON {table} (user_id)")
            cursor.execute(f"ANALYZE {table}")
            if run.mode == SegmentRun.Mode.INCREMENTAL:
                ranges = _cut_ranges(cursor, "players", size, column="id")
            else:
                ranges = _cut_ranges(cursor, table, size)
        created = SegmentRunRange.objects.bulk_create(
            [SegmentRunRange(run=run, first_id=a, last_id=b, players=n) for a, b, n in ranges]
        )
        SegmentRun.objects.filter(id=run.id).update(
            ranges_total=len(ranges),
            range_players=sum(n for _, _, n in ranges),
            stage_seconds=time.monotonic() - started,
        )
    return [r.id for r in created]


def _rules(run: SegmentRun) -> list[rfm_sql.Rule]:
    return [rfm_sql.Rule.from_snapshot(r) for r in run.rules]


def _cut_ranges(cursor: Any, table: str, size: int, column: str = "user_id") -> list[tuple[int, int, int]]:
    """``(first_id, last_id, players)`` of consecutive ranges of ``size`` rows of ``table``, in player-id order
    (``column``)."""
    ranges: list[tuple[int, int, int]] = []
    last = -(2**63)  # below any player id (players.id is a bigint)
    while True:
        cursor.execute(
            f"SELECT min({column}), max({column}), count(*) FROM (SELECT {column} FROM {table} "  # noqa: S608 (names from code, values bound)
            f"WHERE {column} > %s ORDER BY {column} LIMIT %s) t",
            [last, size],
        )
        first_id, last_id, count = cursor.fetchone()
        if not count:
            return ranges
        ranges.append((first_id, last_id, count))
        last = last_id


def _read_streaks(run: SegmentRun, first_id: int, last_id: int) -> dict[int, int]:
    """The non-zero ``user:{id}:streak_count`` values of the range's players (a full run's scratch rows; for an
    incremental run, the players rows), read in bulk: MGETs of MGET_CHUNK keys, sent MGET_PIPELINE at a time in
    one round trip on Redis; ``get_many`` on the embedded hot store."""
    sql = f"SELECT user_id FROM {run.stage_table} WHERE user_id BETWEEN %(lo)s AND %(hi)s"  # noqa: S608 (names from code, values bound)
    if run.mode == SegmentRun.Mode.INCREMENTAL:
        sql = "SELECT id FROM players WHERE id BETWEEN %(lo)s AND %(hi)s"
    with connection.cursor() as cursor:
        cursor.execute(sql, {"lo": first_id, "hi": last_id})
        ids = [row[0] for row in cursor.fetchall()]
    streaks: dict[int, int] = {}
    chunks = [ids[i : i + MGET_CHUNK] for i in range(0, len(ids), MGET_CHUNK)]
    if not hot_store.is_redis:
        for chunk in chunks:
            values = hot_store.get_many(key_streak_count(uid) for uid in chunk)
            streaks.update((uid, n) for uid in chunk if (n := values.get(key_streak_count(uid))))
        return streaks
    client = hot_store.redis(bulk=True)
    for i in range(0, len(chunks), MGET_PIPELINE):
        batch = chunks[i : i + MGET_PIPELINE]
        pipe = client.pipeline(transaction=False)
        for chunk in batch:
            pipe.mget([key_streak_count(uid) for uid in chunk])
        for chunk, values in zip(batch, pipe.execute(), strict=True):
            streaks.update(
                (uid, n) for uid, v in zip(chunk, values, strict=True) if v is not None and (n := int(float(v)))
            )
    return streaks


def segment_range_apply(*, range_id: int) -> bool:
    """Apply one range of a running run (one transaction): the range's streak counts read from the hot store in
    bulk, then history rows for the group changes, the UPDATE of rows that differ, the INSERT of new ones, and
    the range marked applied. The range's rows: a full run's are in its scratch table; an incremental run's are
    computed here from the stored rows and the change. PostgreSQL does it all in one statement
    (``rfm_sql.apply_sql``); SQLite in a temporary table and three statements. False when there was nothing to do
    (applied already, or the run is no longer running)."""
    started = time.monotonic()
    with transaction.atomic():
        rng = SegmentRunRange.objects.select_for_update(of=("self",)).select_related("run__base_run").get(id=range_id)
        run = rng.run
        if rng.applied_at is not None or run.status != SegmentRun.Status.RUNNING:
            return False
        _tune_transaction(jit=False, hash_joins=True)
        params = rfm_sql.Params()
        values: dict[str, Any] = {
            "lo": rng.first_id,
            "hi": rng.last_id,
            "as_of": _adapt(run.as_of),
            "now": _adapt(timezone.now()),
            "run": run.id,
            "pay": run.pay_rewards,
        }
        incremental = run.mode == SegmentRun.Mode.INCREMENTAL
        if incremental:
            values.update(_source_values(run))
        values.update(rfm_sql.streak_params(connection.vendor, _read_streaks(run, rng.first_id, rng.last_id)))
        if connection.vendor == "postgresql":
            rules = _rules(run)
            source = (
                rfm_sql.source_sql("postgresql", run.stage_table, rules, params)
                if incremental
                else f"SELECT * FROM {run.stage_table} WHERE user_id BETWEEN %(lo)s AND %(hi)s"  # noqa: S608 (names from code, values bound)
            )
            with connection.cursor() as cursor:
                cursor.execute(rfm_sql.apply_sql(source, rules, params), {**values, **params})
                covered, changes, updated, inserted = cursor.fetchone()
        else:
            covered, changes, updated, inserted = _apply_sqlite(run, values, incremental=incremental)
        rises = SegmentHistory.objects.filter(
            run_id=run.id,
            user__gte=rng.first_id,
            user__lte=rng.last_id,
            reward_state=SegmentHistory.RewardState.PENDING,
        ).count()
        SegmentRunRange.objects.filter(id=rng.id).update(
            applied_at=timezone.now(),
            covered=covered,
            rows_updated=updated,
            rows_inserted=inserted,
            changes=changes,
            rises=rises,
            apply_seconds=time.monotonic() - started,
        )
    return True


def _source_values(run: SegmentRun) -> dict[str, Any]:
    """The parameters of an incremental run's range rows (``rfm_sql.source_sql``) besides the range."""
    base = run.base_run
    assert base is not None
    start, end = rfm_sql.window(run.as_of, run.business_timezone)
    return {
        "base_as_of": _adapt(base.as_of),
        "start": _adapt(start),
        "end": _adapt(end),
        "tz": run.business_timezone,
        "watermark": run.watermark,
    }


def _apply_sqlite(run: SegmentRun, values: dict[str, Any], *, incremental: bool) -> tuple[int, int, int, int]:
    """SQLite: the range's rows (the run's scratch table, or a temporary table computed from the change), then
    the three statements one by one. Returns covered, history rows, rows updated, rows inserted."""
    rules, table = _rules(run), run.stage_table
    params = rfm_sql.Params()
    with connection.cursor() as cursor:
        if incremental:
            table = rfm_sql.SQLITE_RANGE_SOURCE
            cursor.execute(f"DROP TABLE IF EXISTS temp.{table}")
            cursor.execute(rfm_sql.source_sql("sqlite", run.stage_table, rules, params), {**values, **params})
        cursor.execute(f"SELECT count(*) FROM {table} WHERE user_id BETWEEN %(lo)s AND %(hi)s", values)  # noqa: S608 (names from code, values bound)
        covered = int(cursor.fetchone()[0])
        cursor.execute(rfm_sql.history_sql("sqlite", table, rules, params), {**values, **params})
        changes = cursor.rowcount
        cursor.execute(rfm_sql.update_sql("sqlite", table), values)
        updated = cursor.rowcount
        cursor.execute(rfm_sql.insert_sql("sqlite", table), values)
        inserted = cursor.rowcount
        if incremental:
            cursor.execute(f"DROP TABLE temp.{table}")
    return covered, changes, updated, inserted


def segment_range_close(*, range_id: int) -> int:
    """After a range is applied: pay the pending rises of its players, then mark it done. Safe to repeat.
    Returns how many rewards this call paid."""
    rng = SegmentRunRange.objects.get(id=range_id)
    if rng.done_at is not None or rng.applied_at is None:
        return 0
    started = time.monotonic()
    paid = segment_rewards_pay(first_id=rng.first_id, last_id=rng.last_id)
    SegmentRunRange.objects.filter(id=rng.id, done_at__isnull=True).update(
        done_at=timezone.now(), rewards_paid=paid, rewards_seconds=time.monotonic() - started
    )
    return paid


def segment_range_process(*, range_id: int) -> SegmentRunRange:
    """Everything for one range (a Celery task's body), each step safe to repeat (a retry, a redelivery after a
    crash): apply it (once), pay the pending rises of its players, mark it done; the last range ends the run."""
    segment_range_apply(range_id=range_id)
    segment_range_close(range_id=range_id)
    rng = SegmentRunRange.objects.get(id=range_id)
    if not SegmentRunRange.objects.filter(run_id=rng.run_id, done_at__isnull=True).exists():
        segment_run_finish(run_id=rng.run_id)
    return rng


def segment_run_finish(*, run_id: int) -> bool:
    """End a run whose ranges are all done: totals, the distribution by group, the scratch table dropped.
    Only one caller wins (the status moves from running once)."""
    with transaction.atomic():
        if not SegmentRun.objects.filter(id=run_id, status=SegmentRun.Status.RUNNING).update(
            status=SegmentRun.Status.DONE, finished_at=timezone.now()
        ):
            return False
        totals = SegmentRunRange.objects.filter(run_id=run_id).aggregate(
            players=Sum("covered"),
            rows_updated=Sum("rows_updated"),
            rows_inserted=Sum("rows_inserted"),
            changes=Sum("changes"),
            rises=Sum("rises"),
            rewards_paid=Sum("rewards_paid"),
            apply_seconds=Sum("apply_seconds"),
            rewards_seconds=Sum("rewards_seconds"),
        )
        as_of = SegmentRun.objects.values_list("as_of", flat=True).get(id=run_id)
        SegmentRun.objects.filter(id=run_id).update(
            distribution=segment_distribution(),
            rows_as_of=UserSegment.objects.filter(as_of=as_of).count(),
            **{k: v or 0 for k, v in totals.items()},
        )
        _drop_table(SegmentRun(id=run_id).stage_table)
    return True


def segment_run_fail(*, run_id: int, error: str) -> None:
    """Mark a run failed and drop its scratch table. What it applied stays (each range is consistent on its
    own); the next run recomputes everyone, and pays any rise left pending."""
    SegmentRun.objects.filter(id=run_id, status=SegmentRun.Status.RUNNING).update(
        status=SegmentRun.Status.FAILED, finished_at=timezone.now(), error=error[:5000]
    )
    try:
        with transaction.atomic():
            _drop_table(SegmentRun(id=run_id).stage_table)
    except Exception:  # the table is gone with the database or locked by a dying worker: the run stays failed
        logger.exception("could not drop the scratch table of RFM run %s", run_id)


def segment_batch_run(
    *,
    as_of: dt.date | None = None,
    pay_rewards: bool | None = None,
    range_size: int | None = None,
    trigger: str = "",
    dispatch: bool | None = None,
    workers: int = 1,
    full: bool = False,
    on_progress: Progress | None = None,
    on_phase: Callable[[str, SegmentRun], object] | None = None,
) -> SegmentRun:
    """The nightly RFM batch for ``as_of`` (default: the business date today).

    ``dispatch``: hand each range to a Celery worker (default: when a broker is configured) and return once
    they are queued. Otherwise here: every range applied (in turn, or on ``workers`` processes on PostgreSQL),
    then their rises paid (in turn, or on as many threads), then the run ended. ``on_phase(name, run)`` is told
    "staged", "applied" and "rewarded" as each phase ends; ``on_progress(players)`` as each range is applied.
    The run is incremental when the last run's rows allow it (``segment_run_start``); ``full`` recomputes the
    whole window regardless.
    """
    from segments.tasks import rfm_apply_range

    as_of = as_of or business_today()
    if dispatch is None:
        dispatch = not settings.CELERY_TASK_ALWAYS_EAGER
    run = segment_run_start(as_of=as_of, pay_rewards=pay_rewards, trigger=trigger, full=full)

    def phase(name: str) -> None:
        if on_phase is not None:
            run.refresh_from_db()
            on_phase(name, run)

    def applied(range_id: int) -> None:
        if on_progress is not None:
            on_progress(SegmentRunRange.objects.filter(id=range_id).values_list("players", flat=True)[0])

    try:
        range_ids = segment_run_stage(run_id=run.id, range_size=range_size)
        phase("staged")
        if dispatch and range_ids:
            for range_id in range_ids:
                rfm_apply_range.delay(range_id)
        else:
            _apply_each(range_ids, workers, applied)
            phase("applied")
            _each(range_ids, workers, lambda range_id: segment_range_close(range_id=range_id))
            phase("rewarded")
            segment_run_finish(run_id=run.id)
    except BaseException as exc:
        segment_run_fail(run_id=run.id, error=f"{type(exc).__name__}: {exc}")
        raise
    run.refresh_from_db()
    return run


def _each(range_ids: list[int], workers: int, work: Callable[[int], object]) -> None:
    """``work`` for each range: in turn, or on ``workers`` threads (PostgreSQL), each with its own database
    connection."""
    if workers <= 1 or connection.vendor != "postgresql" or len(range_ids) < 2:
        for range_id in range_ids:
            work(range_id)
        return
    from django.db import connections

    def on_thread(range_id: int) -> None:
        try:
            work(range_id)
        finally:
            connections.close_all()

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        for _ in pool.map(on_thread, range_ids):
            pass


def _apply_each(range_ids: list[int], workers: int, done: Callable[[int], object]) -> None:
    """Apply each range (``segment_range_apply``), telling ``done(range_id)`` after each: in turn, or on
    ``workers`` processes (PostgreSQL), forked from this one, each with its own database connection, as Celery
    workers would. Processes, not threads: reading a range's streak counts is Python work, which threads of one
    process would take in turn."""
    if workers <= 1 or connection.vendor != "postgresql" or len(range_ids) < 2:
        for range_id in range_ids:
            segment_range_apply(range_id=range_id)
            done(range_id)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from django.db import connections

    connections.close_all()  # a connection must not be shared with the children (redis-py pools reset by pid)
    # A process that dies (killed, out of memory) breaks the pool: every range not yet applied raises
    # BrokenProcessPool here, so the run fails and says so (run_rfm's caller fails it), instead of waiting for ever
    # for the range the dead process held. A run started again then recomputes, as after any failed run.
    with ProcessPoolExecutor(min(workers, len(range_ids)), mp_context=multiprocessing.get_context("fork")) as pool:
        for future in as_completed([pool.submit(_apply_in_child, range_id) for range_id in range_ids]):
            done(future.result())


def _apply_in_child(range_id: int) -> int:
    from django.db import connections

    try:
        segment_range_apply(range_id=range_id)
    finally:
        connections.close_all()
    return range_id


# --- upgrade rewards ----------------------------------------------------------------------------------------------


def reward_key(*, player_id: int, group: str, as_of: dt.date) -> str:
    """The one key of a rise's reward: a player is paid once per group and date, whatever retries."""
    return f"rfm-upgrade:{player_id}:{group}:{as_of.isoformat()}"


def segment_rewards_pay(*, first_id: int | None = None, last_id: int | None = None) -> int:
    """Pay every pending rise (of players in [first_id, last_id]), one transaction each. Returns how many paid."""
    pending = SegmentHistory.objects.filter(reward_state=SegmentHistory.RewardState.PENDING)
    if first_id is not None and last_id is not None:
        pending = pending.filter(user__gte=first_id, user__lte=last_id)
    paid = 0
    for history_id in pending.order_by("id").values_list("id", flat=True):
        paid += segment_reward_pay(history_id=history_id)
    return paid


def segment_reward_pay(*, history_id: int) -> bool:
    """Pay one pending rise: the tokens through the wallet (key: player, group, date), a ``user_rewards`` row,
    a push in the player's locale saying the same number, the history row marked paid; all in one transaction,
    so a crash leaves it pending (paid on the next try) and a retry finds it paid. True when paid now."""
    with transaction.atomic():
        history = (
            SegmentHistory.objects.select_for_update(of=("self",)).select_related("user").filter(id=history_id).first()
        )
        if history is None or history.reward_state != SegmentHistory.RewardState.PENDING:
            return False
        amount = int(history.reward_tokens or 0)
        key = reward_key(player_id=history.user_id, group=history.to_group, as_of=history.as_of)
        try:
            result = wallet_grant(
                player_id=history.user_id,
                amount=amount,
                idempotency_key=key,
                reason=f"RFM upgrade to {history.to_group} as of {history.as_of.isoformat()}",
                actor="segments",
            )
        except IdempotencyKeyReused:
            result = None  # paid already for this group and date, with another amount (the rules changed)
        now = timezone.now()
        if result is None or result.replayed:
            # Another change of the same day into the same group was paid already (a re-run after a rule edit).
            SegmentHistory.objects.filter(id=history.id).update(
                reward_state=SegmentHistory.RewardState.SKIPPED, rewarded_at=now
            )
            return False
        reward_id = reward_record(
            player_id=history.user_id,
            reward_type=REWARD_TYPE,
            reward_value=amount,
            awarded_at=now,
            trigger_action_id=result.entry.action_id,
        )
        player = history.user
        message = text_render(NOTIFICATION_TYPE, player.locale, group=history.to_group, reward_tokens=amount)
        notification_create(
            player_id=history.user_id,
            type=NOTIFICATION_TYPE,
            kind=Kind.MARKETING,
            message=message,
            payload={
                "type": NOTIFICATION_TYPE,
                "user_id": history.user_id,
                "rfm_group": history.to_group,
                "previous_group": history.from_group,
                "reward_tokens": amount,
                "as_of": history.as_of.isoformat(),
                "message": message,
            },
            dedupe_key=f"segment-upgrade:{history.user_id}:{history.to_group}:{history.as_of.isoformat()}",
            now=now,
        )
        SegmentHistory.objects.filter(id=history.id).update(
            reward_state=SegmentHistory.RewardState.PAID, rewarded_at=now, user_reward_id=reward_id
        )
    return True
