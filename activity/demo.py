"""A realistic synthetic population for the demo and for benchmarks (``manage.py generate_demo_data``).

Everything is drawn with numpy, vectorized, from one seed: the same arguments give the same rows,
and event ids (``demo-{seed}-{user_id}-{n}``, n counting that player's actions in time order) make a
re-run store nothing twice. The shape follows what an operator of a free-to-play app sees:

- players: mostly Korean (locale ``ko``, ``Asia/Seoul``), some abroad; ~70% verified adults; some
  signed up before the window, the rest during it; about a quarter churn partway through;
- activity: sessions per day lognormal across players (a few whales play far more, with far higher
  bets), with an evening peak (19-23h in the player's own timezone), a night trough (3-7h) and
  busier weekends; each session is a SESSION_START followed by mini-games, content, rewards,
  items and quiz answers;
- mini-games at realistic odds (slots ~90% return, European roulette, rock-paper-scissors with a
  fee), bets heavy-tailed;
- a share of players are Company A users, with CORPORATE_VISIT actions (dwell time, funnel steps).

Token-moving types (EARN_CYBER_TOKENS, SPEND_CYBER_TOKENS, PURCHASE_CYBER_TOKENS) are deliberately
NOT generated: they must be written together with their wallet ledger rows, and the wallet does not
exist yet. The wallet issue adds them here, through the wallet's services, with their ledger rows.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection, transaction

from activity.registry import GAMES

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

Progress = Callable[[int], object]  # told how many more actions were written

DAY = 86_400
HOUR = 3_600
WRITE_CHUNK = 50_000

# Action kinds, by code. The order is part of the generated data: do not reorder.
SESSION_START, GAME_PLAY, FAIL_GAME, VIEW_CONTENT, UNLOCK_CONTENT, CLAIM_REWARD, BUY_ITEM, QUIZ_ANSWER, \
    CORPORATE_VISIT = range(9)
KIND_NAMES = ("SESSION_START", "GAME_PLAY", "FAIL_GAME", "VIEW_CONTENT", "UNLOCK_CONTENT", "CLAIM_REWARD",
              "BUY_ITEM", "QUIZ_ANSWER", "CORPORATE_VISIT")
# What follows a SESSION_START, and how often.
IN_SESSION_KINDS = np.array([GAME_PLAY, FAIL_GAME, VIEW_CONTENT, UNLOCK_CONTENT, CLAIM_REWARD, BUY_ITEM, QUIZ_ANSWER])
IN_SESSION_SHARES = np.array([0.58, 0.05, 0.14, 0.04, 0.09, 0.05, 0.05])

LOCALES = ("ko", "en")
TIMEZONES = ("Asia/Seoul", "America/Los_Angeles", "Europe/London", "America/New_York", "Asia/Tokyo",
             "Asia/Singapore")
TZ_SHARES_KO = np.array([0.96, 0.015, 0.005, 0.01, 0.005, 0.005])
TZ_SHARES_EN = np.array([0.35, 0.25, 0.15, 0.15, 0.05, 0.05])

# Share of a day's activity per local hour: evening peak 19-23h, trough 3-7h.
APP_HOURS = np.array([5, 3, 2, 0.8, 0.5, 0.4, 0.5, 0.8, 2, 3, 3.5, 4, 5, 5, 4.5, 4.5, 5, 5.5, 6.5, 9, 10, 10.5,
                      10, 8], dtype=np.float64)
# Company A's site: more of the day, a lunch bump, still busiest in the evening.
VISIT_HOURS = np.array([3, 2, 1, 0.5, 0.4, 0.4, 0.6, 1.5, 3, 4.5, 5, 5.5, 7, 6.5, 5, 5, 5, 5.5, 6, 7.5, 8, 8, 7,
                        5], dtype=np.float64)
# Monday .. Sunday.
WEEKDAY_WEIGHTS = np.array([0.95, 0.9, 0.92, 0.95, 1.1, 1.4, 1.35])

PLATFORMS = ("android", "ios")
FAIL_REASONS = ("timeout", "disconnect", "abandoned", "error")
REWARD_TYPES = ("daily_login", "mission", "streak_bonus", "coins", "segment_upgrade")
REWARD_VALUES = np.array([10, 50, 30, 100, 500])
QUIZ_QUESTIONS = ("risk_tolerance", "play_frequency", "favorite_game", "session_length", "reward_preference",
                  "spending_comfort", "thrill_seeking", "loss_reaction")
FAVORITE_GAME_QUESTION = QUIZ_QUESTIONS.index("favorite_game")
VISIT_FUNNEL = ("browse", "view_product", "add_to_cart", "purchase")
ITEM_PRICES = np.array([50, 100, 200, 300, 500, 1000, 2000, 5000, 10000])
ITEM_PRICE_SHARES = np.array([0.25, 0.22, 0.16, 0.11, 0.1, 0.08, 0.04, 0.03, 0.01])
VIEW_CATALOG = 500  # content items, popularity Zipf-like
UNLOCK_CATALOG = 60  # staged adult content items
UNLOCK_STAGE_PRICE = 50


@dataclass(frozen=True)
class DemoSpec:
    players: int
    days: int
    seed: int
    end: dt.datetime  # aware; actions fall in [end - days, end)
    start_id: int = 1

    @property
    def end_ts(self) -> int:
        return int(self.end.timestamp())

    @property
    def start_ts(self) -> int:
        return self.end_ts - self.days * DAY


@dataclass
class Population:
    """One entry per player (numpy columns)."""

    ids: Ints
    signup: Ints  # Unix seconds
    locale: Ints  # index into LOCALES
    tz: Ints  # index into TIMEZONES
    birth_day: Ints  # days since 1970-01-01, or -1 when unknown
    verified: Bools
    verified_at: Ints
    active_from: Ints
    active_until: Ints
    whale: Bools
    company_a: Bools
    platform: Ints
    fav_game: Ints
    bet_scale: Floats


@dataclass
class Actions:
    """One entry per action (numpy columns), in time order. ``a`` .. ``d`` hold the metadata, by kind
    (see ``metadata_json``)."""

    player: Ints  # index into the Population
    seq: Ints  # n-th action of that player, in time order
    ts: Ints
    kind: Ints
    a: Ints
    b: Ints
    c: Ints
    d: Ints

    def __len__(self) -> int:
        return len(self.ts)


@dataclass
class DemoData:
    spec: DemoSpec
    population: Population
    actions: Actions

    def counts_by_type(self) -> dict[str, int]:
        counts = np.bincount(self.actions.kind, minlength=len(KIND_NAMES))
        return {name: int(counts[i]) for i, name in enumerate(KIND_NAMES)}


@dataclass(frozen=True)
class DemoLoadResult:
    players_generated: int
    players_stored: int
    actions_generated: int
    actions_stored: int
    actions_by_type: dict[str, int] = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        return self.actions_generated - self.actions_stored


# --- generation ---------------------------------------------------------------------------------


def demo_generate(spec: DemoSpec) -> DemoData:
    """The whole data set for ``spec``, in memory (about 60 bytes per action)."""
    if spec.players < 0 or spec.days < 1:
        raise ValueError("players must be >= 0 and days >= 1")
    rng = np.random.default_rng([spec.seed, spec.start_id])
    population = _population(rng, spec)
    actions = _actions(rng, spec, population)
    return DemoData(spec, population, actions)


def _population(rng: np.random.Generator, spec: DemoSpec) -> Population:
    n = spec.players
    ids = np.arange(spec.start_id, spec.start_id + n, dtype=np.int64)
    # Two thirds were there before the window (signed up up to ~2 years before), a third arrive during it.
    veteran = rng.random(n) < 0.65
    before = spec.start_ts - np.minimum(rng.exponential(120 * DAY, n), 720 * DAY).astype(np.int64)
    during = spec.start_ts + (rng.random(n) * spec.days * DAY).astype(np.int64)
    signup = np.where(veteran, before, during)

    locale = (rng.random(n) < 0.12).astype(np.int64)  # 12% English
    tz = np.where(locale == 0, rng.choice(len(TIMEZONES), n, p=TZ_SHARES_KO),
                  rng.choice(len(TIMEZONES), n, p=TZ_SHARES_EN)).astype(np.int64)

    # 70% verified adults; the rest: unknown birth date, or self-declared (a few minors among them).
    verified = rng.random(n) < 0.70
    end_day = spec.end_ts // DAY
    adult_age = np.clip(rng.lognormal(np.log(31), 0.3, n), 19.5, 75)
    declared_age = np.clip(rng.lognormal(np.log(26), 0.35, n), 13, 75)
    known = verified | (rng.random(n) < 0.5)
    age_days = (np.where(verified, adult_age, declared_age) * 365.25).astype(np.int64)
    birth_day = np.where(known, end_day - age_days, -1)
    verified_at = np.minimum(signup + rng.exponential(2 * DAY, n).astype(np.int64), spec.end_ts - 1)

    # Activity window: from signup (or the window's start) to the end, or to churn partway through.
    active_from = np.maximum(signup, spec.start_ts)
    churner = rng.random(n) < 0.25
    churn_at = active_from + (rng.random(n) * (spec.end_ts - active_from)).astype(np.int64)
    active_until = np.where(churner, churn_at, spec.end_ts)

    whale = rng.random(n) < 0.01
    bet_scale = rng.lognormal(np.log(8), 0.8, n) * np.where(whale, 10.0, 1.0)
    return Population(
        ids=ids, signup=signup, locale=locale, tz=tz, birth_day=birth_day, verified=verified,
        verified_at=verified_at, active_from=active_from, active_until=active_until, whale=whale,
        company_a=rng.random(n) < 0.35, platform=(rng.random(n) < 0.45).astype(np.int64),
        fav_game=rng.integers(0, len(GAMES), n), bet_scale=bet_scale,
    )


def _tz_offsets(spec: DemoSpec) -> Ints:
    """UTC offset in seconds per timezone (rows) and day of the window (columns, one spare each side)."""
    days = spec.days + 2
    offsets = np.zeros((len(TIMEZONES), days), dtype=np.int64)
    for i, name in enumerate(TIMEZONES):
        zone = zoneinfo.ZoneInfo(name)
        for d in range(days):
            moment = dt.datetime.fromtimestamp(spec.start_ts + (d - 1) * DAY + DAY // 2, dt.UTC)
            offset = moment.astimezone(zone).utcoffset()
            offsets[i, d] = int(offset.total_seconds()) if offset is not None else 0
    return offsets


def _event_times(rng: np.random.Generator, spec: DemoSpec, pop: Population, owner: Ints, hours: Floats,
                 offsets: Ints) -> Ints:
    """A time in the owner's active window for each event, following the daily and weekly rhythm
    in the owner's timezone (rejection sampling, vectorized)."""
    start, until = pop.active_from[owner], pop.active_until[owner]
    tz = pop.tz[owner]
    hour_p = hours / hours.sum()
    week_p = WEEKDAY_WEIGHTS / WEEKDAY_WEIGHTS.max()
    out = start + (rng.random(len(owner)) * (until - start)).astype(np.int64)  # fallback: uniform
    pending = np.arange(len(owner))
    for _ in range(40):
        if len(pending) == 0:
            break
        s, u = start[pending], until[pending]
        # A day around the window (a day's margin each side, so its first and last days are whole).
        t = s - DAY + (rng.random(len(pending)) * (u - s + 2 * DAY)).astype(np.int64)
        day = np.clip((t - spec.start_ts) // DAY + 1, 0, offsets.shape[1] - 1)
        offset = offsets[tz[pending], day]
        local_midnight = (t + offset) // DAY * DAY
        local = local_midnight + rng.choice(24, len(pending), p=hour_p) * HOUR + rng.integers(0, HOUR, len(pending))
        candidate = local - offset
        weekday = (local_midnight // DAY + 3) % 7  # 1970-01-01 was a Thursday
        ok = (rng.random(len(pending)) < week_p[weekday]) & (candidate >= s) & (candidate < u)
        out[pending[ok]] = candidate[ok]
        pending = pending[~ok]
    return out


def _actions(rng: np.random.Generator, spec: DemoSpec, pop: Population) -> Actions:
    offsets = _tz_offsets(spec)
    n = len(pop.ids)
    active_days = (pop.active_until - pop.active_from) / DAY

    # Sessions: a lognormal rate per player (heavy tail), whales far above it.
    rate = rng.lognormal(np.log(0.09), 1.1, n) * np.where(pop.whale, 5.0, 1.0)
    sessions = rng.poisson(rate * active_days)
    session_owner = np.repeat(np.arange(n, dtype=np.int64), sessions)
    session_start = _event_times(rng, spec, pop, session_owner, APP_HOURS, offsets)

    # Each session: SESSION_START, then a Poisson number of actions a few tens of seconds apart.
    depth = rng.lognormal(np.log(2.6), 0.5, n) * np.where(pop.whale, 2.0, 1.0)
    per_session = 1 + rng.poisson(depth[session_owner])
    total = int(per_session.sum())
    session_of = np.repeat(np.arange(len(session_owner), dtype=np.int64), per_session)
    first = np.cumsum(per_session) - per_session
    position = np.arange(total, dtype=np.int64) - first[session_of]
    gaps = np.maximum(1, rng.exponential(40, total)).astype(np.int64)
    gaps[position == 0] = 0
    elapsed = np.cumsum(gaps)
    elapsed -= elapsed[first][session_of]
    owner = session_owner[session_of]
    ts = session_start[session_of] + elapsed
    kind = np.where(position == 0, SESSION_START, _in_session_kinds(rng, pop, owner))

    # Company A users visit its site on their own rhythm.
    visit_rate = rng.lognormal(np.log(0.12), 0.8, n) * pop.company_a
    visits = rng.poisson(visit_rate * active_days)
    visit_owner = np.repeat(np.arange(n, dtype=np.int64), visits)
    visit_ts = _event_times(rng, spec, pop, visit_owner, VISIT_HOURS, offsets)

    owner = np.concatenate([owner, visit_owner])
    ts = np.concatenate([ts, visit_ts])
    kind = np.concatenate([kind, np.full(len(visit_owner), CORPORATE_VISIT, dtype=np.int64)])
    keep = ts < spec.end_ts  # sessions that began just before the end
    owner, ts, kind = owner[keep], ts[keep], kind[keep]
    a, b, c, d = _metadata_columns(rng, pop, owner, kind)

    # Per-player sequence numbers in time order, then everything in time order.
    by_player = np.lexsort((ts, owner))
    seq = np.empty(len(ts), dtype=np.int64)
    sorted_owner = owner[by_player]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_owner)) + 1] if len(ts) else np.array([], dtype=np.int64)
    counts = np.diff(np.r_[starts, len(ts)])
    seq[by_player] = np.arange(len(ts), dtype=np.int64) - np.repeat(starts, counts)
    order = np.lexsort((seq, owner, ts))
    return Actions(player=owner[order], seq=seq[order], ts=ts[order], kind=kind[order], a=a[order],
                   b=b[order], c=c[order], d=d[order])


def _in_session_kinds(rng: np.random.Generator, pop: Population, owner: Ints) -> Ints:
    kind = IN_SESSION_KINDS[rng.choice(len(IN_SESSION_KINDS), len(owner), p=IN_SESSION_SHARES)]
    # Whales mostly play; only verified adults unlock (age-gated) content, others just view.
    whale_play = pop.whale[owner] & (rng.random(len(owner)) < 0.5)
    kind = np.where(whale_play, GAME_PLAY, kind)
    return np.where((kind == UNLOCK_CONTENT) & ~pop.verified[owner], VIEW_CONTENT, kind).astype(np.int64)


def _metadata_columns(rng: np.random.Generator, pop: Population, owner: Ints,
                      kind: Ints) -> tuple[Ints, Ints, Ints, Ints]:
    size = len(owner)
    a = np.zeros(size, dtype=np.int64)
    b = np.zeros(size, dtype=np.int64)
    c = np.zeros(size, dtype=np.int64)
    d = np.zeros(size, dtype=np.int64)

    m = kind == SESSION_START
    a[m] = pop.platform[owner[m]]

    m = np.flatnonzero((kind == GAME_PLAY) | (kind == FAIL_GAME))
    a[m] = np.where(rng.random(len(m)) < 0.65, pop.fav_game[owner[m]], rng.integers(0, len(GAMES), len(m)))

    m = np.flatnonzero(kind == GAME_PLAY)
    bet, payout, win = _game_rounds(rng, a[m], pop.bet_scale[owner[m]])
    b[m], c[m], d[m] = bet, payout, win

    m = np.flatnonzero(kind == FAIL_GAME)
    b[m] = rng.choice(len(FAIL_REASONS), len(m), p=[0.4, 0.3, 0.25, 0.05])

    m = np.flatnonzero(kind == VIEW_CONTENT)
    a[m] = np.minimum(rng.zipf(1.6, len(m)), VIEW_CATALOG)

    m = np.flatnonzero(kind == UNLOCK_CONTENT)
    a[m] = np.minimum(rng.zipf(1.4, len(m)), UNLOCK_CATALOG)
    b[m] = np.minimum(rng.geometric(0.55, len(m)), 10)
    c[m] = b[m] * UNLOCK_STAGE_PRICE

    m = np.flatnonzero(kind == CLAIM_REWARD)
    a[m] = rng.choice(len(REWARD_TYPES), len(m), p=[0.45, 0.25, 0.15, 0.13, 0.02])
    b[m] = REWARD_VALUES[a[m]] * rng.integers(1, 4, len(m))

    m = np.flatnonzero(kind == BUY_ITEM)
    price = rng.choice(len(ITEM_PRICES), len(m), p=ITEM_PRICE_SHARES)
    price = np.where(pop.whale[owner[m]], np.minimum(price + 3, len(ITEM_PRICES) - 1), price)
    a[m] = 100 + price * 10 + rng.integers(0, 10, len(m))  # item ids 100..189, ten per price point
    b[m] = ITEM_PRICES[price]

    m = np.flatnonzero(kind == QUIZ_ANSWER)
    a[m] = rng.integers(0, len(QUIZ_QUESTIONS), len(m))
    b[m] = np.where(a[m] == FAVORITE_GAME_QUESTION, pop.fav_game[owner[m]], rng.integers(1, 6, len(m)))

    m = np.flatnonzero(kind == CORPORATE_VISIT)
    dwell = np.clip(rng.lognormal(np.log(150), 1.0, len(m)), 5, 7 * DAY).astype(np.int64)
    a[m] = dwell
    b[m] = np.clip(1 + rng.poisson(dwell / 400), 1, len(VISIT_FUNNEL))
    return a, b, c, d


def _game_rounds(rng: np.random.Generator, game: Ints, bet_scale: Floats) -> tuple[Ints, Ints, Ints]:
    """Bet, payout and win (1/0) per round, at each game's odds."""
    size = len(game)
    bet = np.clip(np.rint(bet_scale * rng.lognormal(0, 0.45, size)), 1, 1_000_000).astype(np.int64)
    u = rng.random(size)
    # Slots: 32% of spins win 2x-50x (about 90% return).
    slot_multiplier = np.array([2, 3, 5, 10, 50])[rng.choice(5, size, p=[0.75, 0.15, 0.07, 0.025, 0.005])]
    # European roulette: mostly red/black (18/37, 2x), sometimes a single number (1/37, 36x).
    straight = rng.random(size) < 0.15
    # Rock-paper-scissors against the house: even odds, 1.9x (a 5% fee).
    win_p = np.select([game == 0, game == 1], [0.32, np.where(straight, 1 / 37, 18 / 37)], 0.5)
    multiplier = np.select([game == 0, game == 1], [slot_multiplier, np.where(straight, 36.0, 2.0)], 1.9)
    win = u < win_p
    payout = np.where(win, np.floor(bet * multiplier), 0).astype(np.int64)
    return bet, payout, win.astype(np.int64)


# --- formatting ---------------------------------------------------------------------------------


def metadata_json(kind: int, a: list[int], b: list[int], c: list[int], d: list[int]) -> list[str]:
    """Compact JSON objects for actions of one kind, from their metadata columns."""
    if kind == SESSION_START:
        return [f'{{"platform":"{PLATFORMS[x]}"}}' for x in a]
    if kind == GAME_PLAY:
        results = ("loss", "win")
        return [f'{{"game":"{GAMES[g]}","bet":{bet},"payout":{p},"result":"{results[w]}"}}'
                for g, bet, p, w in zip(a, b, c, d, strict=True)]
    if kind == FAIL_GAME:
        return [f'{{"game":"{GAMES[g]}","reason":"{FAIL_REASONS[r]}"}}' for g, r in zip(a, b, strict=True)]
    if kind == VIEW_CONTENT:
        return [f'{{"content_id":{x}}}' for x in a]
    if kind == UNLOCK_CONTENT:
        return [f'{{"content_id":{x},"stage":{s},"spent_tokens":{t}}}' for x, s, t in zip(a, b, c, strict=True)]
    if kind == CLAIM_REWARD:
        return [f'{{"reward_type":"{REWARD_TYPES[t]}","reward_value":{v}}}' for t, v in zip(a, b, strict=True)]
    if kind == BUY_ITEM:
        return [f'{{"item_id":"item-{i}","price":{p}}}' for i, p in zip(a, b, strict=True)]
    if kind == QUIZ_ANSWER:
        return [f'{{"question":"{QUIZ_QUESTIONS[q]}","answer":"{GAMES[x]}"}}' if q == FAVORITE_GAME_QUESTION
                else f'{{"question":"{QUIZ_QUESTIONS[q]}","answer":{x}}}' for q, x in zip(a, b, strict=True)]
    if kind == CORPORATE_VISIT:
        funnels = ['[' + ",".join(f'"{s}"' for s in VISIT_FUNNEL[:k]) + ']' for k in range(len(VISIT_FUNNEL) + 1)]
        return [f'{{"dwell_seconds":{s},"actions":{funnels[k]}}}' for s, k in zip(a, b, strict=True)]
    raise ValueError(f"unknown kind {kind}")


def _utc_text(ts: Ints) -> list[str]:
    """'YYYY-MM-DD HH:MM:SS' in UTC: how Django stores datetimes on SQLite, and valid PostgreSQL input."""
    if len(ts) == 0:  # np.strings.replace fails on an empty array
        return []
    text = np.datetime_as_string(ts.astype("datetime64[s]"))
    return list(np.strings.replace(text, "T", " ").tolist())


@dataclass
class ActionRows:
    """One write chunk as columns of Python values."""

    event_id: list[str]
    user_id: list[int]
    action_type: list[str]
    metadata: list[str]
    timestamp: list[str]

    def rows(self) -> Iterator[tuple[str, int, str, str, str]]:
        return zip(self.event_id, self.user_id, self.action_type, self.metadata, self.timestamp, strict=True)


def action_rows(data: DemoData, start: int, stop: int) -> ActionRows:
    act, pop = data.actions, data.population
    kind = act.kind[start:stop]
    user_id = pop.ids[act.player[start:stop]]
    metadata = np.empty(len(kind), dtype=object)
    for code in np.unique(kind).tolist():
        m = np.flatnonzero(kind == code)
        cols = [col[start:stop][m].tolist() for col in (act.a, act.b, act.c, act.d)]
        metadata[m] = metadata_json(code, *cols)
    prefix = f"demo-{data.spec.seed}-"
    users = user_id.tolist()
    return ActionRows(
        event_id=[f"{prefix}{u}-{n}" for u, n in zip(users, act.seq[start:stop].tolist(), strict=True)],
        user_id=users,
        action_type=[KIND_NAMES[k] for k in kind.tolist()],
        metadata=metadata.tolist(),
        timestamp=_utc_text(act.ts[start:stop]),
    )


PlayerRow = tuple[int, str, str, str, str | None, bool, str | None]


def _player_rows(pop: Population, utc_suffix: str = "") -> list[PlayerRow]:
    """Rows for ``players``; ``utc_suffix`` is appended to the times (``+00`` for PostgreSQL)."""
    signups = [t + utc_suffix for t in _utc_text(pop.signup)]
    verified_at = [t + utc_suffix for t in _utc_text(pop.verified_at)]
    births = np.datetime_as_string(np.maximum(pop.birth_day, 0).astype("datetime64[D]")).tolist()
    return [
        (pid, signup, LOCALES[loc], TIMEZONES[tz], birth if known else None, ver, ver_at if ver else None)
        for pid, signup, loc, tz, birth, known, ver, ver_at in zip(
            pop.ids.tolist(), signups, pop.locale.tolist(), pop.tz.tolist(), births,
            (pop.birth_day >= 0).tolist(), pop.verified.tolist(), verified_at, strict=True)
    ]


# --- storing ------------------------------------------------------------------------------------

_PLAYER_COLUMNS = "id, signup_at, locale, timezone, birth_date, age_verified, age_verified_at"
_ACTION_COLUMNS = "event_id, user_id, action_type, metadata, action_timestamp"


def demo_store(data: DemoData, *, on_progress: Progress | None = None) -> DemoLoadResult:
    """Write the players and their actions in one transaction, skipping rows already there
    (same player id, same event id); then rebuild the hot metrics the new rows imply."""
    from activity.services import hot_metrics_repair

    with _sqlite_page_cache(), transaction.atomic():
        if connection.vendor == "postgresql":
            players_stored = _pg_store_players(data.population)
            actions_stored = _pg_store_actions(data, on_progress)
        else:
            players_stored = _sqlite_store_players(data.population)
            actions_stored = _sqlite_store_actions(data, on_progress)
    with _sqlite_page_cache():
        hot_metrics_repair()
    return DemoLoadResult(
        players_generated=len(data.population.ids), players_stored=players_stored,
        actions_generated=len(data.actions), actions_stored=actions_stored,
        actions_by_type=data.counts_by_type(),
    )


@contextmanager
def _sqlite_page_cache(kib: int = 256 * 1024) -> Iterator[None]:
    """On SQLite, a page cache that holds the indexes being filled (default 2 MB) while inside:
    several times faster on millions of rows. The connection's setting is restored after."""
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    (before,) = raw.execute("PRAGMA cache_size").fetchone()
    raw.execute(f"PRAGMA cache_size = -{int(kib)}")
    try:
        yield
    finally:
        raw.execute(f"PRAGMA cache_size = {int(before)}")


def _chunks(total: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, WRITE_CHUNK):
        yield start, min(start + WRITE_CHUNK, total)


def _sqlite_store_players(pop: Population) -> int:
    connection.ensure_connection()
    raw = connection.connection
    cursor = raw.executemany(
        f"INSERT INTO players ({_PLAYER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        _player_rows(pop),
    )
    return int(cursor.rowcount)


def _sqlite_store_actions(data: DemoData, on_progress: Progress | None) -> int:
    connection.ensure_connection()
    raw = connection.connection
    stored = 0
    for start, stop in _chunks(len(data.actions)):
        cursor = raw.executemany(
            f"INSERT INTO user_actions ({_ACTION_COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING",
            action_rows(data, start, stop).rows(),
        )
        stored += int(cursor.rowcount)
        if on_progress is not None:
            on_progress(stop - start)
    return stored


def _copy_text(values: tuple[object, ...]) -> str:
    # Generated values hold no tab, newline or backslash: only NULL needs spelling out.
    return "\t".join(r"\N" if v is None else str(v) for v in values) + "\n"


def _pg_copy(cursor: Any, statement: str, text: str) -> None:
    """COPY ... FROM STDIN through psycopg (``cursor.connection`` is the psycopg connection)."""
    with cursor.connection.cursor() as raw, raw.copy(statement) as copy:
        copy.write(text)


def _pg_store_players(pop: Population) -> int:
    text = "".join(_copy_text(row) for row in _player_rows(pop, "+00"))
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS demo_players_load")
        cursor.execute("CREATE TEMP TABLE demo_players_load (LIKE players INCLUDING DEFAULTS) ON COMMIT DROP")
        _pg_copy(cursor, f"COPY demo_players_load ({_PLAYER_COLUMNS}) FROM STDIN", text)
        cursor.execute(f"INSERT INTO players ({_PLAYER_COLUMNS}) SELECT {_PLAYER_COLUMNS} FROM demo_players_load "
                       "ON CONFLICT (id) DO NOTHING")
        stored = cursor.rowcount
        cursor.execute("DROP TABLE demo_players_load")
    return int(stored)


def _pg_store_actions(data: DemoData, on_progress: Progress | None) -> int:
    stored = 0
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS demo_actions_load")
        cursor.execute("CREATE TEMP TABLE demo_actions_load (event_id text, user_id bigint, action_type text, "
                       "metadata jsonb, action_timestamp timestamptz) ON COMMIT DROP")
        for start, stop in _chunks(len(data.actions)):
            rows = action_rows(data, start, stop)
            text = "".join(f"{e}\t{u}\t{t}\t{m}\t{ts}+00\n" for e, u, t, m, ts in rows.rows())
            _pg_copy(cursor, f"COPY demo_actions_load ({_ACTION_COLUMNS}) FROM STDIN", text)
            cursor.execute(f"INSERT INTO user_actions ({_ACTION_COLUMNS}) SELECT {_ACTION_COLUMNS} "
                           "FROM demo_actions_load ON CONFLICT (event_id) DO NOTHING")
            stored += cursor.rowcount
            cursor.execute("TRUNCATE demo_actions_load")
            if on_progress is not None:
                on_progress(stop - start)
        cursor.execute("DROP TABLE demo_actions_load")
    return int(stored)
