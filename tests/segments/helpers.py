"""Builders shared by the segment tests: times in the business timezone and a player's stored history."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import itertools
import zoneinfo
from collections.abc import Iterator
from typing import Any

from segments import services
from segments.models import SegmentRun, UserSegment
from tests import factories
from wallet import services as wallet_services

KST = zoneinfo.ZoneInfo("Asia/Seoul")  # the default BUSINESS_TIMEZONE
D = dt.date(2026, 3, 10)  # the as-of date of most tests: window [2026-02-08 00:00 KST, 2026-03-10 00:00 KST)
_seq = itertools.count(1)


def kst(day: dt.date, hour: int = 12, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=KST)


def days_before(n: int, hour: int = 12, as_of: dt.date = D) -> dt.datetime:
    """Noon (business time) n days before ``as_of``: an action there has R = n."""
    return kst(as_of - dt.timedelta(days=n), hour)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)


def history(user_id: int, *, r: int | None, f: int, m: int = 0, as_of: dt.date = D, **extra: Any) -> None:
    """A stored history giving exactly R = r, F = f, M = m as of ``as_of``: f actions in the window, the last one
    r days before it; M as one SPEND_CYBER_TOKENS action (one of the f). ``r=None``: no action at all."""
    if r is None:
        assert f == 0 and m == 0
        return
    assert f >= 1
    others = f - (1 if m else 0)
    if m:
        factories.make_actions(
            user_id=user_id,
            at=[days_before(r, hour=13, as_of=as_of)],
            action_type="SPEND_CYBER_TOKENS",
            spent_tokens=m,
            game="SlotMachine",
        )
    if others:
        # The last of them at r days before; the rest spread over the window after its first day.
        times = [days_before(r, hour=12, as_of=as_of)] + [
            days_before(min(r + 1 + i % 10, 29), as_of=as_of) for i in range(others - 1)
        ]
        factories.make_actions(
            user_id=user_id, at=times, action_type="GAME_PLAY", game="SlotMachine", bet=10, payout=0, result="loss"
        )


def player(**fields: Any) -> int:
    return factories.make_player(**fields).id


def fund(user_id: int, amount: int) -> None:
    """A wallet balance, through the wallet's own write path (its action is stamped now: outside past windows)."""
    wallet_services.wallet_earn(
        player_id=user_id,
        amount=amount,
        source="in_app",
        idempotency_key=f"seg-test-fund:{user_id}:{next(_seq)}",
        details={},
    )


# When set (``incremental_after``), a test's first run is preceded by a base run this many days earlier, so that
# the run the test checks is an incremental one.
_BASE_DAYS_BEFORE: contextvars.ContextVar[int | None] = contextvars.ContextVar("base_days_before", default=None)


@contextlib.contextmanager
def incremental_after(days: int | None) -> Iterator[None]:
    """Within: a test's first ``run`` is incremental, from a run ``days`` earlier (None: no change)."""
    token = _BASE_DAYS_BEFORE.set(days)
    try:
        yield
    finally:
        _BASE_DAYS_BEFORE.reset(token)


def run(as_of: dt.date = D, **kwargs: Any) -> SegmentRun:
    kwargs.setdefault("pay_rewards", False)
    days = _BASE_DAYS_BEFORE.get()
    if days is None or kwargs.get("full") or SegmentRun.objects.exists():
        return services.segment_batch_run(as_of=as_of, **kwargs)
    base = services.segment_batch_run(as_of=as_of - dt.timedelta(days=days), pay_rewards=False)
    assert base.mode == SegmentRun.Mode.FULL
    result = services.segment_batch_run(as_of=as_of, **kwargs)
    assert result.mode == SegmentRun.Mode.INCREMENTAL, result.mode_reason
    return result


def segment(user_id: int) -> UserSegment:
    return UserSegment.objects.get(user_id=user_id)
