"""Harm markers from a player's own behaviour (design brief section 6), as pure functions.

``detect_harm_markers(events, now=..., tz=..., thresholds=...)`` looks at one player's recent actions and
returns the markers it finds, each with the facts behind it. The nightly batch
(``recommendations.services.harm_markers_compute``) feeds it every player's actions and stores the result in
``player_harm_markers``; the recommender reads the stored names. Thresholds are ``settings.HARM_MARKERS``
(``HarmThresholds`` documents each); days and nights are the player's own (their timezone), as for the
spend limits.

- LOSS_CHASING: a GAME_PLAY round that follows at least ``loss_chasing_min_losses`` consecutive losing rounds
  and bets at least ``loss_chasing_bet_ratio`` times (and more than) the first bet of that losing run is a
  chase; one losing run with chases is one episode. The marker: at least ``loss_chasing_min_episodes``
  episodes in the last ``recent_days`` days. (FAIL_GAME has no bet: it neither extends nor breaks a run.)
- SPEND_SPIKE: a local day among the last ``recent_days`` whose spend (``spent_tokens`` of game buy-ins and
  content unlocks, ``activity.registry.SPENDING_TYPES``) is at least ``spend_spike_min_tokens`` and at least
  ``spend_spike_ratio`` times the median of the player's daily spend over the ``spend_spike_baseline_days`` days
  before it, counting only days with spend, and only when there are at least ``spend_spike_min_baseline_days``
  such days (a player without a norm has no spike).
- LATE_NIGHT_SESSIONS: sessions (actions in the app no more than ``session_gap_minutes`` apart; Company A's
  visits and token arrivals are not the player in the app) that spend more than ``late_night_min_minutes``
  inside the night (``late_night_start_hour``..``late_night_end_hour``, local) on at least
  ``late_night_min_nights`` of the last ``recent_days`` nights (the night of day D starts on D).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

# NOT_IN_APP: the detectors' sessions leave these out (recommendations.selectors too)
from activity.registry import NOT_IN_APP, SPENDING_TYPES
from core.thresholds import thresholds_from_settings
from core.timezones import night_window

LOSS_CHASING = "LOSS_CHASING"
SPEND_SPIKE = "SPEND_SPIKE"
LATE_NIGHT_SESSIONS = "LATE_NIGHT_SESSIONS"
MARKERS = (LOSS_CHASING, SPEND_SPIKE, LATE_NIGHT_SESSIONS)


@dataclass(frozen=True, slots=True)
class HarmThresholds:
    recent_days: int = 7  # a marker reflects behaviour in the last 7 days (or nights)
    loss_chasing_min_losses: int = 3  # consecutive losing rounds before a raised bet counts as a chase
    loss_chasing_bet_ratio: float = 2.0  # the raised bet is at least this times the losing run's first bet
    loss_chasing_min_episodes: int = 2  # losing runs with a chase needed for the marker
    spend_spike_ratio: float = 5.0  # a day's spend at least this times the player's median daily spend
    spend_spike_min_tokens: int = 1000  # and at least this many tokens
    spend_spike_baseline_days: int = 30  # the norm: the median over the days with spend in the 30 days before
    spend_spike_min_baseline_days: int = 3  # fewer days with spend than this: no norm, no spike
    late_night_start_hour: int = 0  # the night, player's local time: [00:00, 05:00)
    late_night_end_hour: int = 5
    late_night_min_minutes: int = 60  # a session longer than this inside the night
    late_night_min_nights: int = 3  # on at least this many of the last 7 nights
    session_gap_minutes: int = 30  # a gap longer than this ends a session

    @classmethod
    def from_settings(cls) -> HarmThresholds:
        return thresholds_from_settings(cls, "HARM_MARKERS")

    @property
    def history(self) -> dt.timedelta:
        """How far back the actions must go for ``detect_harm_markers`` at a given time (the spend norm's days
        before the oldest recent day, plus a day for timezones)."""
        return dt.timedelta(days=self.recent_days + self.spend_spike_baseline_days + 1)

    @property
    def session_history(self) -> dt.timedelta:
        """How far back the session actions must go (the recent nights, plus a day for timezones)."""
        return dt.timedelta(days=self.recent_days + 1)


class HarmEvent(NamedTuple):
    """One action as the detectors need it: when, what, and its metadata."""

    at: dt.datetime
    action_type: str
    metadata: Mapping[str, Any]


def detect_harm_markers(
    events: Iterable[HarmEvent], *, now: dt.datetime, tz: dt.tzinfo, thresholds: HarmThresholds
) -> dict[str, dict[str, Any]]:
    """The markers one player's actions show at ``now``: ``{marker: details}`` (details are JSON-ready facts).

    Actions after ``now`` are ignored; the order of ``events`` does not matter.
    """
    ordered = sorted((e for e in events if e.at <= now), key=lambda e: e.at)
    found: dict[str, dict[str, Any]] = {}
    for name, detector in (
        (LOSS_CHASING, _loss_chasing),
        (SPEND_SPIKE, _spend_spike),
        (LATE_NIGHT_SESSIONS, _late_night_sessions),
    ):
        details = detector(ordered, now, tz, thresholds)
        if details is not None:
            found[name] = details
    return found


def _loss_chasing(
    events: list[HarmEvent], now: dt.datetime, tz: dt.tzinfo, th: HarmThresholds
) -> dict[str, Any] | None:
    since = now - dt.timedelta(days=th.recent_days)
    run: list[int] = []  # bets of the current run of consecutive losses
    chased = False  # the current run already has a chase (one episode)
    episodes, max_ratio, last_at = 0, 0.0, None
    for e in events:
        if e.at < since or e.action_type != "GAME_PLAY":
            continue
        bet, result = e.metadata.get("bet"), e.metadata.get("result")
        if type(bet) is not int or result not in ("win", "loss"):
            continue
        if len(run) >= th.loss_chasing_min_losses:
            first = run[0]
            if bet > first and bet >= th.loss_chasing_bet_ratio * first:
                if not chased:
                    episodes, chased = episodes + 1, True
                if first > 0:
                    max_ratio = max(max_ratio, bet / first)
                last_at = e.at
        if result == "loss":
            run.append(bet)
        else:
            run, chased = [], False
    if episodes < th.loss_chasing_min_episodes:
        return None
    return {
        "episodes": episodes,
        "min_losses": th.loss_chasing_min_losses,
        "max_bet_ratio": round(max_ratio, 2),
        "last_chase_at": last_at.isoformat() if last_at else None,
        "days": th.recent_days,
    }


def _daily_spend(events: Iterable[HarmEvent], tz: dt.tzinfo) -> dict[dt.date, int]:
    daily: dict[dt.date, int] = defaultdict(int)
    for e in events:
        if e.action_type in SPENDING_TYPES:
            spent = e.metadata.get("spent_tokens")
            if type(spent) is int and spent > 0:
                daily[e.at.astimezone(tz).date()] += spent
    return daily


def spend_norm(
    events: Iterable[HarmEvent], *, now: dt.datetime, tz: dt.tzinfo, thresholds: HarmThresholds
) -> float | None:
    """The player's spend norm at ``now``: the median daily spend over the days with spend among the
    ``spend_spike_baseline_days`` local days before today; None with fewer than ``spend_spike_min_baseline_days``
    such days (the live spend-velocity signal compares an hour's spend with it)."""
    today = now.astimezone(tz).date()
    start = today - dt.timedelta(days=thresholds.spend_spike_baseline_days)
    days = [v for d, v in _daily_spend((e for e in events if e.at <= now), tz).items() if start <= d < today]
    if len(days) < thresholds.spend_spike_min_baseline_days:
        return None
    return float(statistics.median(days))


def _spend_spike(events: list[HarmEvent], now: dt.datetime, tz: dt.tzinfo, th: HarmThresholds) -> dict[str, Any] | None:
    daily = _daily_spend(events, tz)
    today = now.astimezone(tz).date()
    spikes: list[dict[str, Any]] = []
    for back in range(th.recent_days):
        day = today - dt.timedelta(days=back)
        spent = daily.get(day, 0)
        if spent < th.spend_spike_min_tokens:
            continue
        start = day - dt.timedelta(days=th.spend_spike_baseline_days)
        baseline = [v for d, v in daily.items() if start <= d < day]
        if len(baseline) < th.spend_spike_min_baseline_days:
            continue
        median = statistics.median(baseline)
        if spent >= th.spend_spike_ratio * median:
            spikes.append(
                {
                    "day": day.isoformat(),
                    "spent": spent,
                    "median_daily_spend": median,
                    "ratio": round(spent / median, 2),
                    "baseline_days": len(baseline),
                }
            )
    if not spikes:
        return None
    return {**spikes[0], "spike_days": len(spikes)}  # the most recent spike day, and how many there were


def _late_night_sessions(
    events: list[HarmEvent], now: dt.datetime, tz: dt.tzinfo, th: HarmThresholds
) -> dict[str, Any] | None:
    gap = dt.timedelta(minutes=th.session_gap_minutes)
    sessions: list[tuple[dt.datetime, dt.datetime]] = []
    start = prev = None
    for e in events:
        if e.action_type in NOT_IN_APP:
            continue
        if start is None or prev is None or e.at - prev > gap:
            if start is not None and prev is not None:
                sessions.append((start, prev))
            start = e.at
        prev = e.at
    if start is not None and prev is not None:
        sessions.append((start, prev))
    today = now.astimezone(tz).date()
    first_night = today - dt.timedelta(days=th.recent_days - 1)
    night_start, night_end = dt.time(th.late_night_start_hour), dt.time(th.late_night_end_hour)
    longest: dict[dt.date, float] = {}
    for began, ended in sessions:
        day = began.astimezone(tz).date() - dt.timedelta(days=1)
        last_day = ended.astimezone(tz).date()
        while day <= last_day:
            if first_night <= day <= today:
                w0, w1 = night_window(day, th.late_night_start_hour, th.late_night_end_hour, tz)
                overlap = (min(ended.timestamp(), w1) - max(began.timestamp(), w0)) / 60
                if overlap > longest.get(day, 0.0):
                    longest[day] = overlap
            day += dt.timedelta(days=1)
    nights = sorted(d for d, minutes in longest.items() if minutes > th.late_night_min_minutes)
    if len(nights) < th.late_night_min_nights:
        return None
    return {
        "nights": [d.isoformat() for d in nights],
        "longest_minutes": round(max(longest[d] for d in nights), 1),
        "min_minutes": th.late_night_min_minutes,
        "window": f"{night_start:%H:%M}-{night_end:%H:%M}",
        "days": th.recent_days,
    }
