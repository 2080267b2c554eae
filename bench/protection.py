"""Player protection in the moment (issue 12): a simulated population through the real ingest, wallet,
recommendation and notification code, checked against the simulator's own ground truth; then what the live
signals cost the ingest and recommendation benches.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python bench/protection.py [--quick]
        [--players 10000] [--days 14] [--start 2026-10-19] [--seed 1] [--skip-rates] [--rate-rounds 2] [--keep-db]

1. Rates (first, in subprocesses; ``--skip-rates`` leaves them out): ``bench/ingest.py --quick`` and
   ``bench/recommend.py --quick``, each run with ``LIVE_PROTECTION=false`` (the baseline: no live state kept or
   read, no reality checks) and ``true``, alternating (off, on, on, off for ``--rate-rounds 2``) so that the
   machine's drift weighs on both alike. ``LIVE_PROTECTION`` is in each subprocess's environment, which
   ``bench/common.py`` hands to the servers it starts. The headline rates (ingest: ``api_actions_per_s``;
   recommendations: the saturation rate ``recommendations.requests_per_s``) are averaged per setting, and the
   ratio on/off is the target (>= 0.9 each: the live signals cost under 10%). The recommendation bench's own
   ratio to its bare view is reported on and off too (the same comparison with the drift of each run taken out),
   and for both benches the CPU that the server, PostgreSQL and Redis spent per 1,000 actions or requests, and the
   load from outside the run (``other_cores``): a ``--quick`` run is timed for a few seconds, and on a shared
   machine its rate moves by tens of percent from one run to the next. They run before this process takes the
   benchmark lock (each takes it in turn).
2. The simulation, in this process (Django on the bench's database ``<db>_bench`` and Redis DB 15, production
   settings, tasks eager, pushes through the log transport), in simulated time. Every call is the product's own:
   actions through ``parse_batch`` and ``actions_ingest`` (what POST /api/actions runs), spends through the
   wallet's ``ledger_post`` with ``protection_check_spend`` (what ``wallet_spend`` does, at the simulated time),
   recommendations through ``recommendation_serve(player_id=, now=)``, marketing pushes through
   ``notification_create(kind="marketing", now=)`` (the segment-upgrade push's type and text), safeguards
   through ``protection_update(now=)``, and the nightly ``harm_markers_compute(as_of=)`` at 03:30 business time
   (its beat schedule). Players are made with ``players_load``; each gets a grant of tokens through the wallet
   the day before; 30% get the High-Risk profile (``UserService.set_risk_profile``), so that a player nothing
   protects is offered HIGH_STAKE (balance >= 500) and often RISKY_PLAY: the zeros below are not for lack of
   proposals.

Population (seeded; shares in the output): 5% loss chasers (sessions with runs of 7 losing rounds, the bet
doubling from 10 to 640, two minutes apart), 5% velocity spenders (small daily spends, and on some days a burst of
spends far above them), 5% late-night players (sessions from about midnight to 01:00-04:00 on their own clock, half
in Asia/Seoul, half in Europe/London), 5% with daily and weekly spend limits (who spend up to them), 2% in a
cool-off (half set before the run, half during it, 1 to 4 days), 1% self-excluded (half before, half during), the
rest ordinary players (mostly Seoul, some London and New York; a few play for three hours or more). 10% of players
chose reality checks every 30 minutes, 5% every 90, the rest keep the default (``REALITY_CHECK_MINUTES``).
Sessions have an action every two minutes or so (at times a pause of 10 to 29 minutes), some with spends. Time
advances in 5-minute ticks: each tick's spends and safeguard changes in time order (the wallet and the settings are
called when they happen), then its actions, posted in batches of up to 1,000 at the tick's end (as a game server
reports its rounds), then the probes: a recommendation and a marketing push attempt for each player due one. So
rounds arrive up to five minutes late, after the spends of their tick: the live state sees play out of order, as
it will in production. A session gets a probe at a random moment in it (two in a late-night session), one at its end
and, for some, one 10 to 90 minutes after it.

The simulated fortnight is placed by default so that it holds Europe/London's return from summer time (2026-10-25:
01:00-02:00 happens twice) and New York's a week later: a night player's clock is not a clock of elapsed time
then. ``--start`` moves it.

Ground truth: the simulator decides what should hold from what it generated and what the wallet accepted, with the
thresholds of ``settings.LIVE_HARM_SIGNALS`` and the rules as ``players.live_harm`` states them, never by asking
the code under test:

- protected: a cool-off or self-exclusion the simulator set is in force;
- nightly marker: ``player_harm_markers`` holds a row for the player (the stored state, read after each nightly
  run);
- live signals at a probe's time T: LIVE_LOSS_CHASING when a bet of the player's sessions came after at least
  ``chase_min_losses`` losing rounds in a row of that session and was more than, and at least ``chase_bet_ratio``
  times, the first bet of that run, less than ``calm_minutes`` before T; LIVE_SPEND_VELOCITY when the spends
  accepted in (T - ``velocity_window_minutes``, T] add up to at least the player's threshold (no norm:
  ``velocity_tokens_without_norm``; else the larger of ``velocity_min_tokens`` and ``velocity_ratio`` times the
  norm, the median daily spend over the local days with spend among the 30 before the last nightly run's day,
  when there are at least 3 such days); LIVE_LONG_SESSION and LIVE_LATE_NIGHT while the session is going (its last
  action at most ``session_gap_minutes`` before T), lasting at least ``long_session_minutes``, or with at least
  ``late_night_minutes`` of elapsed time inside the local night. A session is play: game rounds (GAME_PLAY,
  FAIL_GAME) and accepted spends, each at most ``session_gap_minutes`` after the one before (browsing and session
  starts are not play).
- reality checks due: per session, one at each arrival of its play (an accepted spend when it is made, a batch of
  rounds when it is posted) after which the play that has arrived (its last time minus the session's start) has
  passed a multiple of the player's interval (a multiple of ``REALITY_CHECK_STEP_MINUTES``) that it had not passed:
  one check however many multiples one arrival passes (decision 0013: at most one check per interval; rounds at
  minutes 89 and 91 of a session posted together after a pause from minute 59 are one check at 91, not two at
  once); sent: the REALITY_CHECK rows in ``notifications``.

Counted at each probe: a stake-raising proposal (HIGH_STAKE, RISKY_PLAY) served to a player protected or marked
(target 0); a marketing push not suppressed (pending or sent) to such a player (target 0): a push held for quiet
hours counts, since it goes out when the hold ends unless a safeguard holds then. Beside them: how many probes were
checked in each state, the live signals and nightly markers the recommendation's LIMIT_SUGGESTION names against the
ones expected (missed and extra, with examples), the pushes' outcomes by state (their status when recorded: pending
is handed to the transport after commit, or held for quiet hours), the stake-raising proposals and pushes that
reached players nothing protects (the controls), and the wallet's answers to spends against the simulator's own
expectation (cool-off, self-exclusion, limits). ``MARKETING_PUSH_DAILY_CAP`` is raised for the run so that only a
safeguard can hold a push (the cap would otherwise hide a miss after a player's second push of the day). Each
failure is listed in full (player, times in UTC and on their clock, what was expected, what was served).

The last stdout line is the JSON result (design brief section 7); progress goes to stderr, a line per simulated day.
``--quick``: 1,000 players for 3 days (about a minute) and one off/on pair of each rate bench (half a minute each).
The bench database and Redis DB are emptied at the end (``--keep-db`` keeps them). Exits 0 when the run completed,
whether or not the targets were met.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import time
import zoneinfo
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import PYTHON, ROOT, BenchEnv, emit, load_average, log, target, url_shown

MINUTE = 60_000  # times are Unix milliseconds
HOUR = 60 * MINUTE
DAY = 24 * HOUR
TICK = 5 * MINUTE
BATCH = 1000  # actions per ingest call, as a client's batch
NIGHTLY_AT = dt.time(3, 30)  # config/schedule.py: the harm markers at 03:30 business time
LONDON_DST_END = dt.date(2026, 10, 25)  # Europe/London leaves summer time: 01:00-02:00 happens twice
PUSH_CAP = 1_000_000  # MARKETING_PUSH_DAILY_CAP for the run: only a safeguard may hold a push
TARGET_RATE_RATIO = 0.9

# Player kinds and their shares; the rest are ordinary players.
CHASER, VELOCITY, LATE_NIGHT = "loss_chaser", "velocity_spender", "late_night"
LIMITS, COOL_OFF, EXCLUDED, ORDINARY = "spend_limits", "cool_off", "self_excluded", "ordinary"
SHARES = {CHASER: 0.05, VELOCITY: 0.05, LATE_NIGHT: 0.05, LIMITS: 0.05, COOL_OFF: 0.02, EXCLUDED: 0.01}
# Share of days on which a player of each kind plays (the knob that sizes the run).
PLAYS = {CHASER: 0.35, VELOCITY: 0.5, LATE_NIGHT: 0.4, LIMITS: 0.2, COOL_OFF: 0.3, EXCLUDED: 0.3, ORDINARY: 0.05}
PLAY_TYPES = ("GAME_PLAY", "FAIL_GAME")  # the actions that are play (browsing and session starts are not)
REALITY_CHECK_CHOICES = ((30, 0.10), (90, 0.05))  # (minutes, share); the rest keep the default
HIGH_RISK_SHARE = 0.3
GRANT = 100_000
GAMES = ("SlotMachine", "Roulette", "RPSGame")
STAKE_RAISING = frozenset({"HIGH_STAKE", "RISKY_PLAY"})
EXAMPLES = 20  # failures and mismatches shown in full


# --- the rules, from settings ---------------------------------------------------------------------------------


class Rules(NamedTuple):
    gap: int
    chase_min_losses: int
    chase_ratio: float
    calm: int
    window: int
    velocity_ratio: float
    velocity_min: int
    velocity_without_norm: int
    long_session: int
    late_night: int
    night_start: int
    night_end: int
    norm_days: int
    norm_min_days: int
    default_interval: int

    @classmethod
    def from_settings(cls) -> Rules:
        from django.conf import settings

        live: dict[str, Any] = settings.LIVE_HARM_SIGNALS
        harm: dict[str, Any] = settings.HARM_MARKERS
        return cls(
            gap=live["session_gap_minutes"] * MINUTE,
            chase_min_losses=live["chase_min_losses"],
            chase_ratio=live["chase_bet_ratio"],
            calm=live["calm_minutes"] * MINUTE,
            window=live["velocity_window_minutes"] * MINUTE,
            velocity_ratio=live["velocity_ratio"],
            velocity_min=live["velocity_min_tokens"],
            velocity_without_norm=live["velocity_tokens_without_norm"],
            long_session=live["long_session_minutes"] * MINUTE,
            late_night=live["late_night_minutes"] * MINUTE,
            night_start=live["late_night_start_hour"],
            night_end=live["late_night_end_hour"],
            norm_days=harm["spend_spike_baseline_days"],
            norm_min_days=harm["spend_spike_min_baseline_days"],
            default_interval=settings.REALITY_CHECK_MINUTES,
        )


# --- a player and the simulator's ground truth about them ------------------------------------------------------


def _to_ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def _at(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


@dataclass
class Player:
    """A simulated player: who they are, and what the simulator knows should hold for them (its ground truth,
    kept from the events it generated and the spends the wallet accepted, in time order)."""

    id: int
    kind: str
    tz_name: str
    interval: int  # reality-check minutes
    risk: str | None = None
    daily_limit: int | None = None
    weekly_limit: int | None = None
    # safeguards: [start, end) of each cool-off; the start of a self-exclusion
    cool_offs: list[tuple[int, int]] = field(default_factory=list)
    excluded_from: int | None = None
    balance: int = 0
    # the session and the losing run in it
    session_start: int | None = None
    session_last: int | None = None
    run_losses: int = 0
    run_first_bet: int = 0
    chase_at: int | None = None
    # spends: the last hour's (time, tokens), tokens by local day, the norm of the last nightly run
    spends: deque[tuple[int, int]] = field(default_factory=deque)
    daily_spend: dict[dt.date, int] = field(default_factory=lambda: defaultdict(int))
    norm: float | None = None
    # reality checks: due so far; of the session, the intervals passed as its arrived play says, and that play's last
    checks_due: int = 0
    checks_passed: int = 0
    arrived_last: int = 0
    sessions: list[tuple[int, int]] = field(default_factory=list)  # (start, last) of the closed sessions

    def __post_init__(self) -> None:
        self.tz = zoneinfo.ZoneInfo(self.tz_name)

    @property
    def locale(self) -> str:
        return "ko" if self.tz_name == "Asia/Seoul" else "en"

    # what happened
    def in_app(self, at: int, rules: Rules, *, bet: int | None = None, lost: bool = False) -> None:
        """Play at ``at``: a GAME_PLAY round when ``bet`` is given, else a failed game or an accepted spend."""
        if self.session_last is None or at - self.session_last > rules.gap:
            self.close_session()
            self.session_start = self.session_last = at
            self.run_losses = self.run_first_bet = 0
        else:
            self.session_last = max(self.session_last, at)
        if bet is None:
            return
        first = self.run_first_bet
        if self.run_losses >= rules.chase_min_losses and bet > first and bet >= rules.chase_ratio * first:
            self.chase_at = at
        if lost:
            if self.run_losses == 0:
                self.run_first_bet = bet
            self.run_losses += 1
        else:
            self.run_losses = 0

    def spent(self, at: int, tokens: int, rules: Rules) -> None:
        self.in_app(at, rules)
        self.balance -= tokens
        self.spends.append((at, tokens))
        while self.spends and self.spends[0][0] <= at - rules.window - HOUR:
            self.spends.popleft()
        self.daily_spend[self.local_date(at)] += tokens

    def arrived(self, last: int) -> None:
        """The product hears of the session's play up to ``last`` (a spend when it is made, a batch of rounds when it
        is posted): a reality check is due when the play it has heard of passes a multiple of the player's interval
        that it had not passed before, one check however many it passes at once (decision 0013)."""
        if self.session_start is None:
            return
        self.arrived_last = max(self.arrived_last, last)
        passed = (self.arrived_last - self.session_start) // (self.interval * MINUTE)
        if passed > self.checks_passed:
            self.checks_due += 1
            self.checks_passed = passed

    def close_session(self) -> None:
        if self.session_start is not None and self.session_last is not None:
            self.sessions.append((self.session_start, self.session_last))
        self.session_start = self.session_last = None
        self.checks_passed = self.arrived_last = 0

    # what should hold
    def local_date(self, at: int) -> dt.date:
        return dt.datetime.fromtimestamp(at / 1000, self.tz).date()

    def paused(self, at: int) -> str | None:
        if self.excluded_from is not None and self.excluded_from <= at:
            return "self_excluded"
        if any(start <= at < end for start, end in self.cool_offs):
            return "cooling_off"
        return None

    def live_signals(self, now: int, rules: Rules) -> frozenset[str]:
        found = set()
        if self.chase_at is not None and 0 <= now - self.chase_at < rules.calm:
            found.add("LIVE_LOSS_CHASING")
        spent = sum(tokens for at, tokens in self.spends if now - rules.window < at <= now)
        if self.norm is None:
            threshold = float(rules.velocity_without_norm)
        else:
            threshold = max(rules.velocity_min, rules.velocity_ratio * self.norm)
        if spent > 0 and spent >= threshold:
            found.add("LIVE_SPEND_VELOCITY")
        if self.session_last is not None and self.session_start is not None and now - self.session_last <= rules.gap:
            if self.session_last - self.session_start >= rules.long_session:
                found.add("LIVE_LONG_SESSION")
            if self.night_ms(self.session_start, self.session_last, rules) >= rules.late_night:
                found.add("LIVE_LATE_NIGHT")
        return frozenset(found)

    def night_ms(self, start: int, end: int, rules: Rules) -> int:
        """Elapsed milliseconds of [start, end] inside the player's nights (their clock's 00:00-05:00)."""
        total = 0
        wraps = dt.timedelta(days=1 if rules.night_end <= rules.night_start else 0)  # e.g. 23:00-05:00
        day = self.local_date(start) - dt.timedelta(days=1)
        while day <= self.local_date(end):
            w0 = _to_ms(dt.datetime.combine(day, dt.time(rules.night_start), tzinfo=self.tz))
            w1 = _to_ms(dt.datetime.combine(day + wraps, dt.time(rules.night_end), tzinfo=self.tz))
            total += max(0, min(end, w1) - max(start, w0))
            day += dt.timedelta(days=1)
        return total

    def norm_at(self, as_of: int, rules: Rules) -> float | None:
        """The median daily spend over the local days with spend among the ``norm_days`` before as_of's day."""
        today = self.local_date(as_of)
        first = today - dt.timedelta(days=rules.norm_days)
        days = [tokens for day, tokens in self.daily_spend.items() if first <= day < today and tokens > 0]
        return float(statistics.median(days)) if len(days) >= rules.norm_min_days else None

    def spent_since_local(self, at: int, days_back: int) -> int:
        today = self.local_date(at)
        return sum(self.daily_spend.get(today - dt.timedelta(days=d), 0) for d in range(days_back + 1))

    def expected_refusal(self, at: int, tokens: int) -> str | None:
        """What the wallet should answer a spend of ``tokens`` at ``at``: None (accepted) or the refusal."""
        paused = self.paused(at)
        if paused is not None:
            return paused
        today = self.local_date(at)
        if self.daily_limit is not None and self.spent_since_local(at, 0) + tokens > self.daily_limit:
            return "spend_limit_reached"
        if self.weekly_limit is not None and self.spent_since_local(at, today.weekday()) + tokens > self.weekly_limit:
            return "spend_limit_reached"
        if tokens > self.balance:
            return "insufficient_balance"
        return None


class Expected(NamedTuple):
    """What the simulator knows should hold for a player at a probe."""

    paused: str | None
    markers: frozenset[str]
    live: frozenset[str]

    @property
    def guarded(self) -> bool:
        """Protected (cool-off, self-exclusion) or marked (a nightly marker or a live signal)."""
        return self.paused is not None or bool(self.markers) or bool(self.live)

    def states(self) -> list[str]:
        out = [self.paused] if self.paused else []
        out += [f"nightly:{m}" for m in sorted(self.markers)]
        out += [f"live:{s}" for s in sorted(self.live)]
        return out or ["unguarded"]


# --- the population -------------------------------------------------------------------------------------------


def make_players(rng: random.Random, n: int, rules: Rules) -> list[Player]:
    kinds: list[str] = []
    for kind, share in SHARES.items():
        kinds += [kind] * round(n * share)
    kinds += [ORDINARY] * (n - len(kinds))
    rng.shuffle(kinds)
    players = []
    for i, kind in enumerate(kinds, start=1):
        if kind == LATE_NIGHT:
            tz = "Asia/Seoul" if i % 2 else "Europe/London"
        else:
            roll = rng.random()
            tz = "Asia/Seoul" if roll < 0.85 else "Europe/London" if roll < 0.95 else "America/New_York"
        roll, interval = rng.random(), rules.default_interval
        for minutes, share in REALITY_CHECK_CHOICES:
            if roll < share:
                interval = minutes
                break
            roll -= share
        p = Player(id=i, kind=kind, tz_name=tz, interval=interval, balance=GRANT)
        p.risk = "High-Risk" if rng.random() < HIGH_RISK_SHARE else None
        if kind == LIMITS:
            p.daily_limit = rng.choice((150, 200, 300, 400))
            p.weekly_limit = p.daily_limit * rng.choice((3, 4, 5))
        players.append(p)
    return players


def population_summary(players: list[Player], rules: Rules) -> dict[str, Any]:
    kinds = Counter(p.kind for p in players)
    return {
        "players": len(players),
        "kinds": {k: {"players": v, "share": round(v / len(players), 3)} for k, v in sorted(kinds.items())},
        "timezones": dict(Counter(p.tz_name for p in players)),
        "late_night_timezones": dict(Counter(p.tz_name for p in players if p.kind == LATE_NIGHT)),
        "reality_check_minutes": dict(Counter(p.interval for p in players)),
        "high_risk_profile": sum(p.risk == "High-Risk" for p in players),
        "grant_tokens": GRANT,
        "plays_share_of_days": PLAYS,
        "default_reality_check_minutes": rules.default_interval,
    }


# --- the plan: sessions, spends, safeguards and probes as events ----------------------------------------------

ACTION, SPEND, PROTECT, PROBE = 0, 1, 2, 3  # event kinds; at one time, in this order


class Event(NamedTuple):
    at: int
    kind: int
    player_id: int
    data: Any  # ACTION: (type, metadata); SPEND: tokens; PROTECT: changes; PROBE: None


def _event_order(e: Event) -> tuple[int, int, int]:
    return e.at, e.kind, e.player_id  # the data may not compare (dicts); the sort is stable


@dataclass
class Planner:
    rng: random.Random
    rules: Rules
    start: int
    end: int

    def safeguard_events(self, players: list[Player]) -> tuple[list[tuple[Player, dict[str, Any]]], list[Event]]:
        """The safeguards: (player, changes) set before the run, and the changes made during it (as events).
        Half the cool-offs and self-exclusions start before the run, half during it."""
        before: list[tuple[Player, dict[str, Any]]] = []
        during: list[Event] = []
        rng = self.rng
        for p in players:
            changes: dict[str, Any] = {}
            if p.interval != self.rules.default_interval:
                changes["reality_check_minutes"] = p.interval
            if p.daily_limit is not None:
                changes.update(daily_spend_limit=p.daily_limit, weekly_spend_limit=p.weekly_limit)
            at = None
            if p.kind in (COOL_OFF, EXCLUDED):
                span = max(self.end - self.start - DAY, HOUR)
                at = self.start - HOUR if rng.random() < 0.5 else self.start + rng.randrange(span)
                if p.kind == COOL_OFF:
                    until = at + rng.randint(1, 4) * DAY + rng.randrange(DAY)
                    p.cool_offs.append((at, until))
                    change = {"cool_off_until": _at(until)}
                else:
                    p.excluded_from = at
                    change = {"self_excluded_until": _at(at + 200 * DAY)}
                if at < self.start:
                    changes.update(change)
                else:
                    during.append(Event(at, PROTECT, p.id, change))
            if changes:
                before.append((p, changes))
        return before, during

    def day(self, p: Player, date: dt.date) -> list[Event]:
        """The player's events of their local ``date`` (none on a day they do not play), inside the run."""
        rng = self.rng
        if rng.random() >= PLAYS[p.kind]:
            return []
        midnight = _to_ms(dt.datetime.combine(date, dt.time(), tzinfo=p.tz))
        if p.kind == LATE_NIGHT:
            events = self.session(p, midnight + rng.randint(-30, 90) * MINUTE, rng.randint(60, 240), probes=2)
            if rng.random() < 0.3:
                events += self.session(p, midnight + rng.randint(18, 21) * HOUR, rng.randint(15, 45))
        elif p.kind == CHASER:
            start = midnight + rng.randint(10 * 60, 22 * 60) * MINUTE
            events = self.session(p, start, rng.randint(40, 80), chases=rng.choice((1, 1, 2)))
        elif p.kind == VELOCITY:
            burst = rng.random() < 0.4
            start = midnight + rng.randint(10 * 60, 22 * 60) * MINUTE
            events = self.session(p, start, rng.randint(40, 70), spends=rng.randint(1, 2), burst=burst)
        else:
            marathon = p.kind == ORDINARY and rng.random() < 0.05
            minutes = rng.randint(180, 240) if marathon else rng.randint(10, 50)
            spends = rng.randint(2, 4) if p.kind == LIMITS else int(rng.random() < 0.4)
            start = midnight + rng.randint(8 * 60, 22 * 60) * MINUTE
            events = self.session(p, start, minutes, spends=spends)
        return [e for e in events if self.start <= e.at < self.end]

    def session(
        self,
        p: Player,
        start: int,
        minutes: int,
        *,
        spends: int = 0,
        chases: int = 0,
        burst: bool = False,
        probes: int = 1,
    ) -> list[Event]:
        rng = self.rng
        end = start + minutes * MINUTE
        times = [start]
        while times[-1] < end:
            if rng.random() < 0.015:
                gap = rng.randint(10, 29) * MINUTE + rng.randrange(MINUTE)
            else:
                gap = min(8 * MINUTE, max(5000, int(rng.expovariate(1 / (2 * MINUTE)))))
            times.append(times[-1] + gap)
        bet = rng.choice((10, 20, 50, 100))
        events = [Event(start, ACTION, p.id, ("SESSION_START", {"platform": "ios"}))]
        chase_windows = []
        for _ in range(chases):
            c = start + rng.randrange(max(1, (minutes - 14) * MINUTE))
            chase_windows.append((c, c + 14 * MINUTE))
            events += [self.round(p, c + k * 2 * MINUTE + rng.randrange(30_000), 10 << k, False) for k in range(7)]
        for t in times[1:]:
            if any(c0 - MINUTE <= t <= c1 + MINUTE for c0, c1 in chase_windows):
                continue
            events.append(self.regular(p, t, bet))
        for t in rng.sample(times, min(spends, len(times))):
            events.append(Event(t + rng.randrange(1, 30_000), SPEND, p.id, rng.randint(20, 150)))
        if burst:
            t = start + rng.randrange(max(1, (minutes - 30) * MINUTE))
            for _ in range(rng.randint(5, 10)):
                t += rng.randint(1, 5) * MINUTE
                events.append(Event(t, SPEND, p.id, rng.randint(150, 500)))
        last = max(e.at for e in events)
        for _ in range(probes if minutes > 30 else 0):
            events.append(Event(start + rng.randrange(max(1, last - start)), PROBE, p.id, None))
        events.append(Event(last + 1, PROBE, p.id, None))
        if rng.random() < 0.3:
            events.append(Event(last + rng.randint(10, 90) * MINUTE, PROBE, p.id, None))
        return events

    def round(self, p: Player, at: int, bet: int, won: bool) -> Event:
        meta = {"game": self.rng.choice(GAMES), "bet": bet, "payout": 2 * bet if won else 0}
        meta["result"] = "win" if won else "loss"
        return Event(at, ACTION, p.id, ("GAME_PLAY", meta))

    def regular(self, p: Player, at: int, bet: int) -> Event:
        rng = self.rng
        roll = rng.random()
        if roll < 0.65:
            return self.round(p, at, bet, rng.random() < 0.45)
        if roll < 0.72:
            return Event(at, ACTION, p.id, ("FAIL_GAME", {"game": rng.choice(GAMES)}))
        if roll < 0.86:
            return Event(at, ACTION, p.id, ("VIEW_CONTENT", {"content_id": rng.randrange(1, 500)}))
        if roll < 0.98:
            return Event(at, ACTION, p.id, ("QUIZ_ANSWER", {"question": f"q{rng.randrange(40)}", "answer": "a"}))
        # Company A's visit: logged, but not the player in the app (it neither starts nor extends a session)
        return Event(at, ACTION, p.id, ("CORPORATE_VISIT", {"dwell_seconds": 60, "actions": ["view_product"]}))


# --- the product's code, called as its callers do ---------------------------------------------------------------


class Product:
    """Thin calls into the code under test, at simulated times."""

    def __init__(self) -> None:
        from django.conf import settings

        from notifications.messages import SEGMENT_UPGRADE
        from segments.services import NOTIFICATION_TYPE

        self.max_future = dt.timedelta(seconds=settings.ACTIONS_MAX_FUTURE_SECONDS)
        self.push_type = NOTIFICATION_TYPE
        self.push_text = SEGMENT_UPGRADE.key
        self.event_seq = 0
        self.spend_seq = 0

    def setup(self, players: list[Player], safeguards: list[tuple[Player, dict[str, Any]]], start: int) -> None:
        from players.services import players_load, protection_update
        from segments.services import UserService
        from wallet.services import Kind, Posting, Source, ledger_post, request_fingerprint

        signup = _at(start - 60 * DAY).strftime("%Y-%m-%d %H:%M:%S")
        players_load(rows=[(p.id, signup, p.locale, p.tz_name, None, False, None) for p in players])
        granted_at = _at(start - DAY)
        for p in players:
            payload = {"user_id": p.id, "amount": GRANT, "reason": "bench grant"}
            ledger_post(
                Posting(
                    player_id=p.id,
                    kind=Kind.GRANT,
                    source=Source.REWARD,
                    amount=GRANT,
                    idempotency_key=f"bench-grant:{p.id}",
                    fingerprint=request_fingerprint(payload),
                    action_type="EARN_CYBER_TOKENS",
                    action_metadata={"earned_tokens": GRANT, "source": "reward"},
                    occurred_at=granted_at,
                    actor="bench",
                    reason="bench grant",
                )
            )
            if p.risk is not None:
                UserService.set_risk_profile(player_id=p.id, risk_profile=p.risk)
        for p, changes in safeguards:
            protection_update(player_id=p.id, changes=changes, now=_at(start - HOUR))

    def ingest(self, batch: list[Event], now: int) -> int:
        """One batch of actions, as POST /api/actions takes it; the actions stored."""
        from activity.services import actions_ingest
        from activity.validation import parse_batch

        items = []
        for e in batch:
            self.event_seq += 1
            action_type, metadata = e.data
            items.append(
                {
                    "event_id": f"pb-{e.player_id}-{self.event_seq}",
                    "user_id": e.player_id,
                    "action_type": action_type,
                    "action_timestamp": _at(e.at).isoformat(timespec="milliseconds"),
                    "metadata": metadata,
                }
            )
        parsed, errors = parse_batch(items, now=_at(now), max_future=self.max_future, allow_token_moving=False)
        if errors:
            raise SystemExit(f"the simulator wrote invalid actions: {list(errors.items())[:3]}")
        return actions_ingest(actions=parsed).stored

    def spend(self, player_id: int, tokens: int, at: int) -> str | None:
        """A spend as ``wallet_spend`` makes it, at ``at``; None when accepted, else the refusal's code."""
        from core.exceptions import DomainError
        from wallet.services import Kind, Posting, Source, ledger_post, protection_check_spend, request_fingerprint

        self.spend_seq += 1
        game = GAMES[self.spend_seq % len(GAMES)]
        try:
            ledger_post(
                Posting(
                    player_id=player_id,
                    kind=Kind.SPEND,
                    source=Source.IN_APP,
                    amount=-tokens,
                    idempotency_key=f"spend:bench-{self.spend_seq}",
                    fingerprint=request_fingerprint({"user_id": player_id, "amount": tokens, "game": game}),
                    action_type="SPEND_CYBER_TOKENS",
                    action_metadata={"spent_tokens": tokens, "game": game},
                    occurred_at=_at(at),
                    details={"game": game},
                ),
                check=protection_check_spend(player_id, tokens),
            )
        except DomainError as refused:
            return str(refused.code)
        return None

    def protect(self, player_id: int, changes: dict[str, Any], at: int) -> None:
        from players.services import protection_update

        protection_update(player_id=player_id, changes=changes, now=_at(at))

    def recommend(self, player_id: int, at: int) -> Any:
        from recommendations.services import recommendation_serve

        return recommendation_serve(player_id=player_id, now=_at(at)).recommendation

    def push(self, p: Player, at: int) -> tuple[str, str]:
        """A marketing push attempt (the segment-upgrade push) at ``at``: (status, status_reason) as recorded."""
        from notifications.services import notification_create
        from texts.catalog import text_render

        message = text_render(self.push_text, p.locale, group="High Engaged", reward_tokens=100)
        n = notification_create(
            player_id=p.id,
            type=self.push_type,
            kind="marketing",
            message=message,
            payload={"type": self.push_type, "user_id": p.id, "rfm_group": "High Engaged", "message": message},
            dedupe_key=f"bench-push:{p.id}:{at}",
            now=_at(at),
        )
        return str(n.status), str(n.status_reason)

    def nightly(self, at: int) -> tuple[dict[str, Any], dict[int, frozenset[str]]]:
        """The nightly harm markers as of ``at``, and the markers stored afterwards (player -> names)."""
        from players.models import PlayerHarmMarker
        from recommendations.services import harm_markers_compute

        report = harm_markers_compute(as_of=_at(at))
        stored: dict[int, set[str]] = defaultdict(set)
        for user_id, marker in PlayerHarmMarker.objects.values_list("user_id", "marker"):
            stored[user_id].add(marker)
        return report.as_dict(), {k: frozenset(v) for k, v in stored.items()}

    def reality_checks_sent(self) -> dict[int, list[tuple[str, int]]]:
        """Per player, the reality checks recorded: (the session's start as stated, its minutes), in order."""
        from activity.reality_checks import TYPE
        from notifications.models import Notification

        sent: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for user_id, payload in Notification.objects.filter(type=TYPE).order_by("id").values_list("user_id", "payload"):
            sent[user_id].append((payload["session_started_at"], payload["session_minutes"]))
        return sent


# --- the tally ------------------------------------------------------------------------------------------------


def _live_named(rec: Any) -> frozenset[str]:
    """The live signals the recommendation names (its LIMIT_SUGGESTION's reason); empty when it names none."""
    for p in rec.proposals:
        if p.type == "LIMIT_SUGGESTION":
            return frozenset(p.reason.get("live_signals") or {})
    return frozenset()


def _markers_named(rec: Any) -> frozenset[str]:
    for p in rec.proposals:
        if p.type == "LIMIT_SUGGESTION":
            return frozenset(p.reason.get("harm_markers") or ())
    return frozenset()


@dataclass
class Tally:
    probes: int = 0
    stake_raising_to_guarded: int = 0
    marketing_to_guarded: int = 0
    recs_checked: Counter[str] = field(default_factory=Counter)  # probes by state
    stake_raising_by_state: Counter[str] = field(default_factory=Counter)
    push_outcomes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    signals: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    failures: list[dict[str, Any]] = field(default_factory=list)
    signal_mismatches: list[dict[str, Any]] = field(default_factory=list)
    spends: Counter[str] = field(default_factory=Counter)  # "accepted", "refused:<code>"
    spend_mismatches: Counter[str] = field(default_factory=Counter)
    spend_examples: list[dict[str, Any]] = field(default_factory=list)
    actions: int = 0
    safeguards_during_run: int = 0
    nightly: list[dict[str, Any]] = field(default_factory=list)

    def probe(self, p: Player, at: int, exp: Expected, rec: Any, push: tuple[str, str]) -> None:
        self.probes += 1
        types = frozenset(rec.types)
        stake = types & STAKE_RAISING
        reached = push[0] in ("pending", "sent")
        states = exp.states()
        for s in states:
            self.recs_checked[s] += 1
            self.push_outcomes[s][f"{push[0]}:{push[1]}" if push[1] else push[0]] += 1
            if stake:
                self.stake_raising_by_state[s] += 1
        if exp.guarded and (stake or reached):
            self.stake_raising_to_guarded += bool(stake)
            self.marketing_to_guarded += reached
            if len(self.failures) < EXAMPLES:
                self.failures.append(self.example(p, at, exp, rec, push))
        if exp.paused is None:
            self.compare_signals(p, at, exp, rec, push)

    def compare_signals(self, p: Player, at: int, exp: Expected, rec: Any, push: tuple[str, str]) -> None:
        named = _live_named(rec)
        for signal in sorted(exp.live | named):
            outcome = "both" if signal in exp.live and signal in named else "missed" if signal in exp.live else "extra"
            self.signals[signal][outcome] += 1
        markers = _markers_named(rec)
        if exp.markers or markers:
            self.signals["nightly_markers"]["both" if exp.markers == markers else "differ"] += 1
        if (exp.live != named or exp.markers != markers) and len(self.signal_mismatches) < EXAMPLES:
            self.signal_mismatches.append(self.example(p, at, exp, rec, push))

    def example(self, p: Player, at: int, exp: Expected, rec: Any, push: tuple[str, str]) -> dict[str, Any]:
        """A probe in full: times in UTC and on the player's clock."""

        def both(ms: int | None) -> str | None:
            if ms is None:
                return None
            return f"{_at(ms).isoformat()} ({dt.datetime.fromtimestamp(ms / 1000, p.tz).isoformat()} local)"

        return {
            "player": p.id,
            "kind": p.kind,
            "timezone": p.tz_name,
            "at": both(at),
            "expected": exp.states(),
            "named_by_recommendation": sorted(_live_named(rec) | _markers_named(rec)),
            "proposals": list(rec.types),
            "push": list(push),
            "session_start": both(p.session_start),
            "session_last_action": both(p.session_last),
            "last_chase_bet_at": both(p.chase_at),
        }

    def spend(self, p: Player, at: int, tokens: int, expected: str | None, actual: str | None) -> None:
        self.spends["accepted" if actual is None else f"refused:{actual}"] += 1
        if expected != actual:
            self.spend_mismatches[f"expected {expected or 'accepted'}, got {actual or 'accepted'}"] += 1
            if len(self.spend_examples) < EXAMPLES:
                self.spend_examples.append(
                    {"player": p.id, "at": _at(at).isoformat(), "tokens": tokens, "expected": expected, "got": actual}
                )


# --- the simulation -------------------------------------------------------------------------------------------


@dataclass
class Simulation:
    players: list[Player]
    rules: Rules
    planner: Planner
    product: Product
    start: int
    days: int
    tally: Tally = field(default_factory=Tally)
    markers: dict[int, frozenset[str]] = field(default_factory=dict)
    buckets: dict[int, list[Event]] = field(default_factory=lambda: defaultdict(list))

    @property
    def end(self) -> int:
        return self.start + self.days * DAY

    def schedule(self, events: list[Event], now: int | None = None) -> None:
        for e in events:
            if now is not None and e.at < now:
                raise AssertionError(f"event planned in the past: {e}, now {now}")
            self.buckets[(e.at - self.start) // TICK].append(e)

    def plan_local_date(self, date: dt.date, now: int | None = None) -> None:
        for p in self.players:
            self.schedule(self.planner.day(p, date), now)

    def nightly_times(self) -> Iterator[int]:
        from django.conf import settings

        business = zoneinfo.ZoneInfo(settings.BUSINESS_TIMEZONE)
        day = _at(self.start).astimezone(business).date()
        while True:
            yield _to_ms(dt.datetime.combine(day, NIGHTLY_AT, tzinfo=business))
            day += dt.timedelta(days=1)

    def run(self) -> None:
        by_id = {p.id: p for p in self.players}
        first = _at(self.start).date()
        self.plan_local_date(first - dt.timedelta(days=1))
        self.plan_local_date(first)
        nightly = self.nightly_times()
        next_nightly = next(nightly)
        while next_nightly <= self.start:
            next_nightly = next(nightly)
        started = time.monotonic()
        for tick_start in range(self.start, self.end, TICK):
            if (tick_start - self.start) % DAY == 0:
                day = (tick_start - self.start) // DAY
                if day:
                    self.log_day(day, time.monotonic() - started)
                self.plan_local_date(first + dt.timedelta(days=day + 1), tick_start)
            tick_end = tick_start + TICK
            events = sorted(self.buckets.pop((tick_start - self.start) // TICK, []), key=_event_order)
            probes = self.tick(events, tick_end, by_id)
            if tick_end >= next_nightly:
                self.run_nightly(tick_end)
                next_nightly = next(nightly)
            for player_id in sorted(probes):
                self.probe(by_id[player_id], tick_end)
        self.log_day(self.days, time.monotonic() - started)
        for p in self.players:
            p.close_session()

    def tick(self, events: list[Event], tick_end: int, by_id: dict[int, Player]) -> set[int]:
        """The tick's spends and safeguard changes in time order, each when it happens (the wallet and the player's
        settings are called at that moment), then the tick's actions posted in batches at its end (as a game server
        reports its rounds); the ground truth follows every event in time order. Returns the players to probe at
        the tick's end."""
        rules = self.rules
        probes: set[int] = set()
        for e in events:
            p = by_id[e.player_id]
            if e.kind == ACTION:
                action_type, metadata = e.data
                if action_type == "GAME_PLAY":
                    p.in_app(e.at, rules, bet=metadata["bet"], lost=metadata["result"] == "loss")
                elif action_type in PLAY_TYPES:  # a failed game: play; browsing and session starts are not
                    p.in_app(e.at, rules)
            elif e.kind == SPEND:
                expected = p.expected_refusal(e.at, e.data)
                actual = self.product.spend(p.id, e.data, e.at)
                self.tally.spend(p, e.at, e.data, expected, actual)
                if actual is None:
                    p.spent(e.at, e.data, rules)
                    p.arrived(e.at)
            elif e.kind == PROTECT:
                self.product.protect(p.id, e.data, e.at)
                self.tally.safeguards_during_run += 1
            else:  # a probe: at the tick's end, after every event of the tick
                probes.add(p.id)
        actions = [e for e in events if e.kind == ACTION]
        for i in range(0, len(actions), BATCH):
            batch = actions[i : i + BATCH]
            self.tally.actions += self.product.ingest(batch, tick_end)
            play: dict[int, int] = {}  # the batch's play: its last round per player
            for e in batch:
                if e.data[0] in PLAY_TYPES:
                    play[e.player_id] = max(play.get(e.player_id, e.at), e.at)
            for player_id, last in play.items():
                by_id[player_id].arrived(last)
        return probes

    def run_nightly(self, at: int) -> None:
        t0 = time.monotonic()
        report, self.markers = self.product.nightly(at)
        for p in self.players:
            p.norm = p.norm_at(at, self.rules)
        report["seconds"] = round(time.monotonic() - t0, 2)
        report["players_with_norm_in_simulation"] = sum(p.norm is not None for p in self.players)
        self.tally.nightly.append(report)

    def probe(self, p: Player, at: int) -> None:
        exp = Expected(p.paused(at), self.markers.get(p.id, frozenset()), p.live_signals(at, self.rules))
        rec = self.product.recommend(p.id, at)
        push = self.product.push(p, at)
        self.tally.probe(p, at, exp, rec, push)

    def log_day(self, day: int, elapsed: float) -> None:
        t = self.tally
        date = (_at(self.start) + dt.timedelta(days=day - 1)).date()
        log(
            f"day {day}/{self.days} ({date}): {t.actions:,} actions, {sum(t.spends.values()):,} spends "
            f"({sum(v for k, v in t.spends.items() if k != 'accepted'):,} refused), {t.probes:,} probes; "
            f"stake-raising to protected/marked {t.stake_raising_to_guarded}, pushes {t.marketing_to_guarded}; "
            f"{elapsed:.0f}s"
        )


def reality_checks(players: list[Player], sent: dict[int, list[tuple[str, int]]]) -> dict[str, Any]:
    due = sum(p.checks_due for p in players)
    total_sent = sum(len(checks) for checks in sent.values())
    mismatches = []
    for p in players:
        if p.checks_due != len(sent.get(p.id, ())):
            mismatches.append(
                {
                    "player": p.id,
                    "kind": p.kind,
                    "interval_minutes": p.interval,
                    "due": p.checks_due,
                    "sent": len(sent.get(p.id, ())),
                    "checks_sent": [{"session_start": start, "minutes": m} for start, m in sent.get(p.id, ())],
                    "sessions_with_a_check_due": [
                        {"start": _at(s).isoformat(), "last_action": _at(e).isoformat(), "minutes": (e - s) / MINUTE}
                        for s, e in p.sessions
                        if e - s >= p.interval * MINUTE
                    ],
                }
            )
    lengths = [e - s for p in players for s, e in p.sessions]
    return {
        "due": due,
        "sent": total_sent,
        "difference": total_sent - due,
        "sessions": len(lengths),
        "sessions_with_a_check_due": sum(1 for p in players for s, e in p.sessions if e - s >= p.interval * MINUTE),
        "players_mismatching": len(mismatches),
        "mismatch_examples": mismatches[:EXAMPLES],
    }


# --- the rates: bench/ingest.py and bench/recommend.py with the live signals off and on ------------------------


def run_bench(name: str, live: bool) -> dict[str, Any]:
    env = {**os.environ, "LIVE_PROTECTION": "true" if live else "false"}
    t0 = time.monotonic()
    proc = subprocess.run(
        [PYTHON, f"bench/{name}.py", "--quick"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit(f"bench/{name}.py --quick (LIVE_PROTECTION={live}) failed with exit code {proc.returncode}")
    r = json.loads(lines[-1])["results"]
    run = _ingest_figures(r) if name == "ingest" else _recommend_figures(r)
    run.update(live_protection=live, seconds=round(time.monotonic() - t0, 1))
    log(f"bench/{name}.py --quick, LIVE_PROTECTION={str(live).lower()}: {run}")
    return run


# Besides each run's rate, the CPU its server, PostgreSQL and Redis used per unit of work (steadier than a rate on a
# shared machine) and ``other_cores``, the load from outside the run while it was timed.
SERVICES = ("server", "postgres", "redis")


def _ingest_figures(r: dict[str, Any]) -> dict[str, Any]:
    cpu = r["cpu_during_api"]
    per_1k = {f"{s}_cpu_ms_per_1k": cpu.get(f"{s}_cpu_ms_per_1k_actions", 0.0) for s in SERVICES}
    return {
        "rate": r["api_actions_per_s"],
        "cpu_ms_per_1k": round(sum(per_1k.values()), 1),
        **per_1k,
        "other_cores": cpu.get("other_cores"),
        "complete": bool(r["complete"]),
    }


def _recommend_figures(r: dict[str, Any]) -> dict[str, Any]:
    rec = r["recommendations"]
    rate = rec["requests_per_s"]
    per_1k = {f"{s}_cpu_ms_per_1k": round(rec["cpu"].get(f"{s}_cores", 0.0) * 1e6 / rate, 1) for s in SERVICES}
    return {
        "rate": rate,
        "bare_requests_per_s": r["bare"]["requests_per_s"],
        "ratio_to_bare": r["ratio_to_bare"],
        "cpu_ms_per_1k": round(sum(per_1k.values()), 1),
        **per_1k,
        "other_cores": rec["cpu"].get("other_cores"),
        "complete": bool(r["complete"]),
    }


def _mean(runs: list[dict[str, Any]], key: str, live: bool) -> float:
    return statistics.mean(r[key] for r in runs if r["live_protection"] is live)


def rates(rounds: int) -> dict[str, Any]:
    order = [live for i in range(rounds) for live in ((False, True) if i % 2 == 0 else (True, False))]
    out: dict[str, Any] = {"order": ["on" if live else "off" for live in order]}
    for name, unit in (("ingest", "api_actions_per_s"), ("recommend", "recommendations_requests_per_s")):
        runs = [run_bench(name, live) for live in order]
        off, on = _mean(runs, "rate", False), _mean(runs, "rate", True)
        complete = all(r["complete"] for r in runs)
        summary: dict[str, Any] = {
            "headline": unit,
            "off_mean": round(off, 1),
            "on_mean": round(on, 1),
            "ratio": round(on / off, 4) if off and complete else 0.0,
            "complete": complete,
            "runs": runs,
        }
        cpu_off, cpu_on = _mean(runs, "cpu_ms_per_1k", False), _mean(runs, "cpu_ms_per_1k", True)
        summary["cpu_ms_per_1k_off_mean"] = round(cpu_off, 1)
        summary["cpu_ms_per_1k_on_mean"] = round(cpu_on, 1)
        summary["cpu_on_over_off"] = round(cpu_on / cpu_off, 4) if cpu_off else 0.0
        if name == "recommend":
            bare_off, bare_on = _mean(runs, "ratio_to_bare", False), _mean(runs, "ratio_to_bare", True)
            summary["ratio_to_bare_off_mean"] = round(bare_off, 4)
            summary["ratio_to_bare_on_mean"] = round(bare_on, 4)
            summary["ratio_to_bare_on_over_off"] = round(bare_on / bare_off, 4) if bare_off else 0.0
        out[name] = summary
    return out


# --- main -----------------------------------------------------------------------------------------------------


def _setup_django(env: BenchEnv) -> None:
    """Django in this process on the bench's database and Redis DB, production settings, the live signals on."""
    env.env.update(NOTIFICATIONS_TRANSPORT="log", MARKETING_PUSH_DAILY_CAP=str(PUSH_CAP), LIVE_PROTECTION="true")
    os.environ.update(env.env)
    import django

    django.setup()


def default_start(days: int) -> dt.date:
    """A start that puts Europe/London's return from summer time inside the run (its middle, or its second day)."""
    return LONDON_DST_END - dt.timedelta(days=min(6, max(1, days // 2)))


def thresholds() -> dict[str, Any]:
    from django.conf import settings

    return {
        "LIVE_HARM_SIGNALS": settings.LIVE_HARM_SIGNALS,
        "REALITY_CHECK_MINUTES": settings.REALITY_CHECK_MINUTES,
        "REALITY_CHECK_STEP_MINUTES": settings.REALITY_CHECK_STEP_MINUTES,
        "spend_norm": {
            k: settings.HARM_MARKERS[k] for k in ("spend_spike_baseline_days", "spend_spike_min_baseline_days")
        },
    }


def simulate(args: argparse.Namespace, env: BenchEnv) -> dict[str, Any]:
    rules = Rules.from_settings()
    rng = random.Random(args.seed)
    start = _to_ms(dt.datetime.combine(args.start, dt.time(), tzinfo=dt.UTC))
    players = make_players(rng, args.players, rules)
    planner = Planner(rng, rules, start, start + args.days * DAY)
    before, during = planner.safeguard_events(players)
    product = Product()
    t0 = time.monotonic()
    product.setup(players, before, start)
    setup_s = time.monotonic() - t0
    log(
        f"{len(players):,} players made, granted {GRANT:,} tokens each, {len(before):,} safeguards set ({setup_s:.0f}s)"
    )
    sim = Simulation(players, rules, planner, product, start, args.days)
    sim.schedule(during)
    t0 = time.monotonic()
    sim.run()
    sim_s = time.monotonic() - t0
    from recommendations.impressions import impression_buffer

    impression_buffer().stop()
    checks = reality_checks(players, product.reality_checks_sent())
    t = sim.tally
    return {
        "population": population_summary(players, rules),
        "thresholds": thresholds(),
        "setup_seconds": round(setup_s, 1),
        "simulation_seconds": round(sim_s, 1),
        "actions": t.actions,
        "spends": dict(t.spends),
        "spend_refusals_unexpected": dict(t.spend_mismatches),
        "spend_refusal_examples": t.spend_examples,
        "safeguards_set_during_run": t.safeguards_during_run,
        "probes": t.probes,
        "stake_raising_to_protected_or_marked": t.stake_raising_to_guarded,
        "marketing_to_protected_or_marked": t.marketing_to_guarded,
        "failure_examples": t.failures,
        "probes_by_state": dict(sorted(t.recs_checked.items())),
        "stake_raising_served_by_state": dict(sorted(t.stake_raising_by_state.items())),
        "push_outcomes_by_state": {s: dict(c) for s, c in sorted(t.push_outcomes.items())},
        "live_signals_expected_vs_named": {s: dict(c) for s, c in sorted(t.signals.items())},
        "signal_mismatch_examples": t.signal_mismatches,
        "nightly_runs": t.nightly,
        "reality_checks": checks,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 players for 3 days: about a minute")
    parser.add_argument("--players", type=int, help="simulated players (default 10,000; quick 1,000)")
    parser.add_argument("--days", type=int, help="simulated days (default 14; quick 3)")
    parser.add_argument("--start", type=dt.date.fromisoformat, help="the first simulated day (UTC), YYYY-MM-DD")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-rates", action="store_true", help="leave out the ingest and recommendation rates")
    parser.add_argument(
        "--rate-rounds", type=int, help="off/on pairs of each rate bench, alternating (default 2; quick 1)"
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the bench database and Redis DB afterwards")
    args = parser.parse_args()
    args.players = args.players or (1_000 if args.quick else 10_000)
    args.days = args.days or (3 if args.quick else 14)
    args.start = args.start or default_start(args.days)
    args.rate_rounds = args.rate_rounds or (1 if args.quick else 2)
    params: dict[str, Any] = {
        "quick": args.quick,
        "players": args.players,
        "days": args.days,
        "start": args.start.isoformat(),
        "seed": args.seed,
        "tick_minutes": TICK // MINUTE,
        "batch_size": BATCH,
        "shares": {**SHARES, ORDINARY: round(1 - sum(SHARES.values()), 4)},
        "reality_check_choices": dict(REALITY_CHECK_CHOICES),
        "marketing_push_daily_cap": PUSH_CAP,
        "rate_benches": "skipped"
        if args.skip_rates
        else f"ingest.py and recommend.py --quick, {args.rate_rounds} x off/on",
        "cores": os.cpu_count(),
    }
    results: dict[str, Any] = {"load_average_at_start": load_average()}
    if not args.skip_rates:
        results["rates"] = rates(args.rate_rounds)
    else:
        results["rates"] = {"skipped": True}
    env = BenchEnv()
    log(f"bench database {env.dbname}, redis {url_shown(env.redis_url)}")
    env.prepare()
    _setup_django(env)
    try:
        results.update(simulate(args, env))
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            env.drop_database()
            env.flush_redis()
    results["load_average_at_end"] = load_average()
    checks = results["reality_checks"]
    targets = {
        "stake_raising_to_protected": target(results["stake_raising_to_protected_or_marked"], 0, "<="),
        "marketing_to_protected": target(results["marketing_to_protected_or_marked"], 0, "<="),
        "reality_checks_sent_equals_due": target(abs(checks["difference"]), 0, "<="),
    }
    if not args.skip_rates:
        targets["ingest_rate_ratio"] = target(results["rates"]["ingest"]["ratio"], TARGET_RATE_RATIO, ">=")
        targets["recommend_rate_ratio"] = target(results["rates"]["recommend"]["ratio"], TARGET_RATE_RATIO, ">=")
    emit("protection", params, results, targets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
