"""The action-type registry's app-activity mark (analytics' "active", docs/metrics.md): every type says."""

from __future__ import annotations

import pytest

from activity.registry import NOT_IN_APP, REGISTRY, ActionType, app_activity_types, register


def test_every_registered_type_is_classified():
    # given every registered action type
    # when its mark is read
    unclassified = [name for name, t in REGISTRY.items() if not isinstance(t.app_activity, bool)]
    # then each says whether it is app activity
    assert unclassified == []


def test_app_activity_is_the_players_own_use_of_the_app():
    # given the registry
    # when the app-activity types are listed
    # then they are play, spends, purchases, unlocks, views, quiz answers, session starts, claims and items; Company A's
    # visits and token earns are not (they are counted apart), the same set that sessions leave out
    assert set(app_activity_types()) == {
        "GAME_PLAY",
        "FAIL_GAME",
        "SPEND_CYBER_TOKENS",
        "PURCHASE_CYBER_TOKENS",
        "UNLOCK_CONTENT",
        "VIEW_CONTENT",
        "QUIZ_ANSWER",
        "SESSION_START",
        "CLAIM_REWARD",
        "BUY_ITEM",
    }
    assert set(REGISTRY) - set(app_activity_types()) == NOT_IN_APP


def test_a_type_without_the_mark_is_refused():
    # given a new type that does not say whether it is app activity
    new = ActionType("SOMETHING_NEW", {}, "A new kind of action.")
    # when it is registered
    # then the registry refuses it, naming the attribute, and does not keep it
    with pytest.raises(ValueError, match="app_activity"):
        register(new)
    assert "SOMETHING_NEW" not in REGISTRY
