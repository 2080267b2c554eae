"""The predictions' texts: declared here, registered with ``texts`` (which renders them, with the operators' overrides).

Facts only (design brief section 6): each number is a configured reward; no text names a churn score, a predicted
spend, odds or a deadline that does not exist.
"""

from __future__ import annotations

from texts.registry import message_declare

# --- what the service does with the predictions (predictions.outreach; docs/decisions/0031) ---------------------
# The "special invitation" to a player at risk of churning: Company A's quiz mission and the tokens it really pays
# (settings.MISSION_REWARDS["COMPLETE_CORPORATE_QUIZ"], once a business month: corporate.services pays it on
# ``quiz.completed``). Sent only to a player it has not paid this month, so completing the quiz does pay them.
CHURN_INVITATION = message_declare(
    "CHURN_INVITATION",
    ko="A 업체 특별 초대: A 업체 퀴즈를 완료하면 {reward_tokens} 사이버 토큰이 지급됩니다(매월 1회).",
    en="A special invitation from Company A: complete Company A's quiz and {reward_tokens} cyber tokens are added "
    "to your balance (once a month).",
    placeholders={"reward_tokens": int},
)
# A likely whale's VIP badge and its one-time reward (settings.PREDICTIONS_VIP_REWARD_TOKENS), granted already.
VIP_AWARD = message_declare(
    "VIP_AWARD",
    ko="VIP 배지가 지급되었습니다. 보상으로 {reward_tokens} 사이버 토큰이 지급되었습니다.",
    en="You now have the VIP badge: {reward_tokens} cyber tokens have been added to your balance.",
    placeholders={"reward_tokens": int},
)
# --- end of what the service does with the predictions -------------------------------------------------------
