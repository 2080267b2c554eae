"""The engine (spec 2.3.3, 2.3.4; design brief sections 5 and 6): the spec's example exactly, then a table that
walks every rule, edge, protection state, harm marker and locale."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from players.live_harm import LIVE_SIGNALS
from recommendations import engine
from recommendations.engine import Context, recommend
from recommendations.harm import LATE_NIGHT_SESSIONS, LOSS_CHASING, SPEND_SPIKE
from recommendations.templates import templates_build
from tests.recommendations.helpers import SPEC_EXAMPLE
from texts.catalog import catalog_compile

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)  # 12:00 in Seoul
REWARDS = {"VISIT_CORPORATE_SITE": 100, "COMPLETE_CORPORATE_QUIZ": 200, "COMPLETE_PROFILE_QUIZ": 200}
TEMPLATES = templates_build(texts=catalog_compile([]), rewards=REWARDS)

# The spec's example (2.3.4 "결과 예시"): High Engaged, Low-Risk, 250 tokens, 150 tokens from Company A this
# month, last visit 2 days ago.
EXAMPLE = Context(
    now=NOW,
    segment="High Engaged",
    risk_profile="Low-Risk",
    balance=250,
    corporate_tokens_month=150,
    last_corporate_visit_at=NOW - dt.timedelta(days=2),
    locale="ko",
    timezone="Asia/Seoul",
)


def spec_shape(rec: engine.Recommendation) -> dict[str, Any]:
    """The recommendation in the spec's JSON shape (game or action, whichever the proposal has)."""
    proposals = []
    for p in rec.proposals:
        item: dict[str, Any] = {"type": p.type, "message": p.message}
        if p.game is not None:
            item["game"] = p.game
        if p.action is not None:
            item["action"] = p.action
        proposals.append(item)
    return {"recommended_game": rec.recommended_game, "proposals": proposals}


def test_the_spec_example_comes_out_exactly():
    # given the spec's example player
    # when the engine recommends
    rec = recommend(EXAMPLE, TEMPLATES)
    # then it is the spec's result, message for message, with the player's real 250 and 150
    assert spec_shape(rec) == SPEC_EXAMPLE
    assert rec.reward_level == 2
    # and each proposal names its rule and inputs (design brief section 5)
    assert [p.reason for p in rec.proposals] == [
        {"rule": "token_balance", "token_balance": 250},
        {"rule": "risk_profile", "risk_profile": "Low-Risk"},
        {"rule": "corporate_tokens_month", "corporate_tokens_month": 150, "days_since_visit": 2},
    ]
    assert rec.proposals[2].reward_tokens == 200
    assert rec.suppressed == ()


def test_the_engine_is_deterministic_and_leaves_its_inputs_alone():
    # given a context
    before = dataclasses.replace(EXAMPLE)
    # when it is recommended twice
    first, second = recommend(EXAMPLE, TEMPLATES), recommend(EXAMPLE, TEMPLATES)
    # then both answers are equal and the context is unchanged
    assert first == second
    assert before == EXAMPLE


# --- the table ----------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    given: dict[str, Any]
    types: list[str]
    game: str | None = "SlotMachine"
    level: int | None = None
    messages: dict[str, str] | None = None  # {type: exact message}
    reasons: dict[str, dict[str, Any]] | None = None  # {type: exact reason}
    suppressed: dict[str, str] | None = None  # {type: protection rule}
    rewards: dict[str, int] | None = None  # {type: reward tokens}
    window: str | bool | None = False  # expected usage window label (False: not checked)


DAY = dt.timedelta(days=1)
SEC = dt.timedelta(seconds=1)
BASE_TYPES = ["MID_STAKE", "SAFE_PLAY", "CORPORATE_MISSION"]
ADULT = {"verified_adult": True}


def stage(*, price: int, level: int = 1) -> engine.NextStage:
    """Stage 2, content 7, "Night Walk", at ``price`` for segment level ``level`` (the example is High Engaged: 2)."""
    return engine.NextStage(content_id=7, stage=2, name="Night Walk", price=price, required_segment_level=level)


CASES = [
    # 1. segment -> recommended game and reward level
    Case("segment Whale", {"segment": "Whale"}, BASE_TYPES, game="Roulette", level=3),
    Case("segment High Engaged", {"segment": "High Engaged"}, BASE_TYPES, game="SlotMachine", level=2),
    Case("segment Medium", {"segment": "Medium"}, BASE_TYPES, game="RPSGame", level=1),
    Case("segment Low", {"segment": "Low"}, BASE_TYPES, game="Quiz", level=0),
    Case("no segment row yet", {"segment": None}, BASE_TYPES, game="Quiz", level=0),
    # 2. token balance: 500 and more HIGH_STAKE, 200 and more MID_STAKE, else EARN_MORE
    Case(
        "balance 0",
        {"balance": 0},
        ["EARN_MORE", "SAFE_PLAY", "CORPORATE_MISSION"],
        messages={"EARN_MORE": "토큰 잔고가 0개입니다. A 업체에서 200토큰만 더 모아보세요!"},
        reasons={"EARN_MORE": {"rule": "token_balance", "token_balance": 0}},
        rewards={"EARN_MORE": 100},
    ),
    Case(
        "balance 199",
        {"balance": 199},
        ["EARN_MORE", "SAFE_PLAY", "CORPORATE_MISSION"],
        messages={"EARN_MORE": "토큰 잔고가 199개입니다. A 업체에서 1토큰만 더 모아보세요!"},
    ),
    Case(
        "balance 200",
        {"balance": 200},
        BASE_TYPES,
        messages={"MID_STAKE": "토큰이 200개 있어요! 슬롯머신으로 안정적인 보상을 노려보세요"},
    ),
    Case(
        "balance 499",
        {"balance": 499},
        BASE_TYPES,
        messages={"MID_STAKE": "토큰이 499개 있어요! 슬롯머신으로 안정적인 보상을 노려보세요"},
    ),
    Case(
        "balance 500",
        {"balance": 500},
        ["HIGH_STAKE", "SAFE_PLAY", "CORPORATE_MISSION"],
        messages={"HIGH_STAKE": "현재 500 토큰 보유 중! 룰렛 한 판에 걸어보세요"},
        reasons={"HIGH_STAKE": {"rule": "token_balance", "token_balance": 500}},
    ),
    # 3. risk profile
    Case(
        "High-Risk",
        {"risk_profile": "High-Risk"},
        ["MID_STAKE", "RISKY_PLAY", "CORPORATE_MISSION"],
        messages={"RISKY_PLAY": "위험을 즐기시는군요! 프리미엄 룰렛에 도전해보세요"},
        reasons={"RISKY_PLAY": {"rule": "risk_profile", "risk_profile": "High-Risk"}},
    ),
    Case("Moderate-Risk", {"risk_profile": "Moderate-Risk"}, ["MID_STAKE", "CORPORATE_MISSION"]),
    Case("Low-Risk", {"risk_profile": "Low-Risk"}, BASE_TYPES),
    Case(
        "no risk profile: quiz mission",
        {"risk_profile": None},
        ["MID_STAKE", "CORPORATE_MISSION", "QUIZ_MISSION"],
        messages={"QUIZ_MISSION": "퀴즈 참여 시 200 토큰 보상 + 심층 프로필 업데이트"},
        reasons={"QUIZ_MISSION": {"rule": "risk_profile_missing", "risk_profile": None, "quiz_taken": False}},
        rewards={"QUIZ_MISSION": 200},
    ),
    Case("no risk profile, quiz taken", {"risk_profile": None, "quiz_taken": True}, ["MID_STAKE", "CORPORATE_MISSION"]),
    # 4. Company A: more than 7 days (or never) engage; else under 500 tokens this month a mission
    Case("visited 2 days ago, 150 this month", {}, BASE_TYPES),
    Case(
        "visited exactly 7 days ago",
        {"last_corporate_visit_at": NOW - 7 * DAY},
        BASE_TYPES,
        reasons={
            "CORPORATE_MISSION": {
                "rule": "corporate_tokens_month",
                "corporate_tokens_month": 150,
                "days_since_visit": 7,
            }
        },
    ),
    Case(
        "visited 7 days and 1 second ago",
        {"last_corporate_visit_at": NOW - 7 * DAY - SEC},
        ["MID_STAKE", "SAFE_PLAY", "CORPORATE_ENGAGE"],
        messages={"CORPORATE_ENGAGE": "마지막 A 방문이 7일 전이네요! 지금 로그인만 해도 100토큰 보상"},
        reasons={
            "CORPORATE_ENGAGE": {
                "rule": "corporate_visit",
                "last_corporate_visit_at": NOW - 7 * DAY - SEC,
                "days_since_visit": 7,
            }
        },
        rewards={"CORPORATE_ENGAGE": 100},
    ),
    Case(
        "visited 8 days ago",
        {"last_corporate_visit_at": NOW - 8 * DAY},
        ["MID_STAKE", "SAFE_PLAY", "CORPORATE_ENGAGE"],
        messages={"CORPORATE_ENGAGE": "마지막 A 방문이 8일 전이네요! 지금 로그인만 해도 100토큰 보상"},
    ),
    Case(
        "never visited",
        {"last_corporate_visit_at": None, "corporate_tokens_month": 0},
        ["MID_STAKE", "SAFE_PLAY", "CORPORATE_ENGAGE"],
        messages={"CORPORATE_ENGAGE": "아직 A 업체를 방문한 적이 없네요! 지금 로그인만 해도 100토큰 보상"},
        reasons={
            "CORPORATE_ENGAGE": {"rule": "corporate_visit", "last_corporate_visit_at": None, "days_since_visit": None}
        },
    ),
    Case(
        "never visited, 600 this month",
        {"last_corporate_visit_at": None, "corporate_tokens_month": 600},
        ["MID_STAKE", "SAFE_PLAY", "CORPORATE_ENGAGE"],
    ),
    Case(
        "499 tokens this month",
        {"corporate_tokens_month": 499},
        BASE_TYPES,
        messages={"CORPORATE_MISSION": "이번 달 토큰 획득이 499개예요. A 업체에서 퀴즈 풀고 200토큰 받으세요!"},
    ),
    Case("500 tokens this month", {"corporate_tokens_month": 500}, ["MID_STAKE", "SAFE_PLAY"]),
    Case(
        "0 tokens this month",
        {"corporate_tokens_month": 0},
        BASE_TYPES,
        messages={"CORPORATE_MISSION": "이번 달 토큰 획득이 0개예요. A 업체에서 퀴즈 풀고 200토큰 받으세요!"},
    ),
    # player protection: pauses
    Case(
        "self-exclusion: no play, and no earn proposal either",
        {"paused": "self_exclusion", "paused_until": NOW + 200 * DAY},
        [],
        game=None,
        level=2,
        suppressed={
            "MID_STAKE": "self_exclusion",
            "SAFE_PLAY": "self_exclusion",
            "CORPORATE_MISSION": "self_exclusion",
        },
        window=None,
    ),
    Case(
        "cool-off",
        {"paused": "cool_off", "paused_until": NOW + DAY, "balance": 900, "risk_profile": "High-Risk"},
        ["CORPORATE_MISSION"],
        game=None,
        suppressed={"HIGH_STAKE": "cool_off", "RISKY_PLAY": "cool_off"},
        window=None,
    ),
    Case(
        "cool-off with a low balance keeps EARN_MORE",
        {"paused": "cool_off", "paused_until": NOW + DAY, "balance": 10},
        ["EARN_MORE", "CORPORATE_MISSION"],
        game=None,
        suppressed={"SAFE_PLAY": "cool_off"},
    ),
    Case(
        "self-exclusion with harm markers: no limit suggestion",
        {"paused": "self_exclusion", "paused_until": NOW + 200 * DAY, "harm_markers": frozenset({LOSS_CHASING})},
        [],
        game=None,
        suppressed={
            "MID_STAKE": "self_exclusion",
            "SAFE_PLAY": "self_exclusion",
            "CORPORATE_MISSION": "self_exclusion",
        },
    ),
    # player protection: spend limit used up (no bet proposals; the game stays)
    Case(
        "spend limit reached",
        {"spend_limit_reached": True},
        ["CORPORATE_MISSION"],
        game="SlotMachine",
        suppressed={"MID_STAKE": "spend_limit_reached", "SAFE_PLAY": "spend_limit_reached"},
    ),
    Case(
        "spend limit reached, 500 tokens, High-Risk",
        {"spend_limit_reached": True, "balance": 500, "risk_profile": "High-Risk"},
        ["CORPORATE_MISSION"],
        suppressed={"HIGH_STAKE": "spend_limit_reached", "RISKY_PLAY": "spend_limit_reached"},
    ),
    # harm markers: no HIGH_STAKE / RISKY_PLAY, a limit suggestion first
    *[
        Case(
            f"harm marker {marker}",
            {"harm_markers": frozenset({marker}), "balance": 800, "risk_profile": "High-Risk"},
            ["LIMIT_SUGGESTION", "CORPORATE_MISSION"],
            suppressed={"HIGH_STAKE": "harm_markers", "RISKY_PLAY": "harm_markers"},
            reasons={"LIMIT_SUGGESTION": {"rule": "harm_markers", "harm_markers": [marker]}},
            messages={
                "LIMIT_SUGGESTION": "최근 플레이 패턴을 점검해보세요. 일일·주간 토큰 사용 한도와 쿨오프를 언제든 "
                "설정할 수 있어요"
            },
        )
        for marker in (LOSS_CHASING, SPEND_SPIKE, LATE_NIGHT_SESSIONS)
    ],
    Case(
        "harm markers keep MID_STAKE and SAFE_PLAY",
        {"harm_markers": frozenset({SPEND_SPIKE, LOSS_CHASING})},
        ["LIMIT_SUGGESTION", *BASE_TYPES],
        reasons={"LIMIT_SUGGESTION": {"rule": "harm_markers", "harm_markers": [LOSS_CHASING, SPEND_SPIKE]}},
    ),
    # locales
    Case(
        "English",
        {"locale": "en"},
        BASE_TYPES,
        messages={
            "MID_STAKE": "You have 250 tokens! Go for steady rewards on the slot machine",
            "SAFE_PLAY": "If you prefer steady play, build up rewards bit by bit with small bets on the slot machine",
            "CORPORATE_MISSION": "You have earned 150 tokens from Company A this month. Solve a quiz there and get 200 "
            "tokens!",
        },
    ),
    Case(
        "English engage, never visited",
        {"locale": "en", "last_corporate_visit_at": None},
        ["MID_STAKE", "SAFE_PLAY", "CORPORATE_ENGAGE"],
        messages={"CORPORATE_ENGAGE": "You have not visited Company A yet! Just log in now to get 100 tokens"},
    ),
    Case(
        "English limit suggestion and quiz",
        {"locale": "en", "harm_markers": frozenset({SPEND_SPIKE}), "risk_profile": None, "balance": 50},
        ["LIMIT_SUGGESTION", "EARN_MORE", "CORPORATE_MISSION", "QUIZ_MISSION"],
        messages={
            "LIMIT_SUGGESTION": "Take a look at your recent play. You can set daily and weekly token spending limits "
            "or a cool-off at any time",
            "EARN_MORE": "Your token balance is 50. Collect just 150 more tokens at Company A!",
            "QUIZ_MISSION": "Take the quiz: 200 tokens and an in-depth profile update",
        },
    ),
    Case(
        "English engage 8 days, high stake, risky",
        {"locale": "en", "last_corporate_visit_at": NOW - 8 * DAY, "balance": 1200, "risk_profile": "High-Risk"},
        ["HIGH_STAKE", "RISKY_PLAY", "CORPORATE_ENGAGE"],
        messages={
            "HIGH_STAKE": "You have 1200 tokens! Try a round of roulette",
            "RISKY_PLAY": "You enjoy taking risks! Take on the premium roulette",
            "CORPORATE_ENGAGE": "Your last Company A visit was 8 days ago! Just log in now to get 100 tokens",
        },
    ),
    Case(
        "unknown locale falls back to Korean",
        {"locale": "fr"},
        BASE_TYPES,
        messages={"MID_STAKE": "토큰이 250개 있어요! 슬롯머신으로 안정적인 보상을 노려보세요"},
    ),
    # spec 2.3.3's "Stage 2 Adult Content": the next stage and its price, for a verified adult only
    Case(
        "verified adult holding the next stage's price",
        {**ADULT, "next_stage": stage(price=250)},
        ["MID_STAKE", "SAFE_PLAY", "CONTENT_STAGE", "CORPORATE_MISSION"],
        messages={
            "CONTENT_STAGE": "2단계 콘텐츠 'Night Walk'은(는) 250토큰으로 언락할 수 있어요. 현재 잔고는 250토큰이에요"
        },
        reasons={
            "CONTENT_STAGE": {
                "rule": "content_next_stage",
                "verified_adult": True,
                "content_id": 7,
                "stage": 2,
                "price": 250,
                "token_balance": 250,
                "segment_level": 2,
                "required_segment_level": 1,
            }
        },
    ),
    Case(
        "verified adult short by 20% of the price: close, the shortfall stated",
        {**ADULT, "next_stage": stage(price=300), "locale": "en"},
        ["MID_STAKE", "SAFE_PLAY", "CONTENT_STAGE", "CORPORATE_MISSION"],
        messages={
            "CONTENT_STAGE": "Stage 2, 'Night Walk', unlocks for 300 tokens. Your balance is 250 tokens, 50 short"
        },
    ),
    Case(
        "verified adult short by more than 20%: nothing",
        {**ADULT, "next_stage": stage(price=313)},
        BASE_TYPES,
    ),
    Case("not a verified adult: nothing, not even a suppression", {"next_stage": stage(price=100)}, BASE_TYPES),
    Case(
        "verified adult below the stage's segment level: nothing",
        {**ADULT, "next_stage": stage(price=100, level=3)},
        BASE_TYPES,
    ),
    Case(
        "verified adult in a cool-off: removed",
        {**ADULT, "next_stage": stage(price=100), "paused": "cool_off", "paused_until": NOW + DAY},
        ["CORPORATE_MISSION"],
        game=None,
        suppressed={"MID_STAKE": "cool_off", "SAFE_PLAY": "cool_off", "CONTENT_STAGE": "cool_off"},
        window=None,
    ),
    Case(
        "verified adult self-excluded: removed",
        {**ADULT, "next_stage": stage(price=100), "paused": "self_exclusion", "paused_until": NOW + 200 * DAY},
        [],
        game=None,
        suppressed={
            "MID_STAKE": "self_exclusion",
            "SAFE_PLAY": "self_exclusion",
            "CONTENT_STAGE": "self_exclusion",
            "CORPORATE_MISSION": "self_exclusion",
        },
        window=None,
    ),
    Case(
        "verified adult with a spend limit used up: removed",
        {**ADULT, "next_stage": stage(price=100), "spend_limit_reached": True, "spend_limit_left": 0},
        ["CORPORATE_MISSION"],
        suppressed={
            "MID_STAKE": "spend_limit_reached",
            "SAFE_PLAY": "spend_limit_reached",
            "CONTENT_STAGE": "spend_limit_reached",
        },
    ),
    Case(
        "verified adult whose spend limit leaves less than the price: removed",
        {**ADULT, "next_stage": stage(price=100), "spend_limit_left": 99},
        BASE_TYPES,
        suppressed={"CONTENT_STAGE": "spend_limit_left"},
    ),
    Case(
        "verified adult whose spend limit leaves the price: proposed",
        {**ADULT, "next_stage": stage(price=100), "spend_limit_left": 100},
        ["MID_STAKE", "SAFE_PLAY", "CONTENT_STAGE", "CORPORATE_MISSION"],
    ),
    *[
        Case(
            f"verified adult with the harm marker {marker}: removed",
            {**ADULT, "next_stage": stage(price=100), "harm_markers": frozenset({marker})},
            ["LIMIT_SUGGESTION", *BASE_TYPES],
            suppressed={"CONTENT_STAGE": "harm_markers"},
        )
        for marker in (LOSS_CHASING, SPEND_SPIKE, LATE_NIGHT_SESSIONS)
    ],
    *[
        Case(
            f"verified adult with the live signal {signal}: removed",
            {**ADULT, "next_stage": stage(price=100), "live_signals": {signal: {"figure": 1}}},
            ["LIMIT_SUGGESTION", *BASE_TYPES],
            suppressed={"CONTENT_STAGE": "live_harm_signals"},
        )
        for signal in LIVE_SIGNALS
    ],
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_rules_table(case: Case):
    # given the spec's example player changed as the case says
    ctx = dataclasses.replace(EXAMPLE, **case.given)
    # when the engine recommends
    rec = recommend(ctx, TEMPLATES)
    # then the proposals come in the spec's order, with the case's game, texts, reasons and suppressions
    assert rec.types == case.types
    assert rec.recommended_game == case.game
    if case.level is not None:
        assert rec.reward_level == case.level
    by_type = {p.type: p for p in rec.proposals}
    for kind, message in (case.messages or {}).items():
        assert by_type[kind].message == message
    for kind, reason in (case.reasons or {}).items():
        assert by_type[kind].reason == reason
    for kind, tokens in (case.rewards or {}).items():
        assert by_type[kind].reward_tokens == tokens
    assert {s.type: s.reason["rule"] for s in rec.suppressed} == (case.suppressed or {})
    if case.window is not False:
        assert (rec.usage_window.label if rec.usage_window else None) == case.window
    # and every proposal carries a reason naming its rule, every mission a reward, every play a game
    for p in rec.proposals:
        assert p.reason["rule"]
        assert (p.reward_tokens is not None) == (p.action not in (None, engine.SET_SPEND_LIMIT, engine.OPEN_CONTENT))
        assert (p.content_id is not None) == (p.type == engine.CONTENT_STAGE)
        assert (p.game is not None) == (p.type in engine.BET_PROPOSALS)


def test_every_proposal_type_is_reached_by_the_table():
    # given the table's cases
    # when all are recommended
    seen = {t for c in CASES for t in recommend(dataclasses.replace(EXAMPLE, **c.given), TEMPLATES).types}
    # then every proposal type of the engine appears in some case
    assert seen == set(engine.PROPOSAL_TYPES)


def test_a_pause_reports_its_end_in_the_reason():
    # given a cooling-off player
    until = NOW + 3 * DAY
    ctx = dataclasses.replace(EXAMPLE, paused="cool_off", paused_until=until)
    # when the engine recommends
    rec = recommend(ctx, TEMPLATES)
    # then the removed game and proposals say which rule and until when
    assert rec.game_reason == {"rule": "cool_off", "until": until, "segment": "High Engaged"}
    assert {s.type: s.reason for s in rec.suppressed} == {
        "MID_STAKE": {"rule": "cool_off", "until": until},
        "SAFE_PLAY": {"rule": "cool_off", "until": until},
    }


def test_rewards_come_from_the_templates_configuration():
    # given other configured mission rewards
    templates = templates_build(
        texts=catalog_compile([]),
        rewards={"VISIT_CORPORATE_SITE": 70, "COMPLETE_CORPORATE_QUIZ": 250, "COMPLETE_PROFILE_QUIZ": 30},
    )
    # when the engine recommends a mission and an engagement
    mission = recommend(dataclasses.replace(EXAMPLE, risk_profile=None), templates)
    engage = recommend(dataclasses.replace(EXAMPLE, last_corporate_visit_at=None), templates)
    # then both the number in the text and the reward field are the configured ones
    assert mission.proposals[1].message == "이번 달 토큰 획득이 150개예요. A 업체에서 퀴즈 풀고 250토큰 받으세요!"
    assert [p.reward_tokens for p in mission.proposals if p.action] == [250, 30]
    assert mission.quiz_mission is not None
    assert mission.quiz_mission.message == "퀴즈 참여 시 30 토큰 보상 + 심층 프로필 업데이트"
    assert engage.proposals[-1].message == "아직 A 업체를 방문한 적이 없네요! 지금 로그인만 해도 70토큰 보상"
    assert engage.proposals[-1].reward_tokens == 70


def test_each_proposal_names_the_message_it_rendered_and_the_values_it_rendered_it_with():
    # given a player who never visited Company A, and a verified adult a little short of the next stage
    never = dataclasses.replace(EXAMPLE, last_corporate_visit_at=None, risk_profile=None)
    stage = engine.NextStage(content_id=7, stage=2, name="Night", price=300, required_segment_level=0)
    short = dataclasses.replace(EXAMPLE, verified_adult=True, next_stage=stage, balance=260)
    # when the engine recommends
    first = recommend(never, TEMPLATES)
    content = recommend(short, TEMPLATES)
    # then each proposal names its message (the specific one where a type has two) and the facts it was rendered
    # with, and rendering that message with those facts gives its text again
    assert [(p.type, p.message_key, dict(p.params)) for p in first.proposals] == [
        ("MID_STAKE", "MID_STAKE", {"token_balance": 250}),
        ("CORPORATE_ENGAGE", "CORPORATE_ENGAGE_FIRST", {"reward_tokens": 100}),
        ("QUIZ_MISSION", "QUIZ_MISSION", {"reward_tokens": 200}),
    ]
    proposal = next(p for p in content.proposals if p.type == "CONTENT_STAGE")
    assert proposal.message_key == "CONTENT_STAGE_SHORT"
    assert dict(proposal.params) == {
        "stage": 2,
        "stage_name": "Night",
        "price": 300,
        "token_balance": 260,
        "tokens_short": 40,
    }
    for p in (*first.proposals, *content.proposals):
        assert TEMPLATES.by_locale["ko"][p.message_key](**p.params) == p.message


# --- the usage window ---------------------------------------------------------------------------------------


def hours(**counts: int) -> tuple[int, ...]:
    """A 24-hour histogram from ``h20=5, h21=3``."""
    out = [0] * 24
    for name, count in counts.items():
        out[int(name[1:])] = count
    return tuple(out)


WINDOW_CASES = [
    # (name, context changes, expected label, expected source)
    ("the player's busiest hour", {"play_hours": hours(h9=2, h20=5, h21=3)}, "20:00~21:00", "player"),
    ("a tie goes to the earlier hour", {"play_hours": hours(h21=4, h8=4)}, "08:00~09:00", "player"),
    # the visit (2 days ago at 03:00 UTC = 12:00 Seoul) counts as one more round at 12:00
    ("the latest visit breaks a tie", {"play_hours": hours(h12=4, h8=4)}, "12:00~13:00", "player"),
    ("more play beats the visit", {"play_hours": hours(h12=4, h8=6)}, "08:00~09:00", "player"),
    ("no play: the latest visit's hour, in the player's timezone", {}, "12:00~13:00", "corporate_visit"),
    ("another timezone", {"timezone": "Europe/London"}, "03:00~04:00", "corporate_visit"),
    (
        "no play, no visit: the population's peak",
        {"last_corporate_visit_at": None, "population_peak_hour": 20},
        "20:00~21:00",
        "population",
    ),
    ("23h wraps to midnight", {"play_hours": hours(h23=1), "last_corporate_visit_at": None}, "23:00~00:00", "player"),
    (
        "late-night marker: night hours are never suggested",
        {"play_hours": hours(h2=9, h19=1), "harm_markers": frozenset({LATE_NIGHT_SESSIONS})},
        "12:00~13:00",
        "corporate_visit",
    ),
    (
        "late-night marker without other hours: the population's peak",
        {"play_hours": hours(h1=9), "last_corporate_visit_at": None, "harm_markers": frozenset({LATE_NIGHT_SESSIONS})},
        "20:00~21:00",
        "population",
    ),
    (
        "another marker does not hide the night",
        {"play_hours": hours(h2=9), "harm_markers": frozenset({SPEND_SPIKE})},
        "02:00~03:00",
        "player",
    ),
]


@pytest.mark.parametrize(("name", "given", "label", "source"), WINDOW_CASES, ids=[c[0] for c in WINDOW_CASES])
def test_usage_window(name, given, label, source):
    # given a player's play hours, latest visit and markers
    ctx = dataclasses.replace(EXAMPLE, **given)
    # when the engine recommends
    window = recommend(ctx, TEMPLATES).usage_window
    # then the window is the expected hour in the player's own timezone
    assert window is not None
    assert (window.label, window.source, window.timezone) == (label, source, ctx.timezone)


def test_no_usage_window_when_only_night_hours_are_left_for_a_late_night_player():
    # given a late-night player whose population fallback is itself a night hour
    ctx = dataclasses.replace(
        EXAMPLE, last_corporate_visit_at=None, population_peak_hour=1, harm_markers=frozenset({LATE_NIGHT_SESSIONS})
    )
    # when the engine recommends
    # then no window is suggested rather than a night hour
    assert recommend(ctx, TEMPLATES).usage_window is None
