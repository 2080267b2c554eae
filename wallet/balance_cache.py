"""Redis' copy of each balance: ``user:{id}:cyber_token_balance`` (spec 2.6, exact name).

Beside it ``user:{id}:cyber_token_balance_seq`` holds the ledger row id that produced the value, and
a write only lands when its id is newer, so commits finishing out of order never leave an older
balance in Redis. The copy is for reads; a spend is always decided on the database row.

Both keys expire ``settings.WALLET_BALANCE_CACHE_SECONDS`` after the write that set them, and the next read refills
them from the database. So a write that failed (Redis down or hung just then, the process killed between commit and
the write) leaves a stale balance served for at most that long, whoever missed it: no repair has to remember it
(conventions item 16; docs/decisions/0023).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import NamedTuple

from django.conf import settings

from core.hotstore import hot_script, hot_store
from core.redis_faults import redis_failure_record

logger = logging.getLogger(__name__)

# Per player two keys (balance, its sequence number) and three arguments (balance, sequence number, force); last,
# the keys' time to live in milliseconds.
_SET_IF_NEWER_LUA = """
local n = 0
local ttl = ARGV[#ARGV]
for i = 1, #KEYS, 2 do
  local j = (i - 1) / 2 * 3
  local seq = tonumber(ARGV[j + 2])
  local cur = tonumber(redis.call('GET', KEYS[i + 1]) or '-1')
  if seq > cur or (ARGV[j + 3] == '1' and seq >= cur) then
    redis.call('SET', KEYS[i], ARGV[j + 1], 'PX', ttl)
    redis.call('SET', KEYS[i + 1], seq, 'PX', ttl)
    n = n + 1
  end
end
return n
"""
_SET_IF_NEWER = hot_script(_SET_IF_NEWER_LUA)


def key_balance(player_id: int) -> str:
    return f"user:{player_id}:cyber_token_balance"


def key_balance_seq(player_id: int) -> str:
    return f"user:{player_id}:cyber_token_balance_seq"


def _ttl_ms() -> int:
    return max(1, round(settings.WALLET_BALANCE_CACHE_SECONDS * 1000))


def balance_cache_set(values: Mapping[int, tuple[int, int]], *, force: bool = False) -> int:
    """Write ``{user_id: (balance, ledger_seq)}`` where newer (or, with force, not older), each expiring after
    ``WALLET_BALANCE_CACHE_SECONDS``. One round trip."""
    if not values:
        return 0
    if hot_store.is_redis:
        keys: list[str] = []
        args: list[int | str] = []
        for user_id, (balance, seq) in values.items():
            keys += [key_balance(user_id), key_balance_seq(user_id)]
            args += [balance, seq, "1" if force else "0"]
        args.append(_ttl_ms())
        return int(hot_store.run_script(_SET_IF_NEWER, keys, args))
    cache = hot_store.cache
    written = 0
    current = cache.get_many([key_balance_seq(u) for u in values])
    for user_id, (balance, seq) in values.items():
        cur = int(current.get(key_balance_seq(user_id), -1))
        if seq > cur or (force and seq >= cur):
            cache.set_many(
                {key_balance(user_id): balance, key_balance_seq(user_id): seq},
                timeout=settings.WALLET_BALANCE_CACHE_SECONDS,
            )
            written += 1
    return written


_REPLACE_IF_SEQ_LUA = """
local n = 0
local ttl = ARGV[#ARGV]
for i = 1, #KEYS, 2 do
  local j = (i - 1) / 2 * 3
  if redis.call('GET', KEYS[i + 1]) == ARGV[j + 3] then
    redis.call('SET', KEYS[i], ARGV[j + 1], 'PX', ttl)
    redis.call('SET', KEYS[i + 1], ARGV[j + 2], 'PX', ttl)
    n = n + 1
  end
end
return n
"""
_REPLACE_IF_SEQ = hot_script(_REPLACE_IF_SEQ_LUA)


def balance_cache_replace(values: Mapping[int, tuple[int, int, int]]) -> int:
    """Write ``{user_id: (balance, ledger_seq, expected_seq)}`` where Redis still holds ``expected_seq``,
    even when that is higher (reconciliation replacing a sequence number no committed row has)."""
    if not values:
        return 0
    if hot_store.is_redis:
        keys: list[str] = []
        args: list[int | str] = []
        for user_id, (balance, seq, expected) in values.items():
            keys += [key_balance(user_id), key_balance_seq(user_id)]
            args += [balance, seq, str(expected)]
        args.append(_ttl_ms())
        return int(hot_store.run_script(_REPLACE_IF_SEQ, keys, args))
    cache = hot_store.cache
    current = cache.get_many([key_balance_seq(u) for u in values])
    written = 0
    for user_id, (balance, seq, expected) in values.items():
        if current.get(key_balance_seq(user_id)) == expected:
            cache.set_many(
                {key_balance(user_id): balance, key_balance_seq(user_id): seq},
                timeout=settings.WALLET_BALANCE_CACHE_SECONDS,
            )
            written += 1
    return written


class CachedBalance(NamedTuple):
    """What Redis' copy said: the balance (None when it has none) and whether Redis answered at all."""

    balance: int | None
    reachable: bool


def balance_cache_get(player_id: int) -> CachedBalance:
    """The cached balance; None when it is missing (expired, flushed) or Redis cannot be reached (down, or no answer
    within ``REDIS_SOCKET_TIMEOUT_SECONDS``: logged and counted)."""
    try:
        return CachedBalance(hot_store.get_many([key_balance(player_id)]).get(key_balance(player_id)), True)
    except Exception as exc:  # noqa: BLE001 - Redis down or hung: the database answers; logged by redis_failure_record
        redis_failure_record(logger, exc, "balance cache unreachable for player %s", player_id)
        return CachedBalance(None, False)


def balance_cache_set_quietly(player_id: int, balance: int, seq: int, *, force: bool = False) -> None:
    """After-commit hook and read refill: a failure is logged and counted, and leaves the key missing or stale; a
    stale one expires within ``WALLET_BALANCE_CACHE_SECONDS`` of its own write (reads then refill it), unless a later
    write or the nightly reconciliation replaces it first."""
    try:
        balance_cache_set({player_id: (balance, seq)}, force=force)
    except Exception as exc:  # noqa: BLE001 - logged by redis_failure_record
        redis_failure_record(logger, exc, "balance cache update failed for player %s", player_id)
