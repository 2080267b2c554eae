"""Mission rewards: what a proposal promises is what the granting code pays (design brief section 6).

Both sides read ``settings.MISSION_REWARDS`` through ``wallet.missions``: the recommender to state the number in a
message (``mission_rewards``), and the code that pays a mission (``wallet.missions.mission_pay``, called by the quiz
app and by corporate; docs/decisions/0015).
"""

from __future__ import annotations

from wallet.missions import MISSION_ACTIONS, mission_reward, mission_rewards

__all__ = ["MISSION_ACTIONS", "mission_reward", "mission_rewards"]
