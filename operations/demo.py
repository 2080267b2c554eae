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

On top of that activity, a token economy (its own random stream, so the actions above do not change
with it), with event ids ``demo-{seed}-{user_id}-t{n}`` (n counting that player's token-moving actions):

- EARN_CYBER_TOKENS: from Company A a few minutes after most of a Company A user's visits (100, 200,
  300 or 500 tokens), a welcome bonus at the first session of a player who signed up in the window,
  a share of reward claims (``reward``) and now and then a daily bonus at a session start (``in_app``);
- SPEND_CYBER_TOKENS: a buy-in before the first round of a share of game sessions, sized by a
  heavy-tailed per-player scale (whales stake far more; about one player in seven hoards and never
  spends); a spend only takes what the running balance holds, and is dropped below 10 tokens;
- PURCHASE_CYBER_TOKENS: payers (most whales, a few percent of the others) buy a KRW package when a
  buy-in finds their balance short, just before it;
- UNLOCK_CONTENT: where the activity above has a verified adult open a content unlock, the player's next stage of
  the demo catalog (``DEMO_STAGES``, in their order; those needing no segment level, as no segment is computed
  yet) is unlocked when the running balance holds its price, and the attempt is dropped otherwise: each unlock is a
  SPEND with its ``user_rewards`` row (``content_unlock``) and its ``content_unlocks`` row, as the unlock endpoint and
  ``import_actions`` write them. No unlock without its ledger row.

Each token-moving action is stored with the ledger row ``import_actions`` would have written for it
(key ``import:<event_id>``, the same request hash, actor ``demo``), balances running in time order;
Company A earns get a ``site_rewards`` row (webhook id: the event id); every player gets a ``wallets``
row, and after commit Redis' copy of each balance. Players who already have a wallet or ledger rows
get no token history (a history before their existing rows would break their running balance). The demo catalog's
stages are added to ``adult_content`` where their stage numbers are free (a stage staff made under a number is used
as it is).

This module generates the rows and formats them; each table is written by its owner's bulk-load
service (``players_load``, ``actions_load``, ``ledger_history_load``, ``wallets_load``,
``site_rewards_load``, ``rewards_load``, ``catalog_load``, ``unlocks_load``).
"""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from activity.registry import GAMES
from activity.selectors import actions_exist
from activity.services import (
    action_ids_reserve,
    actions_load,
    actions_load_with_ids,
    hot_metrics_repair,
    reward_ids_reserve,
    rewards_load,
)
from content.selectors import catalog_stage_ids
from content.services import REWARD_TYPE as CONTENT_REWARD_TYPE
from content.services import catalog_load, content_ids_reserve, unlocks_load
from corporate.services import site_rewards_load
from players.services import players_load
from wallet.selectors import wallet_holders
from wallet.services import (
    Kind,
    Source,
    balance_cache_fill,
    ledger_history_load,
    ledger_ids_reserve,
    request_fingerprint,
    wallets_load,
    wallets_lock_exclusive,
)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

Progress = Callable[[int], object]  # told how many more actions were written

DAY = 86_400
HOUR = 3_600
WRITE_CHUNK = 50_000

# Action kinds, by code. The order is part of the generated data: do not reorder.
(
    SESSION_START,
    GAME_PLAY,
    FAIL_GAME,
    VIEW_CONTENT,
    UNLOCK_CONTENT,
    CLAIM_REWARD,
    BUY_ITEM,
    QUIZ_ANSWER,
    CORPORATE_VISIT,
) = range(9)
KIND_NAMES = (
    "SESSION_START",
    "GAME_PLAY",
    "FAIL_GAME",
    "VIEW_CONTENT",
    "UNLOCK_CONTENT",
    "CLAIM_REWARD",
    "BUY_ITEM",
    "QUIZ_ANSWER",
    "CORPORATE_VISIT",
)
# What follows a SESSION_START, and how often.
IN_SESSION_KINDS = np.array([GAME_PLAY, FAIL_GAME, VIEW_CONTENT, UNLOCK_CONTENT, CLAIM_REWARD, BUY_ITEM, QUIZ_ANSWER])
IN_SESSION_SHARES = np.array([0.58, 0.05, 0.14, 0.04, 0.09, 0.05, 0.05])

LOCALES = ("ko", "en")
TIMEZONES = ("Asia/Seoul", "America/Los_Angeles", "Europe/London", "America/New_York", "Asia/Tokyo", "Asia/Singapore")
TZ_SHARES_KO = np.array([0.96, 0.015, 0.005, 0.01, 0.005, 0.005])
TZ_SHARES_EN = np.array([0.35, 0.25, 0.15, 0.15, 0.05, 0.05])

# Share of a day's activity per local hour: evening peak 19-23h, trough 3-7h.
APP_HOURS = np.array(
    [5, 3, 2, 0.8, 0.5, 0.4, 0.5, 0.8, 2, 3, 3.5, 4, 5, 5, 4.5, 4.5, 5, 5.5, 6.5, 9, 10, 10.5, 10, 8], dtype=np.float64
)
# Company A's site: more of the day, a lunch bump, still busiest in the evening.
VISIT_HOURS = np.array(
    [3, 2, 1, 0.5, 0.4, 0.4, 0.6, 1.5, 3, 4.5, 5, 5.5, 7, 6.5, 5, 5, 5, 5.5, 6, 7.5, 8, 8, 7, 5], dtype=np.float64
)
# Monday .. Sunday.
WEEKDAY_WEIGHTS = np.array([0.95, 0.9, 0.92, 0.95, 1.1, 1.4, 1.35])

PLATFORMS = ("android", "ios")
FAIL_REASONS = ("timeout", "disconnect", "abandoned", "error")
REWARD_TYPES = ("daily_login", "mission", "streak_bonus", "coins", "segment_upgrade")
REWARD_VALUES = np.array([10, 50, 30, 100, 500])
QUIZ_QUESTIONS = (
    "risk_tolerance",
    "play_frequency",
    "favorite_game",
    "session_length",
    "reward_preference",
    "spending_comfort",
    "thrill_seeking",
    "loss_reaction",
)
FAVORITE_GAME_QUESTION = QUIZ_QUESTIONS.index("favorite_game")
VISIT_FUNNEL = ("browse", "view_product", "add_to_cart", "purchase")
ITEM_PRICES = np.array([50, 100, 200, 300, 500, 1000, 2000, 5000, 10000])
ITEM_PRICE_SHARES = np.array([0.25, 0.22, 0.16, 0.11, 0.1, 0.08, 0.04, 0.03, 0.01])
VIEW_CATALOG = 500  # content items, popularity Zipf-like
# The activity's UNLOCK_CONTENT draws (kept so the other actions stay as they were): an unlock attempt; what is
# unlocked is decided by the economy below, from the demo catalog.
UNLOCK_CATALOG = 60
UNLOCK_STAGE_PRICE = 50

# The demo catalog (adult_content): stage number, price in tokens, segment level needed. Names and URLs are made up.
DEMO_STAGES = ((1, 50, 0), (2, 100, 0), (3, 200, 0), (4, 300, 0), (5, 500, 1), (6, 800, 2))
# Unlocked in the demo: the stages needing no segment level, in order (no segment is computed when it is generated).
FREE_STAGE_PRICES = np.array([price for _, price, level in DEMO_STAGES if level == 0], dtype=np.int64)
ADULT_DAYS = 19 * 366  # older than this many days: past the 19th birthday for sure (the demo's own margin)

# Token-moving actions, by code (TokenActions.kind), with their ledger kinds and sources.
EARN, SPEND, PURCHASE, UNLOCK = range(4)
TOKEN_ACTION_TYPES = ("EARN_CYBER_TOKENS", "SPEND_CYBER_TOKENS", "PURCHASE_CYBER_TOKENS", "UNLOCK_CONTENT")
LEDGER_KINDS = (Kind.EARN.value, Kind.SPEND.value, Kind.PURCHASE.value, Kind.SPEND.value)
CORPORATE, IN_APP, REWARD, CASH = range(4)
SOURCES = (
    Source.CORPORATE.value,
    Source.IN_APP.value,
    Source.REWARD.value,
    Source.CASH.value,
)
CORPORATE_EARNS = np.array([100, 200, 300, 500])
CORPORATE_EARN_SHARES = np.array([0.4, 0.3, 0.2, 0.1])
DAILY_BONUSES = np.array([20, 50, 100])  # in_app, at a session start now and then
WELCOME_BONUS = 500  # reward, at the first session of a player who signed up in the window
# Token packages sold for KRW: tokens and price.
PACK_TOKENS = np.array([100, 550, 1200, 3800, 6500, 14000])
PACK_PRICES_KRW = np.array([1100, 5500, 11000, 33000, 55000, 110000])
MIN_SPEND = 10
REWARD_TYPE_OF_COMPANY_A_EARN = "EARN_CYBER_TOKENS"
LEDGER_ACTOR = "demo"
LEDGER_DETAILS = '{"demo": true}'


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
class TokenActions:
    """The token-moving actions (numpy columns), in ledger order: by player, then time.

    ``amount`` is signed as on the ledger; ``balance_after`` is the player's running balance.
    """

    player: Ints  # index into the Population
    seq: Ints  # n-th token-moving action of that player, in time order
    ts: Ints
    kind: Ints  # EARN, SPEND, PURCHASE
    source: Ints  # index into SOURCES
    amount: Ints
    balance_after: Ints
    game: Ints  # spends: index into GAMES
    pack: Ints  # purchases: index into PACK_TOKENS
    stage: Ints  # unlocks: index into the demo catalog's free stages (FREE_STAGE_PRICES), -1 otherwise

    def __len__(self) -> int:
        return len(self.ts)


@dataclass
class DemoData:
    spec: DemoSpec
    population: Population
    actions: Actions
    tokens: TokenActions

    def counts_by_type(self) -> dict[str, int]:
        """Actions stored, by type: the activity's (an unlock attempt is not one) and the token economy's."""
        counts = np.bincount(self.actions.kind, minlength=len(KIND_NAMES))
        token_counts = np.bincount(self.tokens.kind, minlength=len(TOKEN_ACTION_TYPES))
        return {
            **{name: int(counts[i]) for i, name in enumerate(KIND_NAMES) if i != UNLOCK_CONTENT},
            **{name: int(token_counts[i]) for i, name in enumerate(TOKEN_ACTION_TYPES)},
        }

    @property
    def plain_actions(self) -> int:
        """The activity's actions that are stored as they are (all but the unlock attempts)."""
        return int(np.count_nonzero(self.actions.kind != UNLOCK_CONTENT))

    def final_balances(self) -> Ints:
        """Each player's balance after their last token-moving action (0 without any)."""
        balances = np.zeros(len(self.population.ids), dtype=np.int64)
        if len(self.tokens):
            last = np.r_[np.flatnonzero(np.diff(self.tokens.player)), len(self.tokens) - 1]
            balances[self.tokens.player[last]] = self.tokens.balance_after[last]
        return balances


@dataclass(frozen=True)
class DemoLoadResult:
    players_generated: int
    players_stored: int
    actions_generated: int
    actions_stored: int
    actions_by_type: dict[str, int] = field(default_factory=dict)
    token_actions_generated: int = 0
    token_actions_stored: int = 0  # each with its ledger row
    token_actions_skipped: int = 0  # of players who had a wallet or ledger rows already
    wallets_stored: int = 0
    site_rewards_stored: int = 0
    unlocks_stored: int = 0  # content unlocks (each with its ledger row and reward)
    stages_stored: int = 0  # stages of the demo catalog added to adult_content
    balances_cached: int = 0

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
    # The economy draws from a stream of its own: the actions above stay what they were without it.
    tokens = _economy(np.random.default_rng([spec.seed, spec.start_id, 1]), spec, population, actions)
    return DemoData(spec, population, actions, tokens)


def _population(rng: np.random.Generator, spec: DemoSpec) -> Population:
    n = spec.players
    ids = np.arange(spec.start_id, spec.start_id + n, dtype=np.int64)
    # Two thirds were there before the window (signed up up to ~2 years before), a third arrive during it.
    veteran = rng.random(n) < 0.65
    before = spec.start_ts - np.minimum(rng.exponential(120 * DAY, n), 720 * DAY).astype(np.int64)
    during = spec.start_ts + (rng.random(n) * spec.days * DAY).astype(np.int64)
    signup = np.where(veteran, before, during)

    locale = (rng.random(n) < 0.12).astype(np.int64)  # 12% English
    tz = np.where(
        locale == 0, rng.choice(len(TIMEZONES), n, p=TZ_SHARES_KO), rng.choice(len(TIMEZONES), n, p=TZ_SHARES_EN)
    ).astype(np.int64)

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
        ids=ids,
        signup=signup,
        locale=locale,
        tz=tz,
        birth_day=birth_day,
        verified=verified,
        verified_at=verified_at,
        active_from=active_from,
        active_until=active_until,
        whale=whale,
        company_a=rng.random(n) < 0.35,
        platform=(rng.random(n) < 0.45).astype(np.int64),
        fav_game=rng.integers(0, len(GAMES), n),
        bet_scale=bet_scale,
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


def _event_times(
    rng: np.random.Generator, spec: DemoSpec, pop: Population, owner: Ints, hours: Floats, offsets: Ints
) -> Ints:
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
    return Actions(
        player=owner[order],
        seq=seq[order],
        ts=ts[order],
        kind=kind[order],
        a=a[order],
        b=b[order],
        c=c[order],
        d=d[order],
    )


def _in_session_kinds(rng: np.random.Generator, pop: Population, owner: Ints) -> Ints:
    kind = IN_SESSION_KINDS[rng.choice(len(IN_SESSION_KINDS), len(owner), p=IN_SESSION_SHARES)]
    # Whales mostly play; only verified adults unlock (age-gated) content, others just view.
    whale_play = pop.whale[owner] & (rng.random(len(owner)) < 0.5)
    kind = np.where(whale_play, GAME_PLAY, kind)
    return np.where((kind == UNLOCK_CONTENT) & ~pop.verified[owner], VIEW_CONTENT, kind).astype(np.int64)


def _metadata_columns(
    rng: np.random.Generator, pop: Population, owner: Ints, kind: Ints
) -> tuple[Ints, Ints, Ints, Ints]:
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


def _group_starts(sorted_keys: Ints) -> tuple[Ints, Ints]:
    """Where each run of equal keys starts in a sorted array, and how long it is."""
    if len(sorted_keys) == 0:
        empty = np.array([], dtype=np.int64)
        return empty, empty
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_keys)) + 1].astype(np.int64)
    return starts, np.diff(np.r_[starts, len(sorted_keys)]).astype(np.int64)


def _rank_in_group(sorted_keys: Ints) -> Ints:
    """0, 1, 2, ... along each run of equal keys of a sorted array."""
    starts, counts = _group_starts(sorted_keys)
    return np.arange(len(sorted_keys), dtype=np.int64) - np.repeat(starts, counts)


def _cumsum_in_group(sorted_keys: Ints, values: Ints) -> Ints:
    """Running sums of ``values`` restarting at each run of equal keys of a sorted array."""
    total = np.cumsum(values)
    starts, counts = _group_starts(sorted_keys)
    return total - np.repeat((total - values)[starts], counts)


@dataclass
class _Candidates:
    """Token-moving actions before the balances decide which spends and purchases happen."""

    player: list[Ints] = field(default_factory=list)
    ts: list[Ints] = field(default_factory=list)
    anchor: list[Ints] = field(default_factory=list)  # the action it follows (index in Actions): a tie-break
    kind: list[Ints] = field(default_factory=list)
    source: list[Ints] = field(default_factory=list)
    amount: list[Ints] = field(default_factory=list)  # spends: the amount wanted, positive
    game: list[Ints] = field(default_factory=list)
    pack: list[Ints] = field(default_factory=list)

    def add(
        self,
        player: Ints,
        ts: Ints,
        anchor: Ints,
        kind: int,
        source: int,
        amount: Ints,
        game: Ints | None = None,
        pack: Ints | None = None,
    ) -> None:
        size = len(player)
        self.player.append(player)
        self.ts.append(ts)
        self.anchor.append(anchor)
        self.kind.append(np.full(size, kind, dtype=np.int64))
        self.source.append(np.full(size, source, dtype=np.int64))
        self.amount.append(amount.astype(np.int64))
        self.game.append(np.full(size, -1, dtype=np.int64) if game is None else game)
        self.pack.append(np.full(size, -1, dtype=np.int64) if pack is None else pack)

    def columns(self) -> dict[str, Ints]:
        """The candidates, in ledger order (see ``_ledger_order``)."""
        return _ledger_order(
            {
                name: np.concatenate(getattr(self, name)).astype(np.int64)
                for name in ("player", "ts", "anchor", "kind", "source", "amount", "game", "pack")
            }
        )


def _ledger_order(cols: dict[str, Ints]) -> dict[str, Ints]:
    """Sorted by player, time and the action followed; at the same action the credits come first, then a
    purchase, then the spend it pays for."""
    step = np.select([cols["kind"] == PURCHASE, cols["kind"] == SPEND], [1, 2], 0)
    order = np.lexsort((step, cols["anchor"], cols["ts"], cols["player"]))
    return {name: col[order] for name, col in cols.items()}


def _economy(rng: np.random.Generator, spec: DemoSpec, pop: Population, act: Actions) -> TokenActions:
    n = len(pop.ids)
    whale = pop.whale
    # Who pays, how readily and for which package; who spends how much; who earns at Company A.
    # Between the whales and the rest, "dolphins" spend several times more than most and often pay.
    dolphin = ~whale & (rng.random(n) < 0.05)
    payer = rng.random(n) < np.select([whale, dolphin], [0.9, 0.4], 0.03)
    buy_p = np.where(whale, rng.uniform(0.75, 1.0, n), rng.uniform(0.3, 0.9, n))
    pref_pack = np.where(
        whale, 2 + rng.choice(4, n, p=[0.2, 0.35, 0.3, 0.15]), rng.choice(4, n, p=[0.45, 0.3, 0.17, 0.08])
    )
    hoarder = ~whale & ~dolphin & (rng.random(n) < 0.15)
    spend_p = np.where(hoarder, 0.0, np.where(whale | dolphin, rng.beta(6.0, 1.5, n), rng.beta(2.0, 2.0, n)))
    spend_scale = rng.lognormal(np.log(80), 1.0, n) * np.select([whale, dolphin], [30.0, 5.0], 1.0)
    earn_p = np.where(pop.company_a, rng.beta(4.0, 1.5, n), 0.0)

    cand = _Candidates()
    # Company A: tokens for most visits, a little after the visit (dropped past the window's end).
    m = np.flatnonzero(act.kind == CORPORATE_VISIT)
    amount = CORPORATE_EARNS[rng.choice(len(CORPORATE_EARNS), len(m), p=CORPORATE_EARN_SHARES)]
    ts = act.ts[m] + np.minimum(act.a[m], HOUR) + rng.integers(2, 90, len(m))
    keep = (rng.random(len(m)) < earn_p[act.player[m]]) & (ts < spec.end_ts)
    cand.add(act.player[m][keep], ts[keep], m[keep], EARN, CORPORATE, amount[keep])

    # In the app: a daily bonus at some session starts; the welcome bonus at a new player's first session.
    m = np.flatnonzero(act.kind == SESSION_START)
    amount = DAILY_BONUSES[rng.choice(len(DAILY_BONUSES), len(m), p=[0.5, 0.3, 0.2])]
    keep = rng.random(len(m)) < 0.15
    cand.add(act.player[m][keep], act.ts[m][keep], m[keep], EARN, IN_APP, amount[keep])
    players_seen, first = np.unique(act.player[m], return_index=True)
    new = pop.signup[players_seen] >= spec.start_ts
    first = m[first[new]]
    cand.add(act.player[first], act.ts[first], first, EARN, REWARD, np.full(len(first), WELCOME_BONUS))

    # Some reward claims pay out in tokens.
    m = np.flatnonzero(act.kind == CLAIM_REWARD)
    keep = rng.random(len(m)) < 0.5
    cand.add(act.player[m][keep], act.ts[m][keep], m[keep], EARN, REWARD, act.b[m][keep])

    # Spends: a buy-in before the first round of a share of sessions (the game is that round's).
    by_player = np.lexsort((act.seq, act.player))
    session_no = _cumsum_in_group(act.player[by_player], (act.kind[by_player] == SESSION_START).astype(np.int64))
    is_play = act.kind[by_player] == GAME_PLAY
    plays = by_player[is_play]
    session_key = act.player[plays] * (int(session_no.max(initial=0)) + 1) + session_no[is_play]
    _, first = np.unique(session_key, return_index=True)  # the first round of each session
    m = np.sort(plays[first])
    wanted = np.maximum(MIN_SPEND, np.rint(spend_scale[act.player[m]] * rng.lognormal(0, 0.7, len(m)) / 10) * 10)
    keep = rng.random(len(m)) < spend_p[act.player[m]]
    m = m[keep]
    cand.add(act.player[m], act.ts[m], m, SPEND, IN_APP, wanted[keep], game=act.a[m])

    # Content unlocks: the activity's unlock attempts of verified adults, once verified and past 19 for sure (the
    # settlement decides which stage, and whether the balance holds its price).
    m = np.flatnonzero(act.kind == UNLOCK_CONTENT)
    owner = act.player[m]
    born = pop.birth_day[owner]
    adult = pop.verified[owner] & (act.ts[m] >= pop.verified_at[owner]) & (born >= 0)
    adult &= act.ts[m] // DAY - born > ADULT_DAYS
    m = m[adult]
    cand.add(act.player[m], act.ts[m], m, UNLOCK, IN_APP, np.zeros(len(m), dtype=np.int64))

    cols = cand.columns()
    cols = _settle(rng, cols, n, payer, buy_p, pref_pack)
    balance_after = _cumsum_in_group(cols["player"], cols["amount"])
    if len(balance_after) and balance_after.min() < 0:
        raise AssertionError("a generated balance went below zero")
    return TokenActions(
        player=cols["player"],
        seq=_rank_in_group(cols["player"]),
        ts=cols["ts"],
        kind=cols["kind"],
        source=cols["source"],
        amount=cols["amount"],
        balance_after=balance_after,
        game=cols["game"],
        pack=cols["pack"],
        stage=cols["stage"],
    )


def _settle(
    rng: np.random.Generator, cols: dict[str, Ints], n: int, payer: Bools, buy_p: Floats, pref_pack: Ints
) -> dict[str, Ints]:
    """Play the spends and unlocks in time order against the running balances: a payer short of tokens for a spend
    may buy a package first; a spend takes at most what the balance holds, and none below MIN_SPEND; an unlock takes
    the player's next free stage (``FREE_STAGE_PRICES``, in order) when the balance holds its whole price, and
    nothing otherwise (nor once every free stage is unlocked).

    Vectorized across players: step k settles every player's k-th spend or unlock at once. Returns the columns
    with the purchases added, the spends and unlocks that happened (amounts negative; an unlock's ``stage``: the
    index of its stage) and the earns.
    """
    player, kind = cols["player"], cols["kind"]
    credits = _cumsum_in_group(player, np.where(kind == EARN, cols["amount"], 0))
    spends = np.flatnonzero((kind == SPEND) | (kind == UNLOCK))
    spender = player[spends]
    is_unlock = kind[spends] == UNLOCK
    wanted = cols["amount"][spends]
    credit_before = credits[spends]
    rank = _rank_in_group(spender)
    chance = rng.random(len(spends))
    jitter = rng.integers(-1, 2, len(spends))
    stages = len(FREE_STAGE_PRICES)

    bought = np.zeros(n, dtype=np.int64)
    spent = np.zeros(n, dtype=np.int64)
    unlocked = np.zeros(n, dtype=np.int64)  # free stages unlocked so far, per player
    taken = np.zeros(len(spends), dtype=np.int64)
    pack = np.full(len(spends), -1, dtype=np.int64)
    stage = np.full(len(spends), -1, dtype=np.int64)
    by_rank = np.argsort(rank, kind="stable")
    done = 0
    for count in np.bincount(rank).tolist():  # each player at most once per step
        m = by_rank[done : done + count]
        done += count
        p = spender[m]
        u = is_unlock[m]
        balance = credit_before[m] + bought[p] - spent[p]
        buy = ~u & (wanted[m] > balance) & payer[p] & (chance[m] < buy_p[p])
        if buy.any():
            smallest = np.searchsorted(PACK_TOKENS, wanted[m][buy] - balance[buy])
            choice = np.clip(np.maximum(pref_pack[p[buy]] + jitter[m[buy]], smallest), 0, len(PACK_TOKENS) - 1)
            pack[m[buy]] = choice
            bought[p[buy]] += PACK_TOKENS[choice]
            balance[buy] += PACK_TOKENS[choice]
        take = np.minimum(wanted[m], balance)
        take = np.where(take >= MIN_SPEND, take, 0)
        if u.any() and stages:
            following = unlocked[p]
            price = FREE_STAGE_PRICES[np.minimum(following, stages - 1)]
            unlocks = u & (following < stages) & (balance >= price)
            take = np.where(u, np.where(unlocks, price, 0), take)
            stage[m[unlocks]] = following[unlocks]
            unlocked[p[unlocks]] += 1
        else:
            take = np.where(u, 0, take)
        taken[m] = take
        spent[p] += take

    earns = np.flatnonzero(kind == EARN)
    bought_at, made = spends[pack >= 0], spends[taken > 0]
    out = {name: np.concatenate([col[earns], col[bought_at], col[made]]) for name, col in cols.items()}
    purchases = slice(len(earns), len(earns) + len(bought_at))
    out["kind"][purchases] = PURCHASE
    out["source"][purchases] = CASH
    out["amount"][purchases] = PACK_TOKENS[pack[pack >= 0]]
    out["pack"][purchases] = pack[pack >= 0]
    out["game"][purchases] = -1
    out["amount"][purchases.stop :] = -taken[taken > 0]
    out["stage"] = np.concatenate([np.full(purchases.stop, -1, dtype=np.int64), stage[taken > 0]])
    return _ledger_order(out)


# --- formatting ---------------------------------------------------------------------------------


def metadata_json(kind: int, a: list[int], b: list[int], c: list[int], d: list[int]) -> list[str]:
    """Compact JSON objects for actions of one kind, from their metadata columns."""
    if kind == SESSION_START:
        return [f'{{"platform":"{PLATFORMS[x]}"}}' for x in a]
    if kind == GAME_PLAY:
        results = ("loss", "win")
        return [
            f'{{"game":"{GAMES[g]}","bet":{bet},"payout":{p},"result":"{results[w]}"}}'
            for g, bet, p, w in zip(a, b, c, d, strict=True)
        ]
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
        return [
            f'{{"question":"{QUIZ_QUESTIONS[q]}","answer":"{GAMES[x]}"}}'
            if q == FAVORITE_GAME_QUESTION
            else f'{{"question":"{QUIZ_QUESTIONS[q]}","answer":{x}}}'
            for q, x in zip(a, b, strict=True)
        ]
    if kind == CORPORATE_VISIT:
        funnels = ["[" + ",".join(f'"{s}"' for s in VISIT_FUNNEL[:k]) + "]" for k in range(len(VISIT_FUNNEL) + 1)]
        return [f'{{"dwell_seconds":{s},"actions":{funnels[k]}}}' for s, k in zip(a, b, strict=True)]
    raise ValueError(f"unknown kind {kind}")


def _suffixed(texts: list[str], suffix: str) -> Iterable[str]:
    return (t + suffix for t in texts) if suffix else texts


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

    def rows(self, utc_suffix: str = "") -> Iterator[tuple[str, int, str, str, str]]:
        """``utc_suffix`` is appended to the times (``+00`` for PostgreSQL)."""
        timestamps = _suffixed(self.timestamp, utc_suffix)
        return zip(self.event_id, self.user_id, self.action_type, self.metadata, timestamps, strict=True)


def action_rows(data: DemoData, start: int, stop: int) -> ActionRows:
    """The activity's actions in [start, stop) as rows, but the unlock attempts: an unlock is stored only with its
    ledger row, by the token economy."""
    act, pop = data.actions, data.population
    keep = np.flatnonzero(act.kind[start:stop] != UNLOCK_CONTENT) + start
    kind = act.kind[keep]
    user_id = pop.ids[act.player[keep]]
    metadata = np.empty(len(kind), dtype=object)
    for code in np.unique(kind).tolist():
        m = np.flatnonzero(kind == code)
        cols = [col[keep][m].tolist() for col in (act.a, act.b, act.c, act.d)]
        metadata[m] = metadata_json(code, *cols)
    prefix = f"demo-{data.spec.seed}-"
    users = user_id.tolist()
    return ActionRows(
        event_id=[f"{prefix}{u}-{n}" for u, n in zip(users, act.seq[keep].tolist(), strict=True)],
        user_id=users,
        action_type=[KIND_NAMES[k] for k in kind.tolist()],
        metadata=metadata.tolist(),
        timestamp=_utc_text(act.ts[keep]),
    )


@dataclass
class TokenRows:
    """One write chunk of token-moving actions with their ledger rows, as columns of Python values."""

    event_id: list[str]
    user_id: list[int]
    action_type: list[str]
    metadata: list[str]
    timestamp: list[str]
    action_id: list[int]
    ledger_id: list[int]
    idempotency_key: list[str]
    request_hash: list[str]
    kind: list[str]
    source: list[str]
    amount: list[int]
    balance_after: list[int]
    webhook_id: list[str | None]  # Company A earns: their site_rewards row's webhook id
    content: list[tuple[int, int] | None]  # unlocks: (adult_content id, stage number)
    reward_id: list[int | None]  # unlocks: their user_rewards row's id

    # ``utc_suffix`` is appended to the times (``+00`` for PostgreSQL).

    def action_rows(self, utc_suffix: str = "") -> Iterator[tuple[int, str, int, str, str, str]]:
        timestamps = _suffixed(self.timestamp, utc_suffix)
        return zip(
            self.action_id, self.event_id, self.user_id, self.action_type, self.metadata, timestamps, strict=True
        )

    def ledger_rows(
        self, utc_suffix: str = ""
    ) -> Iterator[tuple[int, int, str, str, str, str, int, int, str, int, str, str, str]]:
        return zip(
            self.ledger_id,
            self.user_id,
            self.idempotency_key,
            self.request_hash,
            self.kind,
            self.source,
            self.amount,
            self.balance_after,
            _suffixed(self.timestamp, utc_suffix),
            self.action_id,
            repeat(LEDGER_ACTOR),
            repeat(""),  # reason
            repeat(LEDGER_DETAILS),
        )

    def reward_rows(self, utc_suffix: str = "") -> list[tuple[int, int, str, int, str, int | None]]:
        """Unlocks' user_rewards rows: (id, user_id, reward_type, reward_value: the content id, awarded_at,
        trigger_action_id)."""
        return [
            (r, u, CONTENT_REWARD_TYPE, c[0], ts + utc_suffix, aid)
            for r, u, c, ts, aid in zip(
                self.reward_id, self.user_id, self.content, self.timestamp, self.action_id, strict=True
            )
            if r is not None and c is not None
        ]

    def unlock_rows(self, utc_suffix: str = "") -> list[tuple[int, int, int, int, str, int, int, int]]:
        """Unlocks' content_unlocks rows: (user_id, content_id, stage, spent_tokens, unlocked_at, ledger_entry_id,
        action_id, reward_id)."""
        return [
            (u, c[0], c[1], -a, ts + utc_suffix, lid, aid, r)
            for u, c, a, ts, lid, aid, r in zip(
                self.user_id,
                self.content,
                self.amount,
                self.timestamp,
                self.ledger_id,
                self.action_id,
                self.reward_id,
                strict=True,
            )
            if r is not None and c is not None
        ]

    def site_reward_rows(self, utc_suffix: str = "") -> list[tuple[int, str, int, str, str, int, int]]:
        """Company A's earns: (user_id, reward_type, reward_value, issued_at, webhook_id, action_id, ledger id)."""
        return [
            (u, REWARD_TYPE_OF_COMPANY_A_EARN, a, ts + utc_suffix, w, aid, lid)
            for u, a, ts, w, aid, lid in zip(
                self.user_id, self.amount, self.timestamp, self.webhook_id, self.action_id, self.ledger_id, strict=True
            )
            if w is not None
        ]


def token_metadata(
    kind: int, source: int, amount: int, game: int, pack: int, event_id: str, content: tuple[int, int] | None = None
) -> dict[str, Any]:
    """The metadata of one token-moving action, as the design brief lists it for its type (an unlock's ``content``:
    its adult_content id and stage number)."""
    if kind == EARN:
        return {"earned_tokens": amount, "source": SOURCES[source]}
    if kind == SPEND:
        return {"spent_tokens": -amount, "game": GAMES[game]}
    if kind == UNLOCK:
        assert content is not None
        return {"content_id": content[0], "stage": content[1], "spent_tokens": -amount}
    return {
        "tokens": amount,
        "amount_paid": int(PACK_PRICES_KRW[pack]),
        "currency": "KRW",
        "payment_id": f"pay-{event_id}",
    }


def token_rows(
    data: DemoData,
    idx: Ints,
    action_ids: Ints,
    ledger_ids: Ints,
    stages: list[tuple[int, int]] | None = None,
    reward_ids: list[int] | None = None,
) -> TokenRows:
    """Rows for the token-moving actions ``idx`` (indexes into ``data.tokens``, ids ``action_ids``) and
    their ledger rows (ids ``ledger_ids``): the key, source and request hash ``wallet_record_history``
    gives an import of the same action. Unlocks name ``stages[i]`` ((adult_content id, stage number) of free stage
    i) and take their reward rows' ids from ``reward_ids``, in order."""
    tok = data.tokens
    rewards = iter(reward_ids or ())
    users = data.population.ids[tok.player[idx]].tolist()
    kinds = tok.kind[idx].tolist()
    sources = tok.source[idx].tolist()
    amounts = tok.amount[idx].tolist()
    timestamps = _utc_text(tok.ts[idx])
    prefix = f"demo-{data.spec.seed}-"
    rows = TokenRows(
        [],
        users,
        [],
        [],
        timestamps,
        action_ids.tolist(),
        ledger_ids.tolist(),
        [],
        [],
        [],
        [],
        amounts,
        tok.balance_after[idx].tolist(),
        [],
        [],
        [],
    )
    for user, seq, kind, source, amount, game, pack, stage, ts in zip(
        users,
        tok.seq[idx].tolist(),
        kinds,
        sources,
        amounts,
        tok.game[idx].tolist(),
        tok.pack[idx].tolist(),
        tok.stage[idx].tolist(),
        timestamps,
        strict=True,
    ):
        event_id = f"{prefix}{user}-t{seq}"
        action_type = TOKEN_ACTION_TYPES[kind]
        content = None
        if kind == UNLOCK:
            assert stages is not None
            content = stages[stage]
        rows.content.append(content)
        rows.reward_id.append(next(rewards) if content is not None else None)
        metadata = token_metadata(kind, source, amount, game, pack, event_id, content)
        # As an import parses it: an aware UTC datetime, whose isoformat() this is.
        iso = ts.replace(" ", "T") + "+00:00"
        rows.event_id.append(event_id)
        rows.action_type.append(action_type)
        rows.metadata.append(orjson.dumps(metadata).decode())
        rows.idempotency_key.append(f"import:{event_id}")
        rows.request_hash.append(
            request_fingerprint(
                {"user_id": user, "action_type": action_type, "metadata": metadata, "action_timestamp": iso}
            )
        )
        rows.kind.append(LEDGER_KINDS[kind])
        rows.source.append(SOURCES[source])
        rows.webhook_id.append(event_id if kind == EARN and source == CORPORATE else None)
    return rows


PlayerRow = tuple[int, str, str, str, str | None, bool, str | None]


def _player_rows(pop: Population, utc_suffix: str = "") -> list[PlayerRow]:
    """Rows for ``players``; ``utc_suffix`` is appended to the times (``+00`` for PostgreSQL)."""
    signups = [t + utc_suffix for t in _utc_text(pop.signup)]
    verified_at = [t + utc_suffix for t in _utc_text(pop.verified_at)]
    births = np.datetime_as_string(np.maximum(pop.birth_day, 0).astype("datetime64[D]")).tolist()
    return [
        (pid, signup, LOCALES[loc], TIMEZONES[tz], birth if known else None, ver, ver_at if ver else None)
        for pid, signup, loc, tz, birth, known, ver, ver_at in zip(
            pop.ids.tolist(),
            signups,
            pop.locale.tolist(),
            pop.tz.tolist(),
            births,
            (pop.birth_day >= 0).tolist(),
            pop.verified.tolist(),
            verified_at,
            strict=True,
        )
    ]


# --- storing ------------------------------------------------------------------------------------
# Each table is written by its owner's bulk-load service; the rows are formatted here.


def demo_store(data: DemoData, *, on_progress: Progress | None = None) -> DemoLoadResult:
    """Write the players, their actions and their token economy (token-moving actions with their
    ledger rows, wallets, site_rewards) in one transaction, skipping rows already there (same player
    id, same event id; the economy of players who have a wallet already); then rebuild the hot
    metrics the new rows imply and fill Redis' balance copy of the players."""
    utc = _utc_suffix()
    with _sqlite_page_cache(), transaction.atomic():
        players_stored = players_load(rows=_player_rows(data.population, utc))
        actions_stored = _store_actions(data, utc, on_progress)
        economy = _store_economy(data, utc, on_progress)
    with _sqlite_page_cache():
        hot_metrics_repair()
    ids = data.population.ids
    cached = balance_cache_fill(first_player_id=int(ids[0]), last_player_id=int(ids[-1])) if len(ids) else 0
    return DemoLoadResult(
        players_generated=len(data.population.ids),
        players_stored=players_stored,
        actions_generated=data.plain_actions,
        actions_stored=actions_stored,
        actions_by_type=data.counts_by_type(),
        token_actions_generated=len(data.tokens),
        token_actions_stored=economy.token_actions,
        token_actions_skipped=len(data.tokens) - economy.token_actions,
        wallets_stored=economy.wallets,
        site_rewards_stored=economy.site_rewards,
        unlocks_stored=economy.unlocks,
        stages_stored=economy.stages,
        balances_cached=cached,
    )


def _utc_suffix() -> str:
    """What follows a UTC time's text: ``+00`` on PostgreSQL (a timestamptz), nothing on SQLite (how Django
    stores datetimes there)."""
    return "+00" if connection.vendor == "postgresql" else ""


def _store_actions(data: DemoData, utc: str, on_progress: Progress | None) -> int:
    """The actions: when none of these players has any yet (a first load), straight into the table, a few
    times faster; else (or should an event id clash all the same) skipping event ids already there."""
    ids = data.population.ids
    if len(ids) and not actions_exist(first_player_id=int(ids[0]), last_player_id=int(ids[-1])):
        try:
            with transaction.atomic():  # a savepoint: a clash undoes only this attempt
                return _load_actions(data, utc, on_progress, skip_existing=False)
        except IntegrityError:
            on_progress = None  # counted once already
    return _load_actions(data, utc, on_progress, skip_existing=True)


def _load_actions(data: DemoData, utc: str, on_progress: Progress | None, *, skip_existing: bool) -> int:
    stored = 0
    for start, stop in _chunks(len(data.actions)):
        stored += actions_load(rows=action_rows(data, start, stop).rows(utc), skip_existing=skip_existing)
        if on_progress is not None:
            on_progress(stop - start)
    return stored


@dataclass(frozen=True)
class _EconomyStored:
    token_actions: int
    wallets: int
    site_rewards: int
    unlocks: int = 0
    stages: int = 0


def _now_text() -> str:
    """Now, as the loads take a time: ISO text on PostgreSQL, UTC text on SQLite."""
    if connection.vendor == "postgresql":
        return timezone.now().isoformat()
    return _utc_text(np.array([int(time.time())], dtype=np.int64))[0]


def _demo_catalog() -> tuple[list[tuple[int, int]], int]:
    """The demo catalog in ``adult_content``: its stages whose numbers are free are added (a stage staff made under a
    number is used as it is). Returns (adult_content id, stage number) of each free stage, in order, and how many
    stages were added."""
    have = catalog_stage_ids()
    missing = [(number, price, level) for number, price, level in DEMO_STAGES if number not in have]
    if missing:
        ids = content_ids_reserve(count=len(missing))
        now = _now_text()
        catalog_load(
            rows=[
                (
                    cid,
                    number,
                    f"Demo stage {number}",
                    f"Demo content, stage {number} of {len(DEMO_STAGES)}.",
                    f"https://cdn.example.com/demo/stage-{number}.jpg",
                    f"https://cdn.example.com/demo/stage-{number}.mp4",
                    level,
                    price,
                    True,
                    now,
                    now,
                )
                for cid, (number, price, level) in zip(ids, missing, strict=True)
            ]
        )
        have.update({number: cid for cid, (number, _, _) in zip(ids, missing, strict=True)})
    return [(have[number], number) for number, _, level in DEMO_STAGES if level == 0], len(missing)


def _store_economy(data: DemoData, utc: str, on_progress: Progress | None) -> _EconomyStored:
    """The token economy of the players who have neither a wallet nor ledger rows yet (all of them on a
    first load, none on a re-run). Row ids are given here: ledger ids ascend in time order per player."""
    pop, tok = data.population, data.tokens
    if len(pop.ids) == 0:
        return _EconomyStored(0, 0, 0)
    stages, stages_added = _demo_catalog()
    wallets_lock_exclusive()  # no wallet write in between: the players found fresh stay fresh until commit
    have_wallet = wallet_holders(first_player_id=int(pop.ids[0]), last_player_id=int(pop.ids[-1]))
    fresh = ~np.isin(pop.ids, np.array(sorted(have_wallet), dtype=np.int64))
    selected = np.flatnonzero(fresh[tok.player])  # still by player, then time
    action_ids = np.array(action_ids_reserve(count=len(selected)), dtype=np.int64)
    ledger_ids = np.array(ledger_ids_reserve(count=len(selected)), dtype=np.int64)
    reward_ids = reward_ids_reserve(count=int(np.count_nonzero(tok.kind[selected] == UNLOCK)))

    # Each fresh player's wallet: the balance after their last row, and that row's id.
    balance = np.zeros(len(pop.ids), dtype=np.int64)
    last_entry = np.zeros(len(pop.ids), dtype=np.int64)
    if len(selected):
        last = np.r_[np.flatnonzero(np.diff(tok.player[selected])), len(selected) - 1]
        balance[tok.player[selected[last]]] = tok.balance_after[selected[last]]
        last_entry[tok.player[selected[last]]] = ledger_ids[last]
    players = np.flatnonzero(fresh)

    rewards = unlocks = used = 0
    for start, stop in _chunks(len(selected)):
        chunk = selected[start:stop]
        count = int(np.count_nonzero(tok.kind[chunk] == UNLOCK))
        rows = token_rows(
            data, chunk, action_ids[start:stop], ledger_ids[start:stop], stages, reward_ids[used : used + count]
        )
        used += count
        # The actions first, then the ledger rows, site_rewards, user_rewards and unlocks pointing at them. A clash
        # stops the load.
        actions_load_with_ids(rows=rows.action_rows(utc))
        ledger_history_load(rows=rows.ledger_rows(utc))
        rewards += site_rewards_load(rows=rows.site_reward_rows(utc))
        rewards_load(rows=rows.reward_rows(utc))
        unlocks += unlocks_load(rows=rows.unlock_rows(utc))
        if on_progress is not None:
            on_progress(stop - start)
    if on_progress is not None:
        on_progress(len(tok) - len(selected))
    now = _now_text()
    wallets = [
        (p, b, last, now)
        for p, b, last in zip(
            pop.ids[players].tolist(), balance[players].tolist(), last_entry[players].tolist(), strict=True
        )
    ]
    return _EconomyStored(len(selected), wallets_load(rows=wallets), rewards, unlocks, stages_added)


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
