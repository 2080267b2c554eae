"""Every write of the analytics app: the rollups (docs/metrics.md), refreshed from the raw tables.

``analytics_refresh`` (every few minutes, and nightly after the RFM run) folds in what arrived since the last refresh:
the actions logged since its watermark are merged into the player-days, token flows and hour cells (counts added:
the log is append-only, so this equals a recount, and the cost follows the new actions, not the days they land on);
their business days, and those of new ledger rows, are dirty whatever their timestamp (late and imported actions
included): the day figures are recomputed from the first dirty day on (windows reach 30 days forward; the Company A
loop of the week before), the retention of the cohorts of the players those actions belong to and the monthly churn
of the months their days touch, the RFM mix and transitions from the earliest segment change or finished run seen,
today's proposals and what protection removed, and a snapshot of the protection state and the nightly markers in
force (they cannot be recounted later: docs/metrics.md, "Protection"). ``analytics_rebuild`` recounts any date range
from the log (``manage.py rollup_analytics``). Each family is one statement per refresh or per range of days
(``analytics.sql``); a refresh and a rebuild take the state row's lock, so they run one at a time.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from activity.selectors import actions_watermark
from analytics import sql
from analytics.models import (
    Cohort,
    Day,
    HourCell,
    MonthChurn,
    PlayerDay,
    PlayerSpan,
    ProposalDay,
    ProtectionDay,
    RfmCoverage,
    RfmMix,
    RfmTransition,
    RollupState,
    TokenFlow,
)
from analytics.selectors import month_start
from core.sql import Dialect
from core.timezones import business_day_start as day_start
from segments.rfm_sql import Rule
from segments.selectors import segment_last_run

LOOP_DAYS = 7  # the Company A loop looks this many days past an earn
WINDOW_DAYS = 30  # MAU, paying players: a day's figures depend on the 29 days before it
PROPOSAL_DAYS_NIGHTLY = 7  # clicks arrive after the impression: the nightly run recounts the last week's proposals
EARNED_KEYS = ("corporate", "in_app", "reward", "purchase")


def business_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.BUSINESS_TIMEZONE)


def business_today(now: dt.datetime | None = None) -> dt.date:
    return timezone.localdate(now or timezone.now(), timezone=business_zone())


def day_ranges(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive runs of ``days``, as (first, last)."""
    ranges: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + dt.timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def _params(d0: dt.date, d1: dt.date, **extra: Any) -> dict[str, Any]:
    ops = connection.ops
    return {
        "d0": ops.adapt_datefield_value(d0),
        "d1": ops.adapt_datefield_value(d1),
        "s": ops.adapt_datetimefield_value(day_start(d0)),
        "e": ops.adapt_datetimefield_value(day_start(d1 + dt.timedelta(days=1))),
        "btz": settings.BUSINESS_TIMEZONE,
        **extra,
    }


def _execute(statement: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall()) if cursor.description else []


@dataclass
class RollupReport:
    mode: str  # refresh | rebuild
    days_rolled: int = 0  # days whose player-days, token flows and hour cells were recomputed
    figures_from: dt.date | None = None
    figures_to: dt.date | None = None
    rfm_from: dt.date | None = None
    actions_watermark: int = 0
    coverage_run: int | None = None
    dirty: list[str] = field(default_factory=list)  # the recomputed ranges, as text
    cohorts: int = 0  # cohorts whose retention was recounted
    months: list[str] = field(default_factory=list)  # months whose churn was recounted

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "days_rolled": self.days_rolled,
            "figures": [str(self.figures_from), str(self.figures_to)] if self.figures_from else None,
            "rfm_from": str(self.rfm_from) if self.rfm_from else None,
            "actions_watermark": self.actions_watermark,
            "coverage_run": self.coverage_run,
            "dirty": self.dirty,
            "cohorts": self.cohorts,
            "months": self.months,
        }


# --- the families ------------------------------------------------------------------------------------------------


def rollup_base_range(*, d0: dt.date, d1: dt.date, watermark: int) -> None:
    """Player-days, spans, token flows and hour cells of the business days [d0, d1], recounted from the log (ids up to
    ``watermark``, the state's: a refresh merges the later ones). Callers hold the state lock."""
    d = Dialect(connection.vendor)
    params = _params(d0, d1, wm=watermark)
    between = {"day__gte": d0, "day__lte": d1}
    PlayerDay.objects.filter(**between).delete()
    TokenFlow.objects.filter(**between).delete()
    HourCell.objects.filter(**between).delete()
    _execute(sql.player_days_insert(d, sql.IN_RANGE, merge=False), params)
    _execute(sql.player_spans_upsert(d, users=sql.users_of_days(d)), params)
    _execute(sql.token_flows_insert(d, sql.IN_RANGE, merge=False), params)
    _execute(sql.hour_cells_insert(d, sql.IN_RANGE, merge=False), params)


def rollup_merge_logged(*, lo: int, hi: int, outside: tuple[dt.date, dt.date] | None = None) -> set[dt.date]:
    """Merge the actions logged since the last refresh (ids in (lo, hi]; with ``outside``, only those whose day is
    not in that range) into the player-days, spans, token flows and hour cells: the cost follows the new actions, not
    the days they land on. Answers their business days. Callers hold the state lock."""
    d = Dialect(connection.vendor)
    where = sql.LOGGED_SINCE if outside is None else sql.LOGGED_SINCE_OUTSIDE
    params = {**(_params(*outside) if outside else _bt()), "lo": lo, "hi": hi}
    days = {sql.as_date(r[0]) for r in _execute(sql.action_days(d, where), params)}
    if days:
        _execute(sql.player_days_insert(d, where, merge=True), params)
        _execute(sql.player_spans_upsert(d, users=sql.users_logged(where)), params)
        _execute(sql.token_flows_insert(d, where, merge=True), params)
        _execute(sql.hour_cells_insert(d, where, merge=True), params)
    return days


def rollup_figures_range(*, d0: dt.date, d1: dt.date) -> int:
    """The day figures of [d0, d1] from the rollups (and the ledger for the balance): one statement per family."""
    d = Dialect(connection.vendor)
    params = _params(d0, d1)
    now = timezone.now()
    days: dict[dt.date, Day] = {}
    day = d0
    while day <= d1:
        days[day] = Day(day=day, computed_at=now)
        day += dt.timedelta(days=1)
    for day_value, count in _execute(sql.dau_select(d), params):
        days[sql.as_date(day_value)].dau = int(count)
    # the trailing windows, as the days where each changes (``analytics.sql.windows_select``), summed day by day
    changes: dict[str, dict[dt.date, int]] = {name: {} for name, _, _ in sql.WINDOWS}
    for name, day_value, sign, count in _execute(sql.windows_select(d), params):
        step = changes[name]
        key = sql.as_date(day_value)
        step[key] = step.get(key, 0) + int(sign) * int(count)
    for name, step in changes.items():
        running = 0
        for day, f in sorted(days.items()):
            running += step.get(day, 0)
            setattr(f, name, running)
    for row in _execute(sql.corporate_select(d), params):
        _corporate_set(days[sql.as_date(row[0])], row)
    for first_day, count in _execute(sql.new_players_select(d), params):
        days[sql.as_date(first_day)].new_players = int(count)
    for row in _execute(sql.whales_select(d), params):
        days[sql.as_date(row[0])].whale_players = int(row[1])
    for day_value, direction, category, key, tokens in _execute(sql.tokens_select(d), params):
        f = days[sql.as_date(day_value)]
        tokens = int(tokens or 0)
        if direction == "earned" and key in EARNED_KEYS:
            setattr(f, f"earned_{key}", getattr(f, f"earned_{key}") + tokens)
        elif direction == "spent" and category == "game":
            f.spent_games += tokens
        elif direction == "spent":
            f.spent_content += tokens
    balance = int(_execute(sql.ledger_before(), params)[0][0] or 0)
    ledger = {
        sql.as_date(k): (int(net or 0), int(refunded or 0)) for k, net, refunded in _execute(sql.ledger_days(d), params)
    }
    for day, f in sorted(days.items()):
        f.ledger_net, f.refunded_purchase = ledger.get(day, (0, 0))
        balance += f.ledger_net
        f.outstanding_balance = balance
    Day.objects.filter(day__gte=d0, day__lte=d1).delete()
    Day.objects.bulk_create(days.values(), batch_size=1000)
    return len(days)


def _corporate_set(f: Day, row: tuple[Any, ...]) -> None:
    f.corporate_only_players, f.corporate_players, f.corporate_earners, f.corporate_earners_spent_7d = (
        int(v or 0) for v in row[1:]
    )


def rollup_loop_range(*, d0: dt.date, d1: dt.date) -> None:
    """Only the Company A figures of [d0, d1] (the loop of a day looks 7 days ahead: a spend today moves the loop of
    the week before, and nothing else of those days)."""
    d = Dialect(connection.vendor)
    days = {f.day: f for f in Day.objects.filter(day__gte=d0, day__lte=d1)}
    for f in days.values():
        f.corporate_only_players = f.corporate_players = f.corporate_earners = f.corporate_earners_spent_7d = 0
    for row in _execute(sql.corporate_select(d), _params(d0, d1)):
        f_day = sql.as_date(row[0])
        if f_day in days:
            _corporate_set(days[f_day], row)
    Day.objects.bulk_update(
        days.values(),
        ["corporate_only_players", "corporate_players", "corporate_earners", "corporate_earners_spent_7d"],
        batch_size=1000,
    )


def rollup_rfm_range(*, d0: dt.date, d1: dt.date) -> None:
    """The RFM mix and transitions of [d0, d1], from the segment history."""
    d = Dialect(connection.vendor)
    params = _params(d0, d1)
    RfmMix.objects.filter(day__gte=d0, day__lte=d1).delete()
    RfmTransition.objects.filter(day__gte=d0, day__lte=d1).delete()
    _execute(sql.rfm_mix_insert(d), params)
    _execute(sql.rfm_transitions_insert(d), params)


def rollup_proposals_range(*, d0: dt.date, d1: dt.date) -> None:
    d = Dialect(connection.vendor)
    ProposalDay.objects.filter(day__gte=d0, day__lte=d1).delete()
    _execute(sql.proposals_insert(d), _params(d0, d1))


def rollup_cohorts(days: Iterable[dt.date]) -> int:
    """The retention of the cohorts whose first active day is one of ``days``, recounted (a cohort left with no
    player is removed). Answers how many cohorts were recounted."""
    d = Dialect(connection.vendor)
    days = set(days)
    for d0, d1 in day_ranges(days):
        Cohort.objects.filter(day__gte=d0, day__lte=d1).delete()
        _execute(sql.cohorts_insert(d), _params(d0, d1))
    return len(days)


def cohort_days_logged(*, lo: int, hi: int) -> set[dt.date]:
    """The cohorts of the players with actions logged in (lo, hi]: read before and after merging them in, these are
    the cohorts those actions can move (a late action may move a player's first day to an earlier cohort)."""
    rows = _execute(sql.cohort_days_of(sql.users_logged(sql.LOGGED_SINCE)), {"lo": lo, "hi": hi})
    return {sql.as_date(r[0]) for r in rows}


def rollup_months(days: Iterable[dt.date], *, last: dt.date) -> list[dt.date]:
    """The monthly churn of the months whose figure ``days`` move (a day's month and the next: the churn of month m
    reads m-1 and m), up to the month of ``last``; answers the months recounted."""
    d = Dialect(connection.vendor)
    months = sorted({m for day in days for m in (month_start(day), month_start(day, 1)) if m <= last})
    MonthChurn.objects.filter(month__in=months).delete()
    ops = connection.ops
    for month in months:
        params = {
            "p0": ops.adapt_datefield_value(month_start(month, -1)),
            "m0": ops.adapt_datefield_value(month),
            "m1": ops.adapt_datefield_value(month_start(month, 1)),
        }
        _execute(sql.month_churn_insert(d), params)
    return months


def rollup_protection_range(*, d0: dt.date, d1: dt.date) -> None:
    """What protection removed on [d0, d1] (proposals held back, live signals, pushes suppressed), recounted from the
    raw tables; the snapshots (state, nightly markers) are left as they are."""
    d = Dialect(connection.vendor)
    params = _params(d0, d1, now=connection.ops.adapt_datetimefield_value(timezone.now()))
    ProtectionDay.objects.filter(day__gte=d0, day__lte=d1, figure__in=ProtectionDay.COUNTED).delete()
    _execute(sql.protection_suppressions_insert(d), params)
    _execute(sql.protection_pushes_insert(d), params)


def rollup_protection_snapshot(*, now: dt.datetime) -> None:
    """Today's protection state and nightly markers in force, as they are at ``now`` (replacing the day's earlier
    snapshot): the tables hold only the present, so this is the only moment the day's figures can be taken."""
    day = business_today(now)
    state = _execute(sql.PROTECTION_STATE, {"now": connection.ops.adapt_datetimefield_value(now)})[0]
    markers = _execute(sql.HARM_MARKERS, {})
    rows = [
        ProtectionDay(day=day, figure=ProtectionDay.STATE, key=key, players=int(n), events=int(n), computed_at=now)
        for key, n in zip(ProtectionDay.STATE_KEYS, state, strict=True)
    ]
    rows += [
        ProtectionDay(
            day=day, figure=ProtectionDay.NIGHTLY_MARKER, key=str(m), players=int(n), events=int(n), computed_at=now
        )
        for m, n in markers
    ]
    ProtectionDay.objects.filter(day=day, figure__in=ProtectionDay.SNAPSHOTS).delete()
    ProtectionDay.objects.bulk_create(rows)


def _pending_pushes_from() -> dt.date | None:
    oldest = _execute(sql.PENDING_PUSHES_FROM, {})[0][0]
    if oldest is None:
        return None
    if isinstance(oldest, str):
        oldest = dt.datetime.fromisoformat(oldest).replace(tzinfo=dt.UTC)
    return timezone.localdate(oldest, timezone=business_zone())


def rollup_coverage_take(*, state: RollupState) -> int | None:
    """The rules' coverage of the latest finished RFM run, once per run (its inputs are in ``user_segments`` only
    until the next run): the run's id, or None when it was taken already."""
    run = segment_last_run()
    if run is None or run.id == state.coverage_run_id:
        return None
    d = Dialect(connection.vendor)
    rules = [Rule.from_snapshot(r) for r in run.rules]
    params: dict[str, Any] = {"as_of": connection.ops.adapt_datefield_value(run.as_of), "run": run.id}
    statement = sql.coverage_insert(rules, d, params)
    RfmCoverage.objects.filter(day=run.as_of).delete()
    _execute(statement, params)
    state.coverage_run_id = run.id
    return run.id


# --- refresh and rebuild -----------------------------------------------------------------------------------------


def _state_locked() -> RollupState:
    RollupState.objects.get_or_create(id=RollupState.SINGLETON_ID)
    state = RollupState.objects.select_for_update().get(id=RollupState.SINGLETON_ID)
    if state.business_timezone != settings.BUSINESS_TIMEZONE:  # days mean other days: start afresh
        rollups = (PlayerDay, PlayerSpan, Day, TokenFlow, HourCell, RfmMix, RfmTransition, RfmCoverage, ProposalDay)
        for model in (*rollups, Cohort, MonthChurn):
            model.objects.all().delete()
        ProtectionDay.objects.all().delete()  # the snapshots too: they are filed under days that now mean others
        state.actions_watermark = state.ledger_watermark = state.history_watermark = state.coverage_run_id = 0
        state.first_day = state.last_day = state.pending_pushes_from = None
        state.business_timezone = settings.BUSINESS_TIMEZONE
    return state


def _first_day(today: dt.date) -> dt.date:
    first = _execute(sql.FIRST_ACTION, {})[0][0]
    if first is None:
        return today
    if isinstance(first, str):
        first = dt.datetime.fromisoformat(first).replace(tzinfo=dt.UTC)
    return min(timezone.localdate(first, timezone=business_zone()), today)


def analytics_refresh(*, now: dt.datetime | None = None, nightly: bool = False) -> RollupReport:
    """Fold in everything logged since the last refresh (module docstring). ``nightly`` also recounts the last
    week's proposals (their clicks)."""
    today = business_today(now)
    watermark = actions_watermark(wait_seconds=settings.SEGMENTS_WATERMARK_WAIT_SECONDS)  # before the transaction
    report = RollupReport(mode="refresh")
    with transaction.atomic():
        state = _state_locked()
        d = Dialect(connection.vendor)
        watermark = max(watermark, state.actions_watermark)
        ledger_top = int(_execute(sql.LEDGER_MAX_ID, {})[0][0])
        first_run = state.last_day is None
        if first_run:
            state.first_day = _first_day(today)
        assert state.first_day is not None
        cohorts = cohort_days_logged(lo=state.actions_watermark, hi=watermark)  # before the merge: see there
        entered = [today] if state.last_day is None else [state.last_day, today]
        if not first_run and not Cohort.objects.exists() and PlayerSpan.objects.exists():
            # spans with no cohort: the first refresh since migration 0005 added the cohorts, the months and the
            # spans' day flags; every span, cohort and month is counted once
            _execute(sql.player_spans_upsert(d, users=sql.SPAN_USERS), {})
            cohorts |= {sql.as_date(r[0]) for r in _execute(sql.COHORT_DAYS, {})}
            entered = list(_each_day(state.first_day, today))
        dirty = rollup_merge_logged(lo=state.actions_watermark, hi=watermark)
        if dirty:
            cohorts |= cohort_days_logged(lo=state.actions_watermark, hi=watermark)
        report.cohorts = rollup_cohorts(cohorts)
        # the months of the new actions, and those the calendar entered since the last refresh
        report.months = [f"{m:%Y-%m}" for m in rollup_months({*dirty, *entered}, last=max([today, *dirty]))]
        report.days_rolled = len(dirty)
        report.dirty = [f"{d0}..{d1}" for d0, d1 in day_ranges(dirty)]
        dirty |= {
            sql.as_date(r[0])
            for r in _execute(sql.dirty_ledger_days(d), {"lo": state.ledger_watermark, "hi": ledger_top, **_bt()})
        }
        state.first_day = min([state.first_day, *dirty])
        # Figures: from the first dirty day (less the loop's reach back) or the day after the last refresh, to today.
        starts = [min(dirty)] if dirty else []
        starts.append(state.first_day if first_run or state.last_day is None else state.last_day)
        history_from, history_top = _execute(sql.DIRTY_HISTORY, {"lo": state.history_watermark})[0]
        runs_from = _execute(sql.RUNS_DONE_SINCE, {"lo": state.coverage_run_id})[0][0]
        if history_top is not None:
            state.history_watermark = int(history_top)
        changed = [sql.as_date(v) for v in (history_from, runs_from) if v is not None]
        if changed:
            report.rfm_from = max(min(changed), state.first_day)
            starts.append(report.rfm_from)
        if nightly:  # the ledger's staff adjustments carry no action: a week of balances is re-read each night
            starts.append(today - dt.timedelta(days=LOOP_DAYS))
        figures_from = max(min(starts), state.first_day)
        figures_to = max(today, max(dirty, default=today))
        if dirty and min(dirty) > state.first_day:  # the week before: only its Company A loop can have moved
            loop_from = max(min(dirty) - dt.timedelta(days=LOOP_DAYS), state.first_day)
            if loop_from < figures_from:
                rollup_loop_range(d0=loop_from, d1=figures_from - dt.timedelta(days=1))
        rollup_figures_range(d0=figures_from, d1=figures_to)
        report.figures_from, report.figures_to = figures_from, figures_to
        rfm_from = report.rfm_from if report.rfm_from is not None else (state.last_day or state.first_day)
        rollup_rfm_range(d0=min(rfm_from, today), d1=today)
        proposals_from = (
            state.first_day if first_run else today - dt.timedelta(days=PROPOSAL_DAYS_NIGHTLY if nightly else 1)
        )
        rollup_proposals_range(d0=proposals_from, d1=today)
        # Protection: the proposals' days and at least from the last refresh's day (suppressions reach the table up
        # to a buffer's age late), and from the day of the oldest push pending at the last refresh (sent since, or
        # suppressed: its creation day's figure moved).
        pending_from = _pending_pushes_from()  # read before the count: a push pending now is counted again next time
        protection_from = min(d for d in (proposals_from, state.last_day, state.pending_pushes_from) if d is not None)
        rollup_protection_range(d0=protection_from, d1=today)
        state.pending_pushes_from = pending_from
        rollup_protection_snapshot(now=now or timezone.now())
        report.coverage_run = rollup_coverage_take(state=state)
        state.actions_watermark = watermark
        state.ledger_watermark = max(ledger_top, state.ledger_watermark)
        state.last_day = max(today, state.last_day or today)
        state.refreshed_at = timezone.now()
        state.save()
    report.actions_watermark = watermark
    return report


def _each_day(d0: dt.date, d1: dt.date) -> Iterable[dt.date]:
    day = d0
    while day <= d1:
        yield day
        day += dt.timedelta(days=1)


def _bt() -> dict[str, str]:
    return {"btz": settings.BUSINESS_TIMEZONE}


def analytics_rebuild(
    *, d0: dt.date, d1: dt.date, chunk_days: int = 7, on_progress: Callable[[int], object] | None = None
) -> RollupReport:
    """Recount every rollup of the business days [d0, d1] from the raw tables, ``chunk_days`` days per transaction
    (``on_progress(days)`` after each), then the day figures that depend on them (the loop's week before, the windows'
    30 days after, up to the last day rolled up), the RFM mix and transitions and the proposals.

    First, in one transaction, the actions logged since the last refresh whose days lie outside the range are merged
    in and the watermark moves past them (their days' figures are recomputed at the end); each chunk then counts the
    actions up to the state's watermark, read under the lock, so a refresh running between two chunks neither loses
    nor doubles an action."""
    if d1 < d0:
        raise ValueError("The range ends before it starts.")
    watermark = actions_watermark(wait_seconds=settings.SEGMENTS_WATERMARK_WAIT_SECONDS)
    report = RollupReport(mode="rebuild")
    with transaction.atomic():
        state = _state_locked()
        watermark = max(watermark, state.actions_watermark)
        caught = rollup_merge_logged(lo=state.actions_watermark, hi=watermark, outside=(d0, d1))
        state.actions_watermark = watermark
        earliest = _first_day(business_today())
        state.first_day = min(earliest, state.first_day or earliest)
        state.save()
    report.actions_watermark = watermark
    chunk = d0
    while chunk <= d1:
        end = min(d1, chunk + dt.timedelta(days=chunk_days - 1))
        with transaction.atomic():
            state = _state_locked()
            rollup_base_range(d0=chunk, d1=end, watermark=state.actions_watermark)
        report.days_rolled += (end - chunk).days + 1
        report.dirty.append(f"{chunk}..{end}")
        if on_progress is not None:
            on_progress((end - chunk).days + 1)
        chunk = end + dt.timedelta(days=1)
    with transaction.atomic():
        state = _state_locked()
        last = max(d1, state.last_day or d1)
        figures_from = max(min([d0 - dt.timedelta(days=LOOP_DAYS), *caught]), state.first_day or d0)
        figures_to = max([last, *caught]) if caught else min(last, d1 + dt.timedelta(days=WINDOW_DAYS))
        rollup_figures_range(d0=figures_from, d1=figures_to)
        # every cohort and month the range's players or days can reach: a rebuild is a repair, so all of them
        report.cohorts = rollup_cohorts(sql.as_date(r[0]) for r in _execute(sql.COHORT_DAYS, {}))
        report.months = [f"{m:%Y-%m}" for m in rollup_months(_each_day(state.first_day or d0, last), last=last)]
        rollup_rfm_range(d0=d0, d1=d1)
        rollup_proposals_range(d0=d0, d1=d1)
        rollup_protection_range(d0=d0, d1=d1)  # not the snapshots: a past day's cannot be taken again
        report.figures_from, report.figures_to = figures_from, figures_to
        state.last_day = last
        state.save()
    return report
