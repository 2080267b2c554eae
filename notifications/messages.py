"""The pushes' texts: declared here, registered with ``texts`` (which renders them, with the operators' overrides).

NEW_TOKEN_ARRIVAL is spec 2.2.3's text exactly (``en``: its translation). Texts state facts only (design brief
section 6): balances, counts, thresholds; never odds.
"""

from __future__ import annotations

from texts.registry import message_declare

NEW_TOKEN_ARRIVAL = message_declare(
    "NEW_TOKEN_ARRIVAL",
    ko="A 업체에서 {earned_tokens} 사이버 토큰을 획득했습니다! 바로 게임에서 사용해보세요.",
    en="You have acquired {earned_tokens} cyber tokens from Company A! Use them in the game now.",
    placeholders={"earned_tokens": int},
)

# An RFM upgrade reward (segments.services.segment_reward_pay): the group reached and the tokens granted.
SEGMENT_UPGRADE = message_declare(
    "SEGMENT_UPGRADE",
    ko="등급이 {group}(으)로 올랐습니다. 보상으로 {reward_tokens} 사이버 토큰이 지급되었습니다.",
    en="Your tier is now {group}: {reward_tokens} cyber tokens have been added to your balance.",
    placeholders={"group": str, "reward_tokens": int},
)

# A mission paid (wallet.missions.mission_pay), one text per mission: the tokens granted are the amount the proposal
# stated (settings.MISSION_REWARDS).
MISSION_REWARD_COMPLETE_PROFILE_QUIZ = message_declare(
    "MISSION_REWARD_COMPLETE_PROFILE_QUIZ",
    ko="프로필 퀴즈 완료! 보상으로 {reward_tokens} 사이버 토큰이 지급되었습니다.",
    en="Profile quiz complete: {reward_tokens} cyber tokens have been added to your balance.",
    placeholders={"reward_tokens": int},
)
MISSION_REWARD_COMPLETE_CORPORATE_QUIZ = message_declare(
    "MISSION_REWARD_COMPLETE_CORPORATE_QUIZ",
    ko="A 업체 퀴즈 완료! 보상으로 {reward_tokens} 사이버 토큰이 지급되었습니다.",
    en="Company A quiz complete: {reward_tokens} cyber tokens have been added to your balance.",
    placeholders={"reward_tokens": int},
)
MISSION_REWARD_VISIT_CORPORATE_SITE = message_declare(
    "MISSION_REWARD_VISIT_CORPORATE_SITE",
    ko="A 업체 방문 미션 완료! 보상으로 {reward_tokens} 사이버 토큰이 지급되었습니다.",
    en="Company A visit mission complete: {reward_tokens} cyber tokens have been added to your balance.",
    placeholders={"reward_tokens": int},
)
