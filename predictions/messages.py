"""The predictions' texts a player sees: declared here, registered with ``texts`` (which renders them, with the
operators' overrides, and applies the facts-only check; design brief section 6).

The reasons: one message per feature (``predictions.features.FEATURES``), the feature's value filled in as text
(``predictions.reasons.reason_text`` formats it), stating the fact only. The pushes of ``predictions.outreach``: each
number is a configured reward; no text names a churn score, a predicted spend, odds or a deadline that does not exist.
"""

from __future__ import annotations

from texts.registry import message_declare

# --- reasons: one per feature (keep this block together) ------------------------------------------------------------
_VALUE = {"value": str}
REASON_MESSAGES: dict[str, str] = {}


def _reason(feature: str, *, ko: str, en: str) -> None:
    key = f"PREDICTION_REASON_{feature.upper()}"
    message_declare(key, ko=ko, en=en, placeholders=_VALUE)
    REASON_MESSAGES[feature] = key


_reason("corporate_visits_7d", ko="최근 7일 Company A 방문 {value}회", en="{value} Company A visits in the last 7 days")
_reason(
    "corporate_visits_30d", ko="최근 30일 Company A 방문 {value}회", en="{value} Company A visits in the last 30 days"
)
_reason(
    "corporate_tokens_7d", ko="최근 7일 Company A 적립 토큰 {value}개", en="{value} Company A tokens in the last 7 days"
)
_reason(
    "corporate_tokens_30d",
    ko="최근 30일 Company A 적립 토큰 {value}개",
    en="{value} Company A tokens in the last 30 days",
)
_reason("app_days_7d", ko="최근 7일 중 앱 이용 {value}일", en="Active in the app on {value} of the last 7 days")
_reason("app_days_30d", ko="최근 30일 중 앱 이용 {value}일", en="Active in the app on {value} of the last 30 days")
_reason("app_actions_7d", ko="최근 7일 앱 활동 {value}회", en="{value} app actions in the last 7 days")
_reason("app_actions_30d", ko="최근 30일 앱 활동 {value}회", en="{value} app actions in the last 30 days")
_reason(
    "app_trend",
    ko="최근 7일 이용 속도가 30일 평균의 {value}배",
    en="Play in the last 7 days at {value} times the 30-day pace",
)
_reason("days_since_app", ko="마지막 게임 후 {value}일", en="{value} days since the last game")
_reason("days_since_any", ko="마지막 활동 후 {value}일", en="{value} days since the last activity of any kind")
_reason("tenure_days", ko="첫 활동 후 {value}일", en="{value} days since the first activity")
_reason("balance", ko="보유 토큰 {value}개", en="{value} tokens in the wallet")
_reason("spent_7d", ko="최근 7일 사용 토큰 {value}개", en="{value} tokens spent in the last 7 days")
_reason("spent_30d", ko="최근 30일 사용 토큰 {value}개", en="{value} tokens spent in the last 30 days")
_reason("spent_90d", ko="최근 90일 사용 토큰 {value}개", en="{value} tokens spent in the last 90 days")
_reason("purchases_7d", ko="최근 7일 토큰 구매 {value}회", en="{value} token purchases in the last 7 days")
_reason("purchases_30d", ko="최근 30일 토큰 구매 {value}회", en="{value} token purchases in the last 30 days")
_reason("purchases_90d", ko="최근 90일 토큰 구매 {value}회", en="{value} token purchases in the last 90 days")
_reason("paid_7d", ko="최근 7일 결제 금액 {value}", en="{value} paid for tokens in the last 7 days")
_reason("paid_30d", ko="최근 30일 결제 금액 {value}", en="{value} paid for tokens in the last 30 days")
_reason("paid_90d", ko="최근 90일 결제 금액 {value}", en="{value} paid for tokens in the last 90 days")
_reason("purchases_ever", ko="지금까지 토큰 구매 {value}회", en="{value} token purchases so far")
_reason("paid_ever", ko="지금까지 결제 금액 {value}", en="{value} paid for tokens so far")
_reason("paid_mean", ko="토큰 구매 1회 평균 결제 금액 {value}", en="{value} paid per token purchase on average")
_reason("days_since_purchase", ko="마지막 토큰 구매 후 {value}일", en="{value} days since the last token purchase")
_reason("days_since_first_purchase", ko="첫 토큰 구매 후 {value}일", en="{value} days since the first token purchase")
_reason(
    "purchases_per_30d",
    ko="첫 활동 후 30일당 토큰 구매 {value}회",
    en="{value} token purchases per 30 days since the first activity",
)
_reason(
    "purchase_recency_share",
    ko="첫 활동 후 지난 기간 100일당 {value}일이 마지막 토큰 구매 이후",
    en="{value} of every 100 days since the first activity have passed since the last token purchase",
)
_reason(
    "night_share_30d",
    ko="최근 30일 앱 활동 100회당 {value}회가 밤(00-06시)",
    en="{value} of every 100 app actions in the last 30 days at night (00:00-06:00)",
)
_reason("rfm_group", ko="RFM 그룹: {value}", en="RFM group: {value}")
_reason("rfm_changes_90d", ko="최근 90일 그룹 변경 {value}회", en="{value} group changes in the last 90 days")
_reason("risk_profile", ko="퀴즈 위험 성향: {value}", en="Quiz risk profile: {value}")
_reason("unlocks", ko="열람한 콘텐츠 단계 {value}개", en="{value} content stages unlocked")
# --- end of the reasons ----------------------------------------------------------------------------------------------

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
