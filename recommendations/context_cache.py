"""Redis' copy of the slow-moving part of each player's recommendation context: the snapshot.

``GET /api/me/recommendations`` is read far more often than what it depends on changes. The part that changes
with play (the balance, the win streak) already has a Redis copy (``user:{id}:cyber_token_balance``,
``user:{id}:streak_count``). The rest (locale, timezone, segment, risk profile, play hours, last Company A visit,
Company A tokens this month, harm markers, the population's peak hour) changes nightly or on a few writes. It is
kept in Redis as a snapshot, so that a request for a player with a snapshot reads everything in one Redis round
trip and makes no database round trip (docs/decisions/0011).

Keys:

- ``user:{id}:recommendation_context``: a hash with ``v`` (a counter every write that changes the player's
  snapshot increments) and ``c`` (the snapshot, JSON). It expires ``RECOMMENDATION_CONTEXT_TTL_SECONDS`` after
  its last fill or write.
- ``recommendation_context:generation``: a counter the nightly jobs increment when they have changed many
  players at once (segments, harm markers, play hours); a snapshot made under another generation is not used.

Why a snapshot can never be used after a write it does not show:

1. A write commits, then increments ``v`` and deletes ``c`` (``snapshot_invalidate``, after commit).
2. A snapshot is computed by a database read that starts only after ``v`` (and the generation) were read from
   Redis, and it is stored only if ``v`` and the generation are still what they were (``_FILL``, one Lua script:
   atomic).
3. So a stored snapshot either was read after the write's increment (which follows its commit: the read saw the
   write) or was stored before that increment (which then deletes it). The same holds for the generation, whose
   increment follows the nightly job's commit; the snapshot carries its generation, and the reader compares it.

What it does not cover, and the bound: a process killed between a write's commit and its increment, or a Redis
that refuses the increment while it serves reads, leaves a snapshot that predates the write until it expires or
the next nightly job retires it. A failed increment is retried in the background (``_retry_buffer``). Players
with a protection row (limits, cool-off, self-exclusion, pending changes) never get a snapshot: their context is
always read from the database, so a copy never decides what a protected player is offered. Whatever the
recommender offers, the wallet decides every spend on the database.

Redis holds nothing here that the database cannot rebuild: a flush or an expiry costs a database read.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.db import transaction

from core.hotstore import RedisScript, hot_store
from core.writebehind import WriteBehind
from wallet.balance_cache import balance_cache_set, key_balance

logger = logging.getLogger(__name__)

GENERATION_KEY = "recommendation_context:generation"


def key_context(user_id: int) -> str:
    return f"user:{user_id}:recommendation_context"


def enabled() -> bool:
    """Snapshots need Redis (the embedded default reads every context from the database)."""
    return hot_store.is_redis and settings.RECOMMENDATION_CONTEXT_SNAPSHOTS


# KEYS: the generation key, then one context key per player. ARGV: the generation the snapshots were computed
# under ('' for none), the TTL, then per player the ``v`` read before the database read ('' for none) and the
# snapshot. A snapshot is stored only where nothing changed since.
_FILL_LUA = """
if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
local n = 0
for i = 2, #KEYS do
  local j = 2 * i - 1
  if (redis.call('HGET', KEYS[i], 'v') or '') == ARGV[j] then
    redis.call('HSET', KEYS[i], 'c', ARGV[j + 1])
    redis.call('EXPIRE', KEYS[i], ARGV[2])
    n = n + 1
  end
end
return n
"""
_FILL = RedisScript(_FILL_LUA)

# KEYS: one context key per player. ARGV: the TTL.
_INVALIDATE_LUA = """
for i = 1, #KEYS do
  redis.call('HINCRBY', KEYS[i], 'v', 1)
  redis.call('HDEL', KEYS[i], 'c')
  redis.call('EXPIRE', KEYS[i], ARGV[1])
end
return #KEYS
"""
_INVALIDATE = RedisScript(_INVALIDATE_LUA)


def text(value: bytes | str | None) -> str:
    """A Redis answer as text ("" for none)."""
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True, slots=True)
class Fill:
    """A snapshot to store for ``user_id`` if its ``v`` is still ``version`` and the generation ``generation``;
    with ``balance`` (balance, ledger row id), Redis' copy of the balance was missing and is restored too, as the
    wallet's own read restores it (``wallet.selectors.wallet_balance``: a newer value written meanwhile wins)."""

    user_id: int
    version: str
    generation: str
    snapshot: bytes
    balance: tuple[int, int] | None = None


def fills_write(fills: Sequence[Fill]) -> int:
    """Store snapshots (one script call per generation, usually one). Returns how many were stored."""
    if not fills:
        return 0
    ttl = settings.RECOMMENDATION_CONTEXT_TTL_SECONDS
    stored = 0
    by_generation: dict[str, list[Fill]] = {}
    for fill in fills:
        by_generation.setdefault(fill.generation, []).append(fill)
    for generation, group in by_generation.items():
        keys = [GENERATION_KEY, *(key_context(f.user_id) for f in group)]
        args: list[Any] = [generation, ttl]
        for f in group:
            args += [f.version, f.snapshot]
        stored += int(hot_store.run_script(_FILL, keys, args))
    balances = {f.user_id: f.balance for f in fills if f.balance is not None}
    if balances:
        balance_cache_set(balances, force=True)
    return stored


_fills: WriteBehind[Fill] | None = None
_fills_lock = threading.Lock()


def fill_buffer() -> WriteBehind[Fill]:
    """This process's buffer of snapshots to store: a request that read its context from the database hands its
    snapshot here and returns; a thread stores the buffer in one script call every
    ``RECOMMENDATION_CONTEXT_FILL_SECONDS`` (or at 500 snapshots). A lost fill costs a database read later."""
    global _fills
    if _fills is None:
        with _fills_lock:
            if _fills is None:
                _fills = WriteBehind(
                    fills_write,
                    name="recommendation-context-fill",
                    max_rows=500,
                    max_age=settings.RECOMMENDATION_CONTEXT_FILL_SECONDS,
                )
    return _fills


def versions_read(user_ids: Sequence[int]) -> tuple[str, list[str], list[bool]]:
    """The generation, each player's ``v`` and whether Redis has a copy of each balance: one round trip (the
    nightly build reads them before its database read of a range)."""
    pipe = hot_store.redis().pipeline(transaction=False)
    pipe.get(GENERATION_KEY)
    for user_id in user_ids:
        pipe.hget(key_context(user_id), "v")
    for user_id in user_ids:
        pipe.exists(key_balance(user_id))
    answers = pipe.execute()
    n = len(user_ids)
    return text(answers[0]), [text(v) for v in answers[1 : 1 + n]], [bool(e) for e in answers[1 + n :]]


# --- invalidation: after a write commits ----------------------------------------------------------------------

EVERYONE = 0  # in the retry buffer: the generation (player ids start at 1)


def _invalidate_now(user_ids: Sequence[int]) -> None:
    """One round trip: the players' ``v`` incremented and ``c`` dropped; with EVERYONE, the generation too."""
    players = [u for u in user_ids if u != EVERYONE]
    if len(players) < len(user_ids):
        hot_store.redis().incr(GENERATION_KEY)
    if players:
        hot_store.run_script(
            _INVALIDATE, [key_context(u) for u in players], [settings.RECOMMENDATION_CONTEXT_TTL_SECONDS]
        )


def _invalidate_retry(rows: list[int]) -> None:
    _invalidate_now(sorted(set(rows)))


_retry: WriteBehind[int] | None = None
_retry_lock = threading.Lock()


def _retry_buffer() -> WriteBehind[int]:
    global _retry
    if _retry is None:
        with _retry_lock:
            if _retry is None:
                _retry = WriteBehind(
                    _invalidate_retry, name="recommendation-context-invalidate", max_rows=5000, max_age=1.0, retry=True
                )
    return _retry


def _after_commit(ids: list[int]) -> None:
    def run() -> None:
        try:
            _invalidate_now(ids)
        except Exception:
            logger.exception(
                "recommendation snapshots not retired yet (%s); retrying",
                "all" if EVERYONE in ids else f"{len(ids)} players",
            )
            _retry_buffer().add(ids)

    transaction.on_commit(run)


def snapshot_invalidate(user_ids: Iterable[int]) -> None:
    """The players' snapshots no longer hold: increment their ``v`` and drop ``c``, once the current transaction
    commits (at once outside one). Call it for every write to what a snapshot holds. A failure is logged and
    retried in the background until Redis takes it."""
    ids = sorted({int(u) for u in user_ids})
    if ids and hot_store.is_redis:
        _after_commit(ids)


def generation_bump() -> None:
    """No snapshot made before now holds any more (a nightly job changed many players): the generation is
    incremented once the current transaction commits. A failure is logged and retried like an invalidation."""
    if hot_store.is_redis:
        _after_commit([EVERYONE])


# --- snapshot encoding -----------------------------------------------------------------------------------------


def month_stamp(month_start: dt.datetime) -> int:
    return int(month_start.timestamp())


def snapshot_encode(*, generation: str, month_start: dt.datetime, fields: Sequence[Any]) -> bytes:
    return orjson.dumps([generation, month_stamp(month_start), *fields])


def snapshot_decode(raw: bytes, *, generation: str, month_start: dt.datetime) -> list[Any] | None:
    """The snapshot's fields, or None when it was made under another generation or for another month."""
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        logger.warning("unreadable recommendation snapshot ignored")
        return None
    if type(value) is not list or len(value) < 2 or value[0] != generation or value[1] != month_stamp(month_start):
        return None
    return value[2:]
