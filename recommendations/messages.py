"""Recommendation messages: declared here (``ko`` = spec 2.3.4's texts, ``en`` = their translation), registered
with ``texts`` (operator overrides, the facts-only check, rendering); the engine's ``Templates`` is built from the
compiled texts in ``recommendations.templates``.

Facts only (design brief section 6): each number is the player's real number or a configured reward; no text
claims odds. The spec's own texts are kept except where they broke that rule (docs/decisions/0009):
- HIGH_STAKE and RISKY_PLAY: the invented "빅윈 확률 UP" / "빅윈 확률 15% UP" (and "한 방 노려보세요") are gone;
- EARN_MORE: "300토큰만 더" was a made-up number; it is now the tokens the player lacks to reach the next
  proposal level (200);
- CORPORATE_ENGAGE: "일주일 전" is now the real number of days (and a player who never visited gets a text
  that does not claim a visit); "100토큰" is the configured reward;
- CORPORATE_MISSION: the spec's ``{corporate_token_count}`` was never filled in (not an f-string); it is
  now the player's real count, and "200토큰" the configured reward.
- CONTENT_STAGE: the spec's "룰렛 한 판 더 돌리면 Stage 2 Adult Content 언락" ties an unlock to one more spin (a
  near-miss nudge, declined by docs/decisions/0012); it states the stage, its price and the balance instead (and
  the tokens short), for verified adults only.
An override may use only its message's placeholders (the engine passes exactly these) and no odds wording; an
override that cannot be used (written around the check) gives way to the default text.
"""

from __future__ import annotations

from recommendations.engine import (
    CONTENT_STAGE,
    CONTENT_STAGE_SHORT,
    CORPORATE_ENGAGE,
    CORPORATE_ENGAGE_FIRST,
    CORPORATE_MISSION,
    EARN_MORE,
    HIGH_STAKE,
    LIMIT_SUGGESTION,
    MID_STAKE,
    QUIZ_MISSION,
    RISKY_PLAY,
    SAFE_PLAY,
)
from texts.registry import message_declare

message_declare(
    HIGH_STAKE,
    ko="현재 {token_balance} 토큰 보유 중! 룰렛 한 판에 걸어보세요",
    en="You have {token_balance} tokens! Try a round of roulette",
    placeholders={"token_balance": int},
)
message_declare(
    MID_STAKE,
    ko="토큰이 {token_balance}개 있어요! 슬롯머신으로 안정적인 보상을 노려보세요",
    en="You have {token_balance} tokens! Go for steady rewards on the slot machine",
    placeholders={"token_balance": int},
)
message_declare(
    EARN_MORE,
    ko="토큰 잔고가 {token_balance}개입니다. A 업체에서 {tokens_needed}토큰만 더 모아보세요!",
    en="Your token balance is {token_balance}. Collect just {tokens_needed} more tokens at Company A!",
    placeholders={"token_balance": int, "tokens_needed": int},
)
message_declare(
    RISKY_PLAY,
    ko="위험을 즐기시는군요! 프리미엄 룰렛에 도전해보세요",
    en="You enjoy taking risks! Take on the premium roulette",
    placeholders={"token_balance": int},
)
message_declare(
    SAFE_PLAY,
    ko="안정적인 플레이를 원한다면 슬롯머신 소액 베팅으로 꾸준히 리워드를 쌓아보세요",
    en="If you prefer steady play, build up rewards bit by bit with small bets on the slot machine",
    placeholders={"token_balance": int},
)
message_declare(
    CORPORATE_ENGAGE,
    ko="마지막 A 방문이 {days_since_visit}일 전이네요! 지금 로그인만 해도 {reward_tokens}토큰 보상",
    en="Your last Company A visit was {days_since_visit} days ago! Just log in now to get {reward_tokens} tokens",
    placeholders={"days_since_visit": int, "reward_tokens": int},
)
message_declare(
    CORPORATE_ENGAGE_FIRST,
    ko="아직 A 업체를 방문한 적이 없네요! 지금 로그인만 해도 {reward_tokens}토큰 보상",
    en="You have not visited Company A yet! Just log in now to get {reward_tokens} tokens",
    placeholders={"reward_tokens": int},
)
message_declare(
    CORPORATE_MISSION,
    ko="이번 달 토큰 획득이 {corporate_token_count}개예요. A 업체에서 퀴즈 풀고 {reward_tokens}토큰 받으세요!",
    en="You have earned {corporate_token_count} tokens from Company A this month. Solve a quiz there and get "
    "{reward_tokens} tokens!",
    placeholders={"corporate_token_count": int, "reward_tokens": int},
)
message_declare(
    QUIZ_MISSION,
    ko="퀴즈 참여 시 {reward_tokens} 토큰 보상 + 심층 프로필 업데이트",
    en="Take the quiz: {reward_tokens} tokens and an in-depth profile update",
    placeholders={"reward_tokens": int},
)
message_declare(
    LIMIT_SUGGESTION,
    ko="최근 플레이 패턴을 점검해보세요. 일일·주간 토큰 사용 한도와 쿨오프를 언제든 설정할 수 있어요",
    en="Take a look at your recent play. You can set daily and weekly token spending limits or a cool-off at any time",
)
message_declare(
    CONTENT_STAGE,
    ko="{stage}단계 콘텐츠 '{stage_name}'은(는) {price}토큰으로 언락할 수 있어요. "
    "현재 잔고는 {token_balance}토큰이에요",
    en="Stage {stage}, '{stage_name}', unlocks for {price} tokens. Your balance is {token_balance} tokens",
    placeholders={"stage": int, "stage_name": str, "price": int, "token_balance": int},
)
message_declare(
    CONTENT_STAGE_SHORT,
    ko="{stage}단계 콘텐츠 '{stage_name}'의 언락 가격은 {price}토큰이에요. 현재 잔고는 {token_balance}토큰으로 "
    "{tokens_short}토큰이 부족해요",
    en="Stage {stage}, '{stage_name}', unlocks for {price} tokens. Your balance is {token_balance} tokens, "
    "{tokens_short} short",
    placeholders={"stage": int, "stage_name": str, "price": int, "token_balance": int, "tokens_short": int},
)
