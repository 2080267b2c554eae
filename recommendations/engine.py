"""The recommendation engine (spec 2.3.3 and 2.3.4; design brief sections 5 and 6).

``recommend(ctx, templates)`` is a pure function: everything it reads comes in the ``Context`` (the clock
included, as ``ctx.now``) and the compiled ``Templates`` (message texts and mission rewards). No database,
no cache, no settings, no clock: the same inputs always give the same recommendation, and a call costs a few
microseconds (``bench/recommend.py``).

The rules, in the spec's order (docs/decisions/0009-recommendation-engine.md):

1. Segment: ``Whale`` -> Roulette, reward level 3; ``High Engaged`` -> SlotMachine, 2; ``Medium`` ->
   RPSGame, 1; anything else (``Low``, no segment row yet) -> Quiz, 0.
2. Token balance: >= 500 HIGH_STAKE; >= 200 MID_STAKE; else EARN_MORE (action VISIT_CORPORATE_SITE).
3. Risk profile: ``High-Risk`` RISKY_PLAY; ``Low-Risk`` SAFE_PLAY; ``Moderate-Risk`` (or none) nothing.
4. Company A: last visit more than 7 days ago (exactly 7 days is not more), or never -> CORPORATE_ENGAGE
   (VISIT_CORPORATE_SITE); else fewer than 500 tokens earned from Company A this month (499 yes, 500 no)
   -> CORPORATE_MISSION (COMPLETE_CORPORATE_QUIZ).
5. Spec 2.3.3's mission: no risk profile and no quiz taken -> QUIZ_MISSION (COMPLETE_PROFILE_QUIZ).

Player protection (design brief section 6) then removes what it must, and each removal is kept in
``Recommendation.suppressed`` with its reason:

- cool-off or self-exclusion: no play or stake proposal (HIGH_STAKE, MID_STAKE, RISKY_PLAY, SAFE_PLAY), no
  recommended game, no usage window;
- a daily or weekly spend limit used up: no proposal that asks for a bet (the same four);
- any harm marker (nightly) or live harm signal (``players.live_harm``: the session the player is in): no
  stake-raising proposal (HIGH_STAKE, RISKY_PLAY), and a LIMIT_SUGGESTION leads the list;
- self-exclusion also removes the proposals that earn tokens (EARN_MORE, CORPORATE_ENGAGE, CORPORATE_MISSION,
  QUIZ_MISSION);
- the content proposal (CONTENT_STAGE: spec 2.3.3's "Stage 2", the next stage and its price, for a verified adult
  whose balance holds it or is within ``CONTENT_CLOSE_SHARE`` of it) asks for a spend: every rule above removes it,
  any harm marker or live signal too, and so does a spend limit that leaves less than its price.

The win streak is an input (spec 2.3.2) that no rule of 2.3.4 uses; it is deliberately not used to raise
stakes ("you are on a streak, bet more" is the hot-hand fallacy).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.timezones import zone
from players.live_harm import LIVE_LATE_NIGHT
from recommendations.harm import LATE_NIGHT_SESSIONS

# --- vocabulary ---------------------------------------------------------------------------------------------

WHALE, HIGH_ENGAGED, MEDIUM, LOW = "Whale", "High Engaged", "Medium", "Low"
SEGMENTS = (WHALE, HIGH_ENGAGED, MEDIUM, LOW)
HIGH_RISK, MODERATE, LOW_RISK = "High-Risk", "Moderate-Risk", "Low-Risk"  # spec 2.4's spelling
RISK_PROFILES = (HIGH_RISK, MODERATE, LOW_RISK)

ROULETTE, SLOT_MACHINE, RPS_GAME, QUIZ = "Roulette", "SlotMachine", "RPSGame", "Quiz"

HIGH_STAKE, MID_STAKE, EARN_MORE = "HIGH_STAKE", "MID_STAKE", "EARN_MORE"
RISKY_PLAY, SAFE_PLAY = "RISKY_PLAY", "SAFE_PLAY"
CORPORATE_ENGAGE, CORPORATE_MISSION = "CORPORATE_ENGAGE", "CORPORATE_MISSION"
QUIZ_MISSION, LIMIT_SUGGESTION = "QUIZ_MISSION", "LIMIT_SUGGESTION"
CONTENT_STAGE = "CONTENT_STAGE"
PROPOSAL_TYPES = (
    LIMIT_SUGGESTION,
    HIGH_STAKE,
    MID_STAKE,
    EARN_MORE,
    RISKY_PLAY,
    SAFE_PLAY,
    CONTENT_STAGE,
    CORPORATE_ENGAGE,
    CORPORATE_MISSION,
    QUIZ_MISSION,
)
# Message keys besides the proposal types: CORPORATE_ENGAGE for a player who never visited Company A; CONTENT_STAGE
# for a balance a little short of the next stage's price.
CORPORATE_ENGAGE_FIRST = "CORPORATE_ENGAGE_FIRST"
CONTENT_STAGE_SHORT = "CONTENT_STAGE_SHORT"

# Mission actions (the button's target); rewards come from settings.MISSION_REWARDS (recommendations.missions).
VISIT_CORPORATE_SITE = "VISIT_CORPORATE_SITE"
COMPLETE_CORPORATE_QUIZ = "COMPLETE_CORPORATE_QUIZ"
COMPLETE_PROFILE_QUIZ = "COMPLETE_PROFILE_QUIZ"
SET_SPEND_LIMIT = "SET_SPEND_LIMIT"  # opens the player's protection settings; not a mission, no reward
OPEN_CONTENT = "OPEN_CONTENT"  # opens the content screen at the stage (``content_id``), where it is unlocked or not

# Protection states (Context.paused); self-exclusion wins when both are in force.
SELF_EXCLUSION, COOL_OFF = "self_exclusion", "cool_off"

# --- the spec's thresholds ------------------------------------------------------------------------------------

HIGH_STAKE_MIN_BALANCE = 500  # balance >= 500: HIGH_STAKE
MID_STAKE_MIN_BALANCE = 200  # balance >= 200: MID_STAKE; below: EARN_MORE
CORPORATE_ENGAGE_AFTER = dt.timedelta(days=7)  # last visit strictly more than this ago (or never): engage
CORPORATE_MISSION_BELOW = 500  # tokens from Company A this month strictly below this: mission
# The next content stage (spec 2.3.3's "Stage 2" proposal) is proposed to a verified adult whose balance holds its
# price or is short of it by at most this share of the price ("close to it": 20%, e.g. 40 tokens of 200).
CONTENT_CLOSE_SHARE = 0.2

# Proposals that ask the player to bet (removed during a pause or with a spend limit used up), those that raise the
# stake (removed by a harm marker or a live harm signal), and those that earn tokens (removed during a
# self-exclusion: tokens owed are still credited, but nothing invites the player to collect more).
BET_PROPOSALS = frozenset({HIGH_STAKE, MID_STAKE, RISKY_PLAY, SAFE_PLAY})
STAKE_RAISING_PROPOSALS = frozenset({HIGH_STAKE, RISKY_PLAY})
EARN_PROPOSALS = frozenset({EARN_MORE, CORPORATE_ENGAGE, CORPORATE_MISSION, QUIZ_MISSION})
# Proposals that ask the player to spend tokens (not a bet): removed during a pause, with a spend limit used up or
# too tight for the price, and by any harm marker or live harm signal.
SPEND_PROPOSALS = frozenset({CONTENT_STAGE})

_SEGMENT_RULE: dict[str | None, tuple[int, str]] = {
    WHALE: (3, ROULETTE),
    HIGH_ENGAGED: (2, SLOT_MACHINE),
    MEDIUM: (1, RPS_GAME),
}
_LOW_RULE = (0, QUIZ)  # 'Low', at-risk, or no segment row yet (the spec's else branch)
HOURS = 24
_HOUR_LABELS = tuple(f"{h:02d}:00" for h in range(HOURS))
_NO_PLAY_HOURS = (0,) * HOURS
_NOTHING_BLOCKED: dict[str, Any] = {}
# The local hours never suggested to a player with the LATE_NIGHT_SESSIONS marker (the marker's night:
# settings.HARM_MARKERS late_night_start_hour..late_night_end_hour, 00:00-05:00 by default).
NIGHT_HOURS = range(0, 5)


# --- inputs and outputs -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Context:
    """Everything one recommendation depends on; gathered by ``recommendations.selectors`` (one database and
    one Redis round trip) or built by hand in tests and the benchmark.

    ``corporate_tokens_month``: tokens earned from Company A (``EARN_CYBER_TOKENS`` with source ``corporate``)
    since the first day of the current calendar month, 00:00 in the business timezone (design brief
    section 3: "this month" is a business-timezone month). ``play_hours``: the player's game rounds in the
    last 30 days by hour of day in the player's own timezone (24 counts). ``population_peak_hour``: the hour
    (player's local clock) most players play at, the usage window's fallback.
    """

    now: dt.datetime
    segment: str | None = None
    risk_profile: str | None = None
    balance: int = 0
    win_streak: int = 0
    last_corporate_visit_at: dt.datetime | None = None
    corporate_tokens_month: int = 0
    quiz_taken: bool = False
    paused: str | None = None  # SELF_EXCLUSION, COOL_OFF or None
    paused_until: dt.datetime | None = None
    spend_limit_reached: bool = False
    spend_limit_left: int | None = None  # tokens the tightest spend limit still allows today/this week; None: no limit
    harm_markers: frozenset[str] = frozenset()
    live_signals: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # players.live_harm: {signal: figures}
    play_hours: tuple[int, ...] = _NO_PLAY_HOURS
    locale: str = "ko"
    timezone: str = "Asia/Seoul"
    population_peak_hour: int = 20
    verified_adult: bool = False  # a verified birth date, 19 or over today (business calendar; players.age)
    next_stage: NextStage | None = None  # only for a verified adult


@dataclass(frozen=True, slots=True)
class NextStage:
    """The first active adult content stage the player has not unlocked (``content``), read for a verified adult."""

    content_id: int
    stage: int
    name: str
    price: int
    required_segment_level: int


Reason = Mapping[str, Any]  # {"rule": name, <input>: value, ...} as design brief section 5 shows it


@dataclass(frozen=True, slots=True)
class Proposal:
    """One card of the player's "today's proposals" (spec 2.3.4 ``proposals[]``).

    ``reward_tokens`` is set for a mission action (what the granting code pays for it); ``game`` for a play
    proposal. ``message_key`` names the message ``message`` was rendered from (CORPORATE_ENGAGE_FIRST for a
    CORPORATE_ENGAGE to a player who never visited, CONTENT_STAGE_SHORT for a balance short of the price) and
    ``params`` the placeholder values it was rendered with, so that another wording of the same message (a variant,
    ``recommendations.variants``) states the same facts. The API layer adds the proposal's id.
    """

    type: str
    message: str
    reason: Reason
    game: str | None = None
    action: str | None = None
    reward_tokens: int | None = None
    content_id: int | None = None  # CONTENT_STAGE: the stage to open
    message_key: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A proposal a rule produced and player protection removed, with the protection rule that removed it."""

    type: str
    reason: Reason


@dataclass(frozen=True, slots=True)
class UsageWindow:
    """The hour to suggest opening the app (spec 2.3.3 "20:00~21:00"), in the player's timezone.

    ``source``: ``player`` (their own play hours, the latest Company A visit counting as one more),
    ``corporate_visit`` (no play yet, the hour of their latest visit) or ``population`` (the fallback).
    """

    start: str
    end: str
    timezone: str
    source: str

    @property
    def label(self) -> str:
        return f"{self.start}~{self.end}"


@dataclass(frozen=True, slots=True)
class Recommendation:
    recommended_game: str | None
    reward_level: int
    proposals: tuple[Proposal, ...]
    usage_window: UsageWindow | None
    game_reason: Reason
    suppressed: tuple[Suppressed, ...] = field(default=())

    @property
    def types(self) -> list[str]:
        return [p.type for p in self.proposals]

    @property
    def quiz_mission(self) -> Proposal | None:
        """Spec 2.3.3's quiz mission, when the player has no risk profile yet (it is also in ``proposals``)."""
        return next((p for p in self.proposals if p.type == QUIZ_MISSION), None)


Render = Callable[..., str]  # a compiled template: ``render(**placeholders)``


@dataclass(frozen=True, slots=True)
class Templates:
    """Compiled message templates ``{locale: {key: render}}`` (Korean first: the fallback) and the mission
    rewards ``{action: tokens}``; built by ``recommendations.templates`` from the texts catalog (``texts``: the
    defaults declared in ``recommendations.messages`` and the operators' overrides) and ``settings.MISSION_REWARDS``."""

    by_locale: Mapping[str, Mapping[str, Render]]
    rewards: Mapping[str, int]
    fallback_locale: str = "ko"


# --- the engine ---------------------------------------------------------------------------------------------


def _say(messages: Mapping[str, Render], key: str, **params: Any) -> dict[str, Any]:
    """A proposal's text fields: message ``key`` rendered with ``params``, and what it was rendered from."""
    return {"message": messages[key](**params), "message_key": key, "params": params}


def recommend(ctx: Context, templates: Templates) -> Recommendation:
    """The recommendation for ``ctx`` (spec 2.3.4, in its order, then protection); see the module docstring."""
    messages = templates.by_locale.get(ctx.locale) or templates.by_locale[templates.fallback_locale]
    rewards = templates.rewards
    balance = ctx.balance
    harm = harm_reason(ctx)
    paused = ctx.paused
    # Which protection rule removes which proposal type (first rule wins: pause, spend limit, harm).
    if paused is not None:
        block: Reason = {"rule": paused, "until": ctx.paused_until}
        blocked: frozenset[str] = BET_PROPOSALS | SPEND_PROPOSALS
        if paused == SELF_EXCLUSION:
            blocked |= EARN_PROPOSALS
    elif ctx.spend_limit_reached:
        block, blocked = {"rule": "spend_limit_reached"}, BET_PROPOSALS | SPEND_PROPOSALS
    elif harm is not None:
        block, blocked = harm, STAKE_RAISING_PROPOSALS | SPEND_PROPOSALS
    else:
        block, blocked = _NOTHING_BLOCKED, frozenset()
    proposals: list[Proposal] = []
    suppressed: list[Suppressed] = []

    # 0. Harm markers and live harm signals lead with a limit-setting suggestion (not during a pause: nothing is
    # offered to bet then).
    if harm is not None and paused is None:
        proposals.append(
            Proposal(LIMIT_SUGGESTION, reason=harm, action=SET_SPEND_LIMIT, **_say(messages, LIMIT_SUGGESTION))
        )

    # 1. Segment: recommended game and reward level.
    reward_level, segment_game = _SEGMENT_RULE.get(ctx.segment, _LOW_RULE)
    game: str | None = segment_game
    game_reason: Reason = {"rule": "segment", "segment": ctx.segment}
    if paused is not None:
        game = None
        game_reason = {"rule": paused, "until": ctx.paused_until, "segment": ctx.segment}

    # 2. Token balance.
    balance_reason = {"rule": "token_balance", "token_balance": balance}
    if balance >= HIGH_STAKE_MIN_BALANCE:
        kind, play = HIGH_STAKE, ROULETTE
    elif balance >= MID_STAKE_MIN_BALANCE:
        kind, play = MID_STAKE, SLOT_MACHINE
    else:
        kind = ""
        proposals.append(
            Proposal(
                EARN_MORE,
                reason=balance_reason,
                action=VISIT_CORPORATE_SITE,
                reward_tokens=rewards[VISIT_CORPORATE_SITE],
                **_say(messages, EARN_MORE, token_balance=balance, tokens_needed=MID_STAKE_MIN_BALANCE - balance),
            )
        )
    if kind:
        if kind in blocked:
            suppressed.append(Suppressed(kind, block))
        else:
            proposals.append(
                Proposal(kind, reason=balance_reason, game=play, **_say(messages, kind, token_balance=balance))
            )

    # 3. Risk profile.
    risk = ctx.risk_profile
    if risk in (HIGH_RISK, LOW_RISK):
        kind, play = (RISKY_PLAY, ROULETTE) if risk == HIGH_RISK else (SAFE_PLAY, SLOT_MACHINE)
        if kind in blocked:
            suppressed.append(Suppressed(kind, block))
        else:
            proposals.append(
                Proposal(
                    kind,
                    reason={"rule": "risk_profile", "risk_profile": risk},
                    game=play,
                    **_say(messages, kind, token_balance=balance),
                )
            )

    # 3b. Spec 2.3.3's "Stage 2 Adult Content" proposal, facts only: the next stage and its price, for a verified
    # adult whose segment reaches its level and whose balance holds the price or is close to it. Never to anyone else
    # (nothing about it, not even a suppression).
    stage = ctx.next_stage if ctx.verified_adult else None
    if stage is not None and reward_level >= stage.required_segment_level:
        short = stage.price - balance
        if short <= stage.price * CONTENT_CLOSE_SHARE:
            content_reason = {
                "rule": "content_next_stage",
                "verified_adult": True,
                "content_id": stage.content_id,
                "stage": stage.stage,
                "price": stage.price,
                "token_balance": balance,
                "segment_level": reward_level,
                "required_segment_level": stage.required_segment_level,
            }
            left = ctx.spend_limit_left
            if CONTENT_STAGE in blocked:
                suppressed.append(Suppressed(CONTENT_STAGE, block))
            elif left is not None and stage.price > left:
                limit_reason = {"rule": "spend_limit_left", "spend_limit_left": left, "price": stage.price}
                suppressed.append(Suppressed(CONTENT_STAGE, limit_reason))
            else:
                facts = {"stage": stage.stage, "stage_name": stage.name, "price": stage.price, "token_balance": balance}
                text = (
                    _say(messages, CONTENT_STAGE, **facts)
                    if short <= 0
                    else _say(messages, CONTENT_STAGE_SHORT, **facts, tokens_short=short)
                )
                proposals.append(
                    Proposal(
                        CONTENT_STAGE, reason=content_reason, action=OPEN_CONTENT, content_id=stage.content_id, **text
                    )
                )

    # 4. Company A.
    visit = ctx.last_corporate_visit_at
    days = None if visit is None else (ctx.now - visit).days
    if visit is None or ctx.now - visit > CORPORATE_ENGAGE_AFTER:
        reward = rewards[VISIT_CORPORATE_SITE]
        text = (
            _say(messages, CORPORATE_ENGAGE_FIRST, reward_tokens=reward)
            if visit is None
            else _say(messages, CORPORATE_ENGAGE, days_since_visit=days, reward_tokens=reward)
        )
        proposals.append(
            Proposal(
                CORPORATE_ENGAGE,
                reason={
                    "rule": "corporate_visit",
                    "last_corporate_visit_at": visit,
                    "days_since_visit": days,
                },
                action=VISIT_CORPORATE_SITE,
                reward_tokens=reward,
                **text,
            )
        )
    elif ctx.corporate_tokens_month < CORPORATE_MISSION_BELOW:
        reward = rewards[COMPLETE_CORPORATE_QUIZ]
        proposals.append(
            Proposal(
                CORPORATE_MISSION,
                reason={
                    "rule": "corporate_tokens_month",
                    "corporate_tokens_month": ctx.corporate_tokens_month,
                    "days_since_visit": days,
                },
                action=COMPLETE_CORPORATE_QUIZ,
                reward_tokens=reward,
                **_say(
                    messages, CORPORATE_MISSION, corporate_token_count=ctx.corporate_tokens_month, reward_tokens=reward
                ),
            )
        )

    # 5. Spec 2.3.3's quiz mission: no risk profile yet.
    if risk is None and not ctx.quiz_taken:
        reward = rewards[COMPLETE_PROFILE_QUIZ]
        proposals.append(
            Proposal(
                QUIZ_MISSION,
                reason={"rule": "risk_profile_missing", "risk_profile": None, "quiz_taken": False},
                action=COMPLETE_PROFILE_QUIZ,
                reward_tokens=reward,
                **_say(messages, QUIZ_MISSION, reward_tokens=reward),
            )
        )

    if blocked & EARN_PROPOSALS:
        suppressed += [Suppressed(p.type, block) for p in proposals if p.type in blocked]
        proposals = [p for p in proposals if p.type not in blocked]

    return Recommendation(
        recommended_game=game,
        reward_level=reward_level,
        proposals=tuple(proposals),
        usage_window=None if paused is not None else usage_window(ctx),
        game_reason=game_reason,
        suppressed=tuple(suppressed),
    )


def harm_reason(ctx: Context) -> Reason | None:
    """The reason of a harm rule, naming what fired and on which figures: the live signals (``live_harm_signals``,
    with the nightly markers too) or the nightly markers alone (``harm_markers``); None when neither holds."""
    if ctx.live_signals:
        return {
            "rule": "live_harm_signals",
            "live_signals": {name: dict(figures) for name, figures in sorted(ctx.live_signals.items())},
            "harm_markers": sorted(ctx.harm_markers),
        }
    if ctx.harm_markers:
        return {"rule": "harm_markers", "harm_markers": sorted(ctx.harm_markers)}
    return None


def usage_window(ctx: Context) -> UsageWindow | None:
    """Spec 2.3.3's usage window: the hour the player plays most (their own timezone), the hour of their latest
    Company A visit counting as one more round; ties go to the earlier hour. No play and no visit: the
    population's peak hour. With the LATE_NIGHT_SESSIONS marker the night hours (00:00-05:00) are never
    suggested, nor with the LIVE_LATE_NIGHT signal (None when only they are left)."""
    scores = list(ctx.play_hours)
    visit = ctx.last_corporate_visit_at
    visit_hour = -1
    if visit is not None:
        visit_hour = visit.astimezone(zone(ctx.timezone)).hour
        scores[visit_hour] += 1
    night = LATE_NIGHT_SESSIONS in ctx.harm_markers or LIVE_LATE_NIGHT in ctx.live_signals
    if night:
        for hour in NIGHT_HOURS:
            scores[hour] = 0
    best, best_score = 0, 0
    for hour in range(HOURS):
        if scores[hour] > best_score:
            best, best_score = hour, scores[hour]
    if best_score > 0:
        source = "player" if ctx.play_hours[best] > 0 else "corporate_visit"
    else:
        best, source = ctx.population_peak_hour % HOURS, "population"
        if night and best in NIGHT_HOURS:
            return None
    return UsageWindow(_HOUR_LABELS[best], _HOUR_LABELS[(best + 1) % HOURS], ctx.timezone, source)
