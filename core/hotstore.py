"""The hot-metric keyspace (spec 2.6 "Redis Keys"): exact key names, no prefix.

With REDIS_URL it is Redis itself, reached in one round trip per call; on the
embedded default it is a local-memory cache with the same raw key names. Redis
holds only what can be rebuilt from the database (design brief section 2).
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from django.conf import settings
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


def key_live(player_id: int) -> str:
    """The player's live state (players.live_harm), ``LIVE_FIELDS`` packed as 64-bit integers: the losing run, the
    play session and its reality-check step, the last chasing bet, the session before. Expires a day after the last
    write."""
    return f"user:{player_id}:live"


def key_spends(player_id: int) -> str:
    """Sorted set of the player's spends in the velocity window: member ``event_id:tokens``, score the time (ms)."""
    return f"user:{player_id}:spends"


def key_spend_norm(player_id: int) -> str:
    """The player's median daily spend, written by the nightly harm-marker batch (expires after two days)."""
    return f"user:{player_id}:spend_norm"


# The live state's fields, in the stored string's order: losing run (length, first bet, time of the last round
# counted), play session (start, last round or spend, net tokens of its rounds, rounds, reality-check step), last
# chasing bet (time, run length after it, the run's first bet, the bet; time 0: none yet), and the session before
# (start, last, net, rounds, reality-check step; start 0: none), kept so that a late round or spend that falls in the
# gap between the two, close enough to both, joins them into one session as in time order.
LIVE_FIELDS = ("rn", "rf", "rt", "ss", "sl", "sn", "sr", "rc", "ca", "cn", "cf", "cb", "ps", "pl", "pn", "pr", "pc")
_LIVE_PACKING = struct.Struct(">17q")  # as the script packs them: '>i8' seventeen times


class LiveEvent(NamedTuple):
    """Play as the live state needs it. ``kind``: W/L a GAME_PLAY round won/lost (``amount`` the bet, ``extra`` the
    payout), F a failed game, S a spend (``amount`` the tokens, ``extra`` the event id). Time in Unix milliseconds."""

    at_ms: int
    kind: str
    amount: int = 0
    extra: int | str = 0


class LiveParams(NamedTuple):
    """The live state's rules that the script applies (from settings.LIVE_HARM_SIGNALS and REALITY_CHECK_*)."""

    session_gap_ms: int = 30 * 60_000
    chase_min_losses: int = 3
    chase_bet_ratio: float = 2.0
    reality_check_step_ms: int = 15 * 60_000
    ttl_ms: int = 86_400_000
    spend_window_ms: int = 60 * 60_000


class SessionStep(NamedTuple):
    """A session that passed one more reality-check step in a batch: steps (prev, step] are new."""

    player_id: int
    prev_step: int
    step: int
    session_start_ms: int
    session_last_ms: int
    session_net: int


@dataclass(frozen=True)
class ActivityUpdate:
    """What one batch does to a player's hot metrics (applied whatever order batches arrive in).

    ``last_action_ts``: newest action in the batch (Unix seconds); the stored value only moves forward.
    ``last_loss_ts``: newest loss in the batch (Unix seconds, fractional), None when it holds none;
    the stored last loss only moves forward.
    ``wins``: the batch's GAME_PLAY wins after its own last loss, as (event_id, Unix seconds).
    The streak is then the number of stored wins strictly after the stored last loss.
    ``events``: the batch's play (rounds and spends) for the live state, in time order.
    """

    last_action_ts: int
    last_loss_ts: float | None = None
    wins: tuple[tuple[str, float], ...] = ()
    events: tuple[LiveEvent, ...] = ()

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
# ARGV starts with the live rules (LiveParams, 6 values), the number of streak KEYS and the number m of players who
# played. Then, per player, KEYS: last_action_ts, streak_count, last_loss_ts, streak_wins; ARGV: last action time,
# last loss time ('' for none), the number n of wins, then n pairs (event_id, time). Then, per player who played (only
# they: the others cost what they did before the live state), KEYS: live; ARGV: the play as one JSON array of
# [time ms, kind, amount, extra]; and last, KEYS: spends, one per player whose play holds a spend, in the same order.
# Times are passed and stored as the client wrote them
# (Lua would print numbers with 14 digits only, losing microseconds; the live state's milliseconds have 13). The
# live state is the LIVE_FIELDS' numbers packed as seventeen big-endian 64-bit integers (Redis' struct library: a GET
# and a SET with its expiry; 0 for no chasing bet yet; a third of the cost of JSON, text or a hash in Lua, measured).
# Returns the sessions that passed a
# reality-check step: flat (the player's place among the m, previous step, step, session start, last action, net
# tokens).
_APPLY_ACTIVITY_LUA = """
local LIVE = '>i8i8i8i8i8i8i8i8i8i8i8i8i8i8i8i8i8'
local SIZE = 136  -- bytes: anything else (an older layout) starts afresh
local gap, min_losses, ratio, step = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local ttl, window, streak_keys, played = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local due = {}
local a = 9
for i = 1, streak_keys, 4 do
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
local sk = streak_keys + played + 1  -- the next spends key
for j = 1, played do
  local ev = ARGV[a]
  a = a + 1
  do
    local live, spends = KEYS[streak_keys + j], nil
    local rn, rf, rt, ss, sl, sn, sr, rc, ca, cn, cf, cb = 0, 0, 0, nil, nil, 0, 0, 0, 0, 0, 0, 0
    local ps, pl, pn, pr, pc = 0, 0, 0, 0, 0
    local stored = redis.call('GET', live)
    if stored and #stored == SIZE then
      rn, rf, rt, ss, sl, sn, sr, rc, ca, cn, cf, cb, ps, pl, pn, pr, pc = struct.unpack(LIVE, stored)
    end
    local rc0, newest = rc, nil
    for _, e in ipairs(cjson.decode(ev)) do
      local t, kind, x, y = e[1], e[2], e[3], e[4]
      if kind == 'S' then
        if spends == nil then spends, sk = KEYS[sk], sk + 1 end
        redis.call('ZADD', spends, t, y .. ':' .. string.format('%d', x))
        if newest == nil or t > newest then newest = t end
      end
      local counted = true
      if sl == nil or t > sl + gap then
        if sl ~= nil then ps, pl, pn, pr, pc = ss, sl, sn, sr, rc end
        ss, sl, sn, sr, rc, rc0, rn, rf = t, t, 0, 0, 0, 0, 0, 0
      elseif t > sl then
        sl = t
      elseif t < ss - gap then
        counted = false
      elseif t < ss then
        if ps > 0 and t <= pl + gap then  -- late, in the gap and close to both: one session, as in time order
          ss, sn, sr, rc, rc0, ps = ps, sn + pn, sr + pr, pc, pc, 0
        else
          ss = t
        end
      end
      if counted and (kind == 'W' or kind == 'L') then
        sn = sn + y - x
        sr = sr + 1
        if t >= rt then
          if rn >= min_losses and x > rf and x >= ratio * rf then
            ca, cf, cb, cn = t, rf, x, 0
            if kind == 'L' then cn = rn + 1 end
          end
          if kind == 'L' then
            if rn == 0 then rf = x end
            rn = rn + 1
          else
            rn = 0
          end
          rt = t
        end
      end
    end
    local s = math.floor((sl - ss) / step)
    if s > rc then
      for _, x in ipairs({j, rc0, s, ss, sl, sn}) do table.insert(due, x) end
      rc = s
    end
    local packed = struct.pack(LIVE, rn, rf, rt, ss, sl, sn, sr, rc, ca, cn, cf, cb, ps, pl, pn, pr, pc)
    redis.call('SET', live, packed, 'PX', ttl)
    if newest then
      redis.call('ZREMRANGEBYSCORE', spends, '-inf', '(' .. string.format('%.0f', newest - window))
      redis.call('PEXPIRE', spends, window)
    end
  end
end
return due
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

# What a recommendation reads, as one command (a script: one reply for the client to parse, where a pipeline of four
# costs the web process more). KEYS: streak_count, live, spends, spend_norm; ARGV: since (exclusive), now, in ms.
_LIVE_READ_LUA = """
return {redis.call('GET', KEYS[1]) or false, redis.call('GET', KEYS[2]) or false,
  redis.call('ZRANGEBYSCORE', KEYS[3], '(' .. ARGV[1], ARGV[2], 'WITHSCORES'), redis.call('GET', KEYS[4]) or false}
"""
_LIVE_READ = hot_script(_LIVE_READ_LUA)


def _member_tokens(member: Any) -> int:
    """The tokens of a spends member ``event_id:tokens``."""
    text = member.decode() if isinstance(member, bytes) else member
    return int(text.rsplit(":", 1)[1])


def _live_step(
    player_id: int, state: dict[str, int], spends: dict[str, int], events: Iterable[LiveEvent], live: LiveParams
) -> SessionStep | None:
    """The script's live-state rules in Python (the embedded default): updates ``state`` and ``spends`` in place;
    returns the session's new reality-check step, if it passed one."""
    rn, rf, rt = state.get("rn", 0), state.get("rf", 0), state.get("rt", 0)
    ss, sl = state.get("ss"), state.get("sl")
    sn, sr, rc = state.get("sn", 0), state.get("sr", 0), state.get("rc", 0)
    ps, pl, pn, pr, pc = (state.get(k, 0) for k in ("ps", "pl", "pn", "pr", "pc"))
    rc0 = rc
    gap = live.session_gap_ms
    for e in events:
        t, kind, x = e.at_ms, e.kind, e.amount
        if kind == "S":
            spends[f"{e.extra}:{x}"] = t
        counted = True
        if ss is None or sl is None or t > sl + gap:
            if ss is not None and sl is not None:
                ps, pl, pn, pr, pc = ss, sl, sn, sr, rc
            ss, sl, sn, sr, rc, rc0, rn, rf = t, t, 0, 0, 0, 0, 0, 0
        elif t > sl:
            sl = t
        elif t < ss - gap:
            counted = False
        elif t < ss:
            if ps > 0 and t <= pl + gap:  # late, in the gap and close to both: one session, as in time order
                ss, sn, sr, rc, rc0, ps = ps, sn + pn, sr + pr, pc, pc, 0
            else:
                ss = t
        if counted and kind in ("W", "L"):
            sn += int(e.extra) - x
            sr += 1
            if t >= rt:
                if rn >= live.chase_min_losses and x > rf and x >= live.chase_bet_ratio * rf:
                    state.update(ca=t, cn=rn + 1 if kind == "L" else 0, cf=rf, cb=x)
                if kind == "L":
                    if rn == 0:
                        rf = x
                    rn += 1
                else:
                    rn = 0
                rt = t
    if ss is None or sl is None:
        return None
    state.update(rn=rn, rf=rf, rt=rt, ss=ss, sl=sl, sn=sn, sr=sr, ps=ps, pl=pl, pn=pn, pr=pr, pc=pc)
    step = (sl - ss) // live.reality_check_step_ms
    state["rc"] = max(rc, step)
    if step > rc:
        return SessionStep(player_id, rc0, step, ss, sl, sn)
    return None


@functools.lru_cache(maxsize=8)
def _bulk_client(url: str, connect_timeout: float, socket_timeout: float) -> Any:
    """A client of its own for bulk calls (its own pool: django-redis keeps one pool per URL, whatever the timeouts)."""
    import redis

    from core.redis_faults import FailFastConnectionPool

    pool = FailFastConnectionPool.from_url(url, socket_connect_timeout=connect_timeout, socket_timeout=socket_timeout)
    return redis.Redis(connection_pool=pool)


class HotStore:
    """Redis calls time out (docs/decisions/0023): a call about a few keys (at most ``settings.REDIS_BULK_KEYS``, what
    a request for one player sends) after ``REDIS_SOCKET_TIMEOUT_SECONDS``, through the cache's django-redis client;
    a bulk call after ``REDIS_BULK_SOCKET_TIMEOUT_SECONDS``, through a client of its own. A timeout raises redis-py's
    ``TimeoutError`` (a ``RedisError``), which every caller on the request path catches and falls back from; for
    ``REDIS_RETRY_AFTER_SECONDS`` after it, every call raises ``core.redis_faults.RedisPaused`` at once."""

    def __init__(self, alias: str = "hot") -> None:
        self.alias = alias

    @property
    def cache(self) -> Any:
        return caches[self.alias]

    @property
    def is_redis(self) -> bool:
        return type(self.cache).__module__.startswith("django_redis")

    def redis(self, *, bulk: bool = False) -> Any:
        """The Redis client: for a call about a few keys, or (``bulk``) one whose answer may take longer."""
        if bulk:
            location = settings.CACHES[self.alias]["LOCATION"]
            url = location if isinstance(location, str) else location[0]
            return _bulk_client(url, settings.REDIS_CONNECT_TIMEOUT_SECONDS, settings.REDIS_BULK_SOCKET_TIMEOUT_SECONDS)
        from django_redis import get_redis_connection

        return get_redis_connection(self.alias)

    def is_bulk(self, keys: int) -> bool:
        return keys > settings.REDIS_BULK_KEYS

    def run_script(self, script: Script, keys: list[str], args: list[Any]) -> Any:
        return script(keys=keys, args=args, client=self.redis(bulk=self.is_bulk(len(keys))))

    def load_scripts(self) -> None:
        """Load every script into Redis now (their first run is then one round trip too)."""
        client = self.redis()
        for script in _SCRIPTS:
            client.script_load(script.script)

    def apply_activity(
        self, updates: Mapping[int, ActivityUpdate], live: LiveParams | None = None
    ) -> list[SessionStep]:
        """Apply a batch's updates (streaks and live state) in one round trip; returns the sessions that passed a
        reality-check step (``live.reality_check_step_ms``) in this batch, each step reported once."""
        if not updates:
            return []
        live = live or LiveParams()
        if self.is_redis:
            keys: list[str] = []
            played = [(user_id, u.events) for user_id, u in updates.items() if u.events]
            args: list[Any] = [*live, 4 * len(updates), len(played)]
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
            for user_id, events in played:
                keys.append(key_live(user_id))
                args.append(orjson.dumps(events, default=tuple))  # [[time, kind, amount, extra], ...]
            keys += [key_spends(user_id) for user_id, events in played if any(e.kind == "S" for e in events)]
            flat = self.run_script(_APPLY_ACTIVITY, keys, args)
            return [
                SessionStep(played[int(flat[i]) - 1][0], *map(int, flat[i + 1 : i + 6])) for i in range(0, len(flat), 6)
            ]
        self._apply_activity_locally(updates)
        return self._apply_live_locally(updates, live)

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

    def _apply_live_locally(self, updates: Mapping[int, ActivityUpdate], live: LiveParams) -> list[SessionStep]:
        """The Lua script's live-state rules on the local-memory cache (the hash a dict, the spends a dict
        member -> time)."""
        cache = self.cache
        due: list[SessionStep] = []
        for player_id, u in updates.items():
            if not u.events:
                continue
            state: dict[str, int] = dict(cache.get(key_live(player_id)) or {})
            spends: dict[str, int] = dict(cache.get(key_spends(player_id)) or {})
            step = _live_step(player_id, state, spends, u.events, live)
            if step is not None:
                due.append(step)
            cache.set(key_live(player_id), state, timeout=live.ttl_ms / 1000)
            if spends:
                newest = max(spends.values())
                spends = {m: t for m, t in spends.items() if t >= newest - live.spend_window_ms}
                cache.set(key_spends(player_id), spends, timeout=live.spend_window_ms / 1000)
        return due

    def live_read(
        self, player_id: int, *, now_ms: int, window_ms: int
    ) -> tuple[int, dict[str, Any], list[tuple[int, int]], float | None]:
        """(win streak, live state, spends in (now - window, now] as (time ms, tokens), spend norm): one round
        trip."""
        since = now_ms - window_ms
        if self.is_redis:
            keys = [key_streak_count(player_id), key_live(player_id), key_spends(player_id), key_spend_norm(player_id)]
            streak, value, flat, norm = self.run_script(_LIVE_READ, keys, [since, now_ms])
            stored = value is not None and len(value) == _LIVE_PACKING.size  # an older layout reads as none
            live = dict(zip(LIVE_FIELDS, _LIVE_PACKING.unpack(value), strict=True)) if stored else {}
            spends = [(int(flat[i + 1]), _member_tokens(flat[i])) for i in range(0, len(flat), 2)]
            return (0 if streak is None else int(float(streak))), live, spends, None if norm is None else float(norm)
        keys = [key_streak_count(player_id), key_live(player_id), key_spends(player_id), key_spend_norm(player_id)]
        found = self.cache.get_many(keys)
        local_spends = found.get(keys[2], {})
        spends = sorted((t, _member_tokens(m)) for m, t in local_spends.items() if since < t <= now_ms)
        norm = found.get(keys[3])
        return int(found.get(keys[0], 0)), dict(found.get(keys[1], {})), spends, None if norm is None else float(norm)

    def spend_norms_set(self, norms: Mapping[int, float], *, ttl_seconds: int) -> None:
        """Write players' spend norms (the nightly batch), each expiring after ``ttl_seconds``."""
        if not norms:
            return
        if self.is_redis:
            pipe = self.redis(bulk=self.is_bulk(len(norms))).pipeline(transaction=False)
            for player_id, norm in norms.items():
                pipe.set(key_spend_norm(player_id), norm, ex=ttl_seconds)
            pipe.execute()
            return
        self.cache.set_many({key_spend_norm(pid): float(norm) for pid, norm in norms.items()}, timeout=ttl_seconds)

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
            values = self.redis(bulk=self.is_bulk(len(keys))).mget(keys)
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
            self.redis(bulk=True).flushdb()
        else:
            self.cache.clear()


hot_store = HotStore()
