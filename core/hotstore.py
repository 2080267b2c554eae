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
from redis.commands.core import Script


def raw_cache_key(key: str, key_prefix: str, version: int) -> str:
    """Cache KEY_FUNCTION that keeps the key exactly as given (``user:42:streak_count``)."""
    return key


def key_last_action_ts(player_id: int) -> str:
    return f"user:{player_id}:last_action_ts"


def key_streak_count(player_id: int) -> str:
    return f"user:{player_id}:streak_count"


def key_last_loss_ts(player_id: int) -> str:
    """Time of the player's last loss (GAME_PLAY loss or FAIL_GAME): Unix seconds, microseconds as a fraction."""
    return f"user:{player_id}:last_loss_ts"


def key_streak_wins(player_id: int) -> str:
    """Sorted set of the GAME_PLAY wins after the last loss: member event_id, score Unix seconds."""
    return f"user:{player_id}:streak_wins"


@dataclass(frozen=True)
class ActivityUpdate:
    """What one batch does to a player's hot metrics (applied whatever order batches arrive in).

    ``last_action_ts``: newest action in the batch (Unix seconds); the stored value only moves forward.
    ``last_loss_ts``: newest loss in the batch (Unix seconds, fractional), None when it holds none;
    the stored last loss only moves forward.
    ``wins``: the batch's GAME_PLAY wins after its own last loss, as (event_id, Unix seconds).
    The streak is then the number of stored wins strictly after the stored last loss.
    """

    last_action_ts: int
    last_loss_ts: float | None = None
    wins: tuple[tuple[str, float], ...] = ()

    @property
    def has_game_result(self) -> bool:
        return self.last_loss_ts is not None or bool(self.wins)


_SCRIPTS: list[Script] = []


def hot_script(lua: str) -> Script:
    """redis-py's ``Script`` for ``lua``, bound to no client: ``hot_store.run_script`` runs it on the hot store's
    Redis (EVALSHA, one round trip; a new or restarted Redis gets it loaded on its first NOSCRIPT)."""
    script = Script(None, lua.encode())  # type: ignore[arg-type]  # bytes need no client's encoder
    _SCRIPTS.append(script)
    return script


# One script call per batch: atomic, and a single round trip whatever the batch size.
# Per player, KEYS: last_action_ts, streak_count, last_loss_ts, streak_wins; ARGV: last action time,
# last loss time ('' for none), the number n of wins, then n pairs (event_id, time). Times are passed
# and stored as the client wrote them (Lua would print numbers with 14 digits only, losing microseconds).
_APPLY_ACTIVITY_LUA = """
local a = 1
for i = 1, #KEYS, 4 do
  local ts, loss, n = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  local w0 = a + 3
  a = w0 + 2 * n
  local cur = tonumber(redis.call('GET', KEYS[i]) or '0')
  if cur == nil or cur < tonumber(ts) then redis.call('SET', KEYS[i], ts) end
  if loss ~= '' or n > 0 then
    local last_loss = redis.call('GET', KEYS[i + 2])
    local ll = nil
    if last_loss then ll = tonumber(last_loss) end
    if loss ~= '' and (ll == nil or ll < tonumber(loss)) then
      redis.call('SET', KEYS[i + 2], loss)
      last_loss, ll = loss, tonumber(loss)
    end
    for w = w0, a - 1, 2 do
      if ll == nil or tonumber(ARGV[w + 1]) > ll then redis.call('ZADD', KEYS[i + 3], ARGV[w + 1], ARGV[w]) end
    end
    if ll ~= nil then redis.call('ZREMRANGEBYSCORE', KEYS[i + 3], '-inf', last_loss) end
    redis.call('SET', KEYS[i + 1], redis.call('ZCARD', KEYS[i + 3]))
  end
end
return #KEYS / 4
"""
_APPLY_ACTIVITY = hot_script(_APPLY_ACTIVITY_LUA)

# KEYS: the plain keys, then the sorted sets. ARGV: the number of plain keys, their values, then per
# sorted set its member count m and m pairs (score, member). A sorted set counts as missing when absent.
_FILL_MISSING_LUA = """
local n = 0
local nv = tonumber(ARGV[1])
for i = 1, nv do
  if redis.call('SET', KEYS[i], ARGV[i + 1], 'NX') then n = n + 1 end
end
local a = nv + 2
for i = nv + 1, #KEYS do
  local m = tonumber(ARGV[a])
  local w0 = a + 1
  a = w0 + 2 * m
  if m > 0 and redis.call('EXISTS', KEYS[i]) == 0 then
    for w = w0, a - 1, 2 do redis.call('ZADD', KEYS[i], ARGV[w], ARGV[w + 1]) end
    n = n + 1
  end
end
return n
"""
_FILL_MISSING = hot_script(_FILL_MISSING_LUA)


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

    def run_script(self, script: Script, keys: list[str], args: list[Any]) -> Any:
        return script(keys=keys, args=args, client=self.redis())

    def load_scripts(self) -> None:
        """Load every script into Redis now (their first run is then one round trip too)."""
        client = self.redis()
        for script in _SCRIPTS:
            client.script_load(script.script)

    def apply_activity(self, updates: Mapping[int, ActivityUpdate]) -> None:
        if not updates:
            return
        if self.is_redis:
            keys: list[str] = []
            args: list[Any] = []
            for user_id, u in updates.items():
                keys += [
                    key_last_action_ts(user_id),
                    key_streak_count(user_id),
                    key_last_loss_ts(user_id),
                    key_streak_wins(user_id),
                ]
                args += [u.last_action_ts, "" if u.last_loss_ts is None else u.last_loss_ts, len(u.wins)]
                for event_id, ts in u.wins:
                    args += [event_id, ts]
            self.run_script(_APPLY_ACTIVITY, keys, args)
            return
        self._apply_activity_locally(updates)

    def _apply_activity_locally(self, updates: Mapping[int, ActivityUpdate]) -> None:
        """The Lua script's rules on the local-memory cache (the sorted set is a dict event_id -> time)."""
        cache = self.cache
        keys = [k for uid in updates for k in (key_last_action_ts(uid), key_last_loss_ts(uid), key_streak_wins(uid))]
        current = cache.get_many(keys)
        new: dict[str, Any] = {}
        emptied: list[str] = []
        for user_id, u in updates.items():
            ts_key = key_last_action_ts(user_id)
            if int(current.get(ts_key) or 0) < u.last_action_ts:
                new[ts_key] = u.last_action_ts
            if not u.has_game_result:
                continue
            loss_key, wins_key = key_last_loss_ts(user_id), key_streak_wins(user_id)
            last_loss: float | None = current.get(loss_key)
            if u.last_loss_ts is not None and (last_loss is None or last_loss < u.last_loss_ts):
                last_loss = new[loss_key] = u.last_loss_ts
            wins: dict[str, float] = {**current.get(wins_key, {}), **dict(u.wins)}
            if last_loss is not None:
                wins = {event_id: ts for event_id, ts in wins.items() if ts > last_loss}
            if wins:
                new[wins_key] = wins
            else:
                emptied.append(wins_key)  # as in Redis: an empty sorted set does not exist
            new[key_streak_count(user_id)] = len(wins)
        cache.set_many(new, timeout=None)
        if emptied:
            cache.delete_many(emptied)

    def fill_missing(
        self, values: Mapping[str, float], sorted_sets: Mapping[str, Mapping[str, float]] | None = None
    ) -> int:
        """Set keys that are absent (after a flush), never overwriting live values. Returns how many were set.

        ``sorted_sets``: {key: {member: score}}, written whole where the key is absent.
        """
        sorted_sets = {k: v for k, v in (sorted_sets or {}).items() if v}
        if not values and not sorted_sets:
            return 0
        if self.is_redis:
            keys = [*values, *sorted_sets]
            args: list[Any] = [len(values), *values.values()]
            for members in sorted_sets.values():
                args.append(len(members))
                for member, score in members.items():
                    args += [score, member]
            return int(self.run_script(_FILL_MISSING, keys, args))
        wanted: dict[str, Any] = {**values, **{k: dict(v) for k, v in sorted_sets.items()}}
        present = self.cache.get_many(list(wanted))
        missing = {k: v for k, v in wanted.items() if k not in present}
        self.cache.set_many(missing, timeout=None)
        return len(missing)

    def streak_state(self, player_id: int) -> tuple[float | None, dict[str, float]]:
        """(last loss time, {event_id: time} of the wins after it) as stored: for checks and tests."""
        if self.is_redis:
            pipe = self.redis().pipeline(transaction=False)
            pipe.get(key_last_loss_ts(player_id))
            pipe.zrange(key_streak_wins(player_id), 0, -1, withscores=True)
            loss, wins = pipe.execute()
            return (None if loss is None else float(loss)), {
                (m.decode() if isinstance(m, bytes) else m): float(s) for m, s in wins
            }
        values = self.cache.get_many([key_last_loss_ts(player_id), key_streak_wins(player_id)])
        return values.get(key_last_loss_ts(player_id)), dict(values.get(key_streak_wins(player_id), {}))

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
