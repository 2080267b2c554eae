"""What activity offers other apps that write with their own rows: one action inside another statement (the wallet's
ledger write), one action in the caller's transaction, a ``user_rewards`` row (segments' upgrade rewards)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from activity.models import UserAction, UserReward
from activity.services import action_insert_params, action_insert_sql, action_record, reward_record
from activity.validation import ParsedAction
from tests.factories import make_player

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def an_action(event_id: str) -> ParsedAction:
    return ParsedAction(event_id, 42, "SPEND_CYBER_TOKENS", AT, {"spent_tokens": 10, "game": "SlotMachine"})


@pytest.mark.parametrize(("when", "written"), [("true", True), ("false", False)])
def test_the_insert_for_another_statement_writes_only_when_its_condition_holds(when, written):
    if connection.vendor != "postgresql":
        pytest.skip("a CTE that writes is PostgreSQL's; on SQLite the wallet calls action_record (tested below)")
    # given the INSERT as a CTE of another statement, under a condition
    sql = f"WITH a AS ({action_insert_sql(when=when)}) SELECT (SELECT id FROM a)"
    # when the statement runs
    with connection.cursor() as cursor:
        cursor.execute(sql, action_insert_params(an_action("cte-1")))
        (action_id,) = cursor.fetchone()
    # then the action is stored, as given, with the id the statement returned; or nothing is
    if written:
        stored = UserAction.objects.get(id=action_id)
        assert (stored.event_id, stored.user_id, stored.action_type, stored.action_timestamp) == (
            "cte-1",
            42,
            "SPEND_CYBER_TOKENS",
            AT,
        )
        assert stored.metadata == {"spent_tokens": 10, "game": "SlotMachine"}
    else:
        assert action_id is None and not UserAction.objects.exists()


def test_an_action_recorded_in_the_callers_transaction_is_stored_as_given():
    # given an action
    # when it is recorded
    action_id = action_record(an_action("rec-1"))
    # then it is stored as given, under the returned id
    stored = UserAction.objects.get(id=action_id)
    assert (stored.event_id, stored.user_id, stored.metadata) == (
        "rec-1",
        42,
        {"spent_tokens": 10, "game": "SlotMachine"},
    )


def test_a_reward_is_recorded_with_what_triggered_it():
    # given a player and the action that paid them
    make_player(id=42)
    action_id = action_record(an_action("rec-2"))
    # when the reward is recorded
    reward_id = reward_record(
        player_id=42, reward_type="segment_upgrade", reward_value=500, awarded_at=AT, trigger_action_id=action_id
    )
    # then the user_rewards row holds it
    reward = UserReward.objects.get(id=reward_id)
    assert (reward.user_id, reward.reward_type, reward.reward_value, reward.awarded_at, reward.trigger_action_id) == (
        42,
        "segment_upgrade",
        500,
        AT,
        action_id,
    )
