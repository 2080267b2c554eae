"""The hot-metric keyspace (spec 2.6 "Redis Keys"): exact key names, no prefix.

With REDIS_URL it is Redis itself, reached in one round trip per call; on the
embedded default it is a local-memory cache with the same raw key names. Redis
holds only what can be rebuilt from the database (design brief section 2).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches


def raw_cache_key(key: str, key_prefix: str, version: int) -> str:
    """Cache KEY_FUNCTION that keeps the key exactly as given (``user:42:streak_count``)."""
    return key


def key_last_action_ts(user_id: int) -> str:
    return f"user:{user_id}:last_action_ts"


def key_streak_count(user_id: int) -> str:
    return f"user:{user_id}:streak_count"


@dataclass(frozen=True)
class ActivityUpdate:
    """What one batch does to a player's hot metrics.

    ``last_action_ts``: newest action in the batch (Unix seconds); the stored value only moves forward.
    ``streak_mode``: "set" (a loss happened: streak becomes ``streak_value``, the wins after the last
    loss), "incr" (only wins: streak grows by ``streak_value``) or "none" (no mini-game result).
    """

    last_action_ts: int
    streak_mode: str = "none"
    streak_value: int = 0


# One script call per batch: atomic, and a single round trip whatever the batch size.
_APPLY_ACTIVITY_LUA = """
for i = 1, #KEYS, 2 do
  local j = (i - 1) / 2 * 3
  local ts = tonumber(ARGV[j + 1])
  local mode = ARGV[j + 2]
  local n = tonumber(ARGV[j + 3])
  local cur = tonumber(redis.call('GET', KEYS[i]) or '0')
  if cur == nil or cur < ts then redis.call('SET', KEYS[i], ts) end
  if mode == 'set' then
    redis.call('SET', KEYS[i + 1], n)
  elseif mode == 'incr' and n > 0 then
    redis.call('INCRBY', KEYS[i + 1], n)
  end
end
return #KEYS / 2
"""

_FILL_MISSING_LUA = """
local n = 0
for i = 1, #KEYS do
  if redis.call('SET', KEYS[i], ARGV[i], 'NX') then n = n + 1 end
end
return n
"""


class HotStore:
    def __init__(self, alias: str = "hot") -> None:
        self.alias = alias

    @property
    def cache(self) -> Any:
        return caches[self.alias]

    @property
    def is_redis(self) -> bool:
        return type(self.cache).__module__.startswith("django_redis")

    def redis(self) -> Any:
        from django_redis import get_redis_connection

        return get_redis_connection(self.alias)

    def apply_activity(self, updates: Mapping[int, ActivityUpdate]) -> None:
        if not updates:
            return
        if self.is_redis:
            keys: list[str] = []
            args: list[Any] = []
            for user_id, u in updates.items():
                keys += [key_last_action_ts(user_id), key_streak_count(user_id)]
                args += [u.last_action_ts, u.streak_mode, u.streak_value]
            self.redis().eval(_APPLY_ACTIVITY_LUA, len(keys), *keys, *args)
            return
        cache = self.cache
        keys = [k for uid in updates for k in (key_last_action_ts(uid), key_streak_count(uid))]
        current = cache.get_many(keys)
        new: dict[str, int] = {}
        for user_id, u in updates.items():
            ts_key, streak_key = key_last_action_ts(user_id), key_streak_count(user_id)
            if int(current.get(ts_key) or 0) < u.last_action_ts:
                new[ts_key] = u.last_action_ts
            if u.streak_mode == "set":
                new[streak_key] = u.streak_value
            elif u.streak_mode == "incr" and u.streak_value > 0:
                new[streak_key] = int(current.get(streak_key) or 0) + u.streak_value
        cache.set_many(new, timeout=None)

    def fill_missing(self, values: Mapping[str, int]) -> int:
        """Set keys that are absent (after a flush), never overwriting live values. Returns how many were set."""
        if not values:
            return 0
        if self.is_redis:
            keys = list(values)
            return int(self.redis().eval(_FILL_MISSING_LUA, len(keys), *keys, *[values[k] for k in keys]))
        present = self.cache.get_many(list(values))
        missing = {k: v for k, v in values.items() if k not in present}
        self.cache.set_many(missing, timeout=None)
        return len(missing)

    def get_many(self, keys: Iterable[str]) -> dict[str, int]:
        keys = list(keys)
        if not keys:
            return {}
        if self.is_redis:
            values = self.redis().mget(keys)
            return {k: int(float(v)) for k, v in zip(keys, values, strict=True) if v is not None}
        return {k: int(v) for k, v in self.cache.get_many(keys).items()}

    def ping(self) -> bool:
        if self.is_redis:
            return bool(self.redis().ping())
        self.cache.set("health:ping", 1, timeout=5)
        return self.cache.get("health:ping") == 1

    def flush(self) -> None:
        """Empty the keyspace (tests and benchmarks only)."""
        if self.is_redis:
            self.redis().flushdb()
        else:
            self.cache.clear()


hot_store = HotStore()
