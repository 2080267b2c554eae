"""Live harm signals (design brief section 6; issue "protection that acts in the moment"), as pure functions.

The nightly harm markers (``recommendations.harm``) see patterns over days. These see the session the player is in:
the hot store keeps a small live state per player (``core.hotstore``: updated by the same script that ingest and the
wallet run per batch), and ``live_signals(state, now=..., tz=..., thresholds=...)`` says which signals hold now and
on what figures. Thresholds are ``settings.LIVE_HARM_SIGNALS`` (``LiveThresholds`` documents each).

- LIVE_LOSS_CHASING: a GAME_PLAY bet placed after at least ``chase_min_losses`` consecutive losing rounds of the
  session, more than and at least ``chase_bet_ratio`` times the first bet of that losing run. Holds until
  ``calm_minutes`` after the last such bet.
- LIVE_SPEND_VELOCITY: tokens spent (game buy-ins and content unlocks) in the last ``velocity_window_minutes``: at least
  ``velocity_min_tokens`` and at least ``velocity_ratio`` times the player's norm (their median daily spend over the
  days with spend in the last 30, computed nightly); a player without a norm (fewer than 3 such days): at least
  ``velocity_tokens_without_norm``. Ends by itself as the spends leave the window.
- LIVE_LONG_SESSION: the play session (game rounds and token spends no more than ``session_gap_minutes`` apart:
  browsing, quizzes and Company A do not count) is still going and has lasted at least ``long_session_minutes``.
- LIVE_LATE_NIGHT: the session is still going and at least ``late_night_minutes`` of it lie inside the night
  (``late_night_start_hour``..``late_night_end_hour``, the player's own clock).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from core.hotstore import LiveParams
from core.thresholds import thresholds_from_settings
from core.timezones import night_window

LIVE_LOSS_CHASING = "LIVE_LOSS_CHASING"
LIVE_SPEND_VELOCITY = "LIVE_SPEND_VELOCITY"
LIVE_LONG_SESSION = "LIVE_LONG_SESSION"
LIVE_LATE_NIGHT = "LIVE_LATE_NIGHT"
LIVE_SIGNALS = (LIVE_LOSS_CHASING, LIVE_SPEND_VELOCITY, LIVE_LONG_SESSION, LIVE_LATE_NIGHT)


@dataclass(frozen=True, slots=True)
class LiveThresholds:
    chase_min_losses: int = 3  # consecutive losing rounds before a raised bet counts as chasing
    chase_bet_ratio: float = 2.0  # the raised bet: more than, and at least this times, the losing run's first bet
    calm_minutes: int = 60  # loss chasing holds until this long after the last chasing bet
    velocity_window_minutes: int = 60  # spend velocity: the tokens spent in this last stretch of time
    velocity_ratio: float = 1.0  # ... at least this times the player's median daily spend
    velocity_min_tokens: int = 500  # ... and at least this many tokens
    velocity_tokens_without_norm: int = 2000  # a player without a norm: at least this many tokens
    session_gap_minutes: int = 30  # a longer gap between rounds or spends ends a play session
    long_session_minutes: int = 180  # a session at least this long
    late_night_minutes: int = 30  # at least this much of the session inside the night
    late_night_start_hour: int = 0  # the night, the player's local time: [00:00, 05:00)
    late_night_end_hour: int = 5

    @classmethod
    def from_settings(cls) -> LiveThresholds:
        return thresholds_from_settings(cls, "LIVE_HARM_SIGNALS")


def live_params(thresholds: LiveThresholds | None = None) -> LiveParams:
    """The rules the hot store's script applies as actions arrive (``core.hotstore.LiveParams``)."""
    from django.conf import settings

    th = thresholds or LiveThresholds.from_settings()
    return LiveParams(
        session_gap_ms=th.session_gap_minutes * 60_000,
        chase_min_losses=th.chase_min_losses,
        chase_bet_ratio=th.chase_bet_ratio,
        reality_check_step_ms=settings.REALITY_CHECK_STEP_MINUTES * 60_000,
        ttl_ms=86_400_000,
        spend_window_ms=th.velocity_window_minutes * 60_000,
    )


class LiveState(NamedTuple):
    """A player's live state as the hot store keeps it (times in Unix milliseconds; None: nothing yet)."""

    chase_at: int | None = None  # the last chasing bet
    chase_losses: int = 0  # the losing run's length after that bet
    chase_first_bet: int = 0  # the run's first bet
    chase_bet: int = 0  # the chasing bet
    session_start: int | None = None
    session_last: int | None = None
    session_net: int = 0  # tokens won minus tokens staked in the session's GAME_PLAY rounds
    session_rounds: int = 0
    spends: tuple[tuple[int, int], ...] = ()  # (time, tokens) of the spends in the velocity window
    spend_norm: float | None = None  # the player's median daily spend (nightly), None without one


def _iso(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).isoformat()


def session_going(state: LiveState, now: dt.datetime, th: LiveThresholds) -> bool:
    return state.session_last is not None and _ms(now) - state.session_last <= th.session_gap_minutes * 60_000


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def live_signals(
    state: LiveState, *, now: dt.datetime, tz: dt.tzinfo, thresholds: LiveThresholds
) -> dict[str, dict[str, Any]]:
    """The live signals that hold at ``now``: ``{signal: figures}`` (JSON-ready facts), empty when none does."""
    th = thresholds
    now_ms = _ms(now)
    found: dict[str, dict[str, Any]] = {}
    if state.chase_at is not None and 0 <= now_ms - state.chase_at < th.calm_minutes * 60_000:
        found[LIVE_LOSS_CHASING] = {
            "losses_in_a_row": state.chase_losses,
            "first_bet": state.chase_first_bet,
            "raised_bet": state.chase_bet,
            "bet_ratio": round(state.chase_bet / state.chase_first_bet, 2) if state.chase_first_bet else None,
            "at": _iso(state.chase_at),
            "calm_minutes": th.calm_minutes,
        }
    since = now_ms - th.velocity_window_minutes * 60_000
    spent = sum(tokens for at, tokens in state.spends if since < at <= now_ms)
    threshold: float
    if state.spend_norm is None:
        threshold = th.velocity_tokens_without_norm
    else:
        threshold = max(th.velocity_min_tokens, th.velocity_ratio * state.spend_norm)
    if spent > 0 and spent >= threshold:
        found[LIVE_SPEND_VELOCITY] = {
            "spent": spent,
            "minutes": th.velocity_window_minutes,
            "median_daily_spend": state.spend_norm,
            "threshold": threshold,
        }
    if session_going(state, now, th) and state.session_start is not None and state.session_last is not None:
        minutes = (state.session_last - state.session_start) / 60_000
        if minutes >= th.long_session_minutes:
            found[LIVE_LONG_SESSION] = {
                "session_minutes": int(minutes),
                "since": _iso(state.session_start),
                "min_minutes": th.long_session_minutes,
            }
        night = night_minutes(state.session_start, state.session_last, tz, th)
        if night >= th.late_night_minutes:
            found[LIVE_LATE_NIGHT] = {
                "night_minutes": int(night),
                "window": f"{th.late_night_start_hour:02d}:00-{th.late_night_end_hour:02d}:00",
                "min_minutes": th.late_night_minutes,
            }
    return found


def night_minutes(start_ms: int, end_ms: int, tz: dt.tzinfo, th: LiveThresholds) -> float:
    """Minutes of [start, end] inside the night (local ``late_night_start_hour``..``late_night_end_hour``), in real
    elapsed time (a night when the clocks change is an hour longer or shorter)."""
    start, end = start_ms / 1000, end_ms / 1000
    total = 0.0
    day = dt.datetime.fromtimestamp(start, tz).date() - dt.timedelta(days=1)
    last_day = dt.datetime.fromtimestamp(end, tz).date()
    while day <= last_day:
        w0, w1 = night_window(day, th.late_night_start_hour, th.late_night_end_hour, tz)
        total += max(0.0, min(end, w1) - max(start, w0)) / 60
        day += dt.timedelta(days=1)
    return total


def live_state_from_store(
    values: Mapping[str, Any], spends: list[tuple[int, int]], spend_norm: float | None
) -> LiveState:
    """The state from the hot store's live object (fields ``core.hotstore.LIVE_FIELDS``), spends and norm."""

    def num(name: str) -> int | None:
        value = values.get(name)
        return None if value is None or value == "" else int(float(value))

    return LiveState(
        chase_at=num("ca") or None,  # 0: no chasing bet yet
        chase_losses=num("cn") or 0,
        chase_first_bet=num("cf") or 0,
        chase_bet=num("cb") or 0,
        session_start=num("ss"),
        session_last=num("sl"),
        session_net=num("sn") or 0,
        session_rounds=num("sr") or 0,
        spends=tuple(spends),
        spend_norm=spend_norm,
    )
