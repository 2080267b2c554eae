"""POST /api/me/content/{id}/unlock (issue 15): every refusal writes nothing; an unlock writes exactly one ledger
row (a SPEND through the wallet), one UNLOCK_CONTENT action, one user_rewards row and one unlock; a repeat debits
nothing."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from activity.models import UserAction, UserReward
from content import services
from content.errors import AgeVerificationRequired, UnderAge
from content.models import ContentUnlock
from players.age import business_today
from players.services import protection_update
from tests.content import helpers as h
from wallet.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db

PID = 8100
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")


@pytest.fixture
def me(player_client_factory):
    return player_client_factory(PID)


def unlock(client: Any, content_id: int, key: str = "k-1") -> Any:
    return client.post(f"/api/me/content/{content_id}/unlock", {"idempotency_key": key}, format="json")


def refused(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["error"] == code, body
    return body


# --- success ----------------------------------------------------------------------------------------------------


def test_an_unlock_writes_one_ledger_row_one_action_one_reward_and_one_unlock(me):
    # given a verified adult with 500 tokens and a stage priced 300
    h.player(PID)
    h.give(PID, 500)
    first = h.stage(1, 300)
    before = h.written(PID)
    # when they unlock it
    response = unlock(me, first.id)
    # then the answer is 201 with the stage's media, the tokens spent and the balance after
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["content"]["id"], body["content"]["media_url"]) == (first.id, first.media_url)
    assert (body["spent_tokens"], body["balance"]) == (300, 200)
    # and exactly one row more in each table, the balance down by the price
    after = h.written(PID)
    assert {k: after[k] - before[k] for k in after} == {
        "ledger": 1,
        "actions": 1,
        "rewards": 1,
        "unlocks": 1,
        "balance": -300,
    }
    # and the rows point at each other: the SPEND records the UNLOCK_CONTENT action, the reward is triggered by it
    entry = LedgerEntry.objects.filter(player_id=PID).latest("id")
    row = ContentUnlock.objects.get(user_id=PID)
    assert entry.action_id is not None
    action = UserAction.objects.get(id=entry.action_id)
    reward = UserReward.objects.get(user_id=PID)
    assert (entry.kind, entry.source, entry.amount, entry.balance_after) == ("SPEND", "in_app", -300, 200)
    assert entry.details == {"content_id": first.id, "stage": 1}
    assert (action.action_type, action.metadata) == (
        "UNLOCK_CONTENT",
        {"content_id": first.id, "stage": 1, "spent_tokens": 300},
    )
    assert (reward.reward_type, reward.reward_value, reward.trigger_action_id) == (
        "content_unlock",
        first.id,
        action.id,
    )
    assert (row.ledger_entry_id, row.action_id, row.reward_id, row.stage, row.spent_tokens) == (
        entry.id,
        action.id,
        reward.id,
        1,
        300,
    )
    assert body["entry"]["id"] == entry.id and body["reward_id"] == reward.id


def test_the_next_stage_unlocks_once_the_previous_is_unlocked(me):
    # given stages 1 and 2 (and an inactive stage between them, which the order skips)
    h.player(PID)
    h.give(PID, 1_000)
    one, _, two = h.stage(1, 100), h.stage(2, 50, active=False), h.stage(3, 200)
    # when stage 1 and then the next active stage are unlocked
    # then both go through
    assert unlock(me, one.id, "a").status_code == 201
    assert unlock(me, two.id, "b").status_code == 201
    assert Wallet.objects.get(player_id=PID).balance == 700


def test_a_retry_with_the_same_key_answers_the_first_result_and_debits_nothing(me):
    # given an unlock
    h.player(PID)
    h.give(PID, 500)
    item = h.stage(1, 300)
    first = unlock(me, item.id, "same")
    written = h.written(PID)
    # when the same request is sent again
    again = unlock(me, item.id, "same")
    # then it is the first answer, marked replayed, and nothing more is written
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert h.written(PID) == written


def test_a_second_unlock_of_an_unlocked_stage_under_another_key_debits_nothing(me):
    # given an unlock
    h.player(PID)
    h.give(PID, 500)
    item = h.stage(1, 300)
    first = unlock(me, item.id, "one")
    written = h.written(PID)
    # when the stage is asked for again under a new key (the balance would not even cover it now)
    again = unlock(me, item.id, "two")
    # then the first unlock is the answer, and nothing is debited
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert h.written(PID) == written


def test_a_key_used_for_another_stage_is_refused(me):
    # given stages 1 and 2 and stage 1 unlocked under key "k"
    h.player(PID)
    h.give(PID, 1_000)
    one, two = h.stage(1, 100), h.stage(2, 100)
    unlock(me, one.id, "k")
    written = h.written(PID)
    # when stage 2 is asked for with the same key
    response = unlock(me, two.id, "k")
    # then it is a 422 naming the key, and nothing is written
    assert refused(response, 422, "idempotency_key_reused")["fields"] == {
        "idempotency_key": ["Already used with a different request body."]
    }
    assert h.written(PID) == written


# --- refusals: each writes nothing ---------------------------------------------------------------------------------


def test_an_unverified_player_is_refused_with_403_and_nothing_about_the_content(me):
    # given a player who typed in an adult birth date (never verified), with tokens, and a stage
    h.player(PID, verified=False)
    h.give(PID, 500)
    item = h.stage(1, 100)
    written = h.written(PID)
    # when they ask to unlock it
    response = unlock(me, item.id)
    # then 403: verification is needed; nothing else is said and nothing is written
    body = refused(response, 403, "age_verification_required")
    assert set(body) == {"error", "message"}
    assert item.name not in response.content.decode() and "media" not in response.content.decode()
    assert h.written(PID) == written


def test_a_player_of_18_years_and_364_days_is_refused(me):
    # given a verified player whose 19th birthday is tomorrow (business calendar)
    h.player(PID, born=h.born_turning_19_in(1))
    h.give(PID, 500)
    item = h.stage(1, 100)
    written = h.written(PID)
    # when they ask to unlock
    body = refused(unlock(me, item.id), 403, "under_age")
    # then 403, with the date from which they may, and nothing is written
    assert f"available from {business_today() + dt.timedelta(days=1)}" in body["message"]
    assert h.written(PID) == written


def test_a_player_19_today_unlocks(me):
    # given a verified player whose 19th birthday is today (business calendar)
    h.player(PID, born=h.born_turning_19_in(0))
    h.give(PID, 500)
    item = h.stage(1, 100)
    # when they ask to unlock
    # then it goes through
    assert unlock(me, item.id).status_code == 201


@override_settings(BUSINESS_TIMEZONE="Asia/Seoul")
def test_19_today_is_counted_on_the_business_calendar_not_the_players_nor_utc():
    # given a player in Los Angeles whose 19th birthday is 20 November, at 00:30 on the 20th in Seoul (still the
    # 19th in UTC and in Los Angeles), and the same player a minute before Seoul's midnight
    h.player(PID, born=dt.date(2007, 11, 20), timezone="America/Los_Angeles")
    h.give(PID, 500)
    item = h.stage(1, 100)
    # when the unlock is asked for just before and just after Seoul's midnight
    with pytest.raises(UnderAge):
        services.content_unlock(
            player_id=PID,
            content_id=item.id,
            idempotency_key="early",
            now=dt.datetime(2026, 11, 19, 23, 59, tzinfo=SEOUL),
        )
    result = services.content_unlock(
        player_id=PID, content_id=item.id, idempotency_key="late", now=dt.datetime(2026, 11, 20, 0, 30, tzinfo=SEOUL)
    )
    # then the first is refused and the second goes through
    assert result.unlock.stage == 1 and not result.replayed
    assert ContentUnlock.objects.count() == 1


def test_a_player_never_seen_is_refused_as_unverified():
    # given no players row for the id
    h.stage(1, 100)
    # when the service is asked
    # then verification is needed, and no player, wallet or row is made
    with pytest.raises(AgeVerificationRequired):
        services.content_unlock(player_id=PID, content_id=1, idempotency_key="k")
    assert h.written(PID) == {"ledger": 0, "actions": 0, "rewards": 0, "unlocks": 0, "balance": None}


def test_a_skipped_stage_is_refused_with_409(me):
    # given stages 1 and 2, none unlocked
    h.player(PID)
    h.give(PID, 500)
    h.stage(1, 100)
    two = h.stage(2, 100)
    written = h.written(PID)
    # when stage 2 is asked for
    body = refused(unlock(me, two.id), 409, "previous_stage_locked")
    # then 409 naming stage 1, nothing written
    assert "Stage 1" in body["message"]
    assert list(body["fields"]) == ["content_id"]
    assert h.written(PID) == written


def test_a_segment_below_the_stages_level_is_refused_with_409(me):
    # given a Medium player (level 1) and a stage for High Engaged (level 2)
    h.player(PID)
    h.segment(PID, "Medium")
    h.give(PID, 500)
    item = h.stage(1, 100, level=2)
    written = h.written(PID)
    # when they ask to unlock it
    body = refused(unlock(me, item.id), 409, "segment_level_too_low")
    # then 409, nothing written; and at High Engaged it goes through
    assert "level 2" in body["message"]
    assert h.written(PID) == written
    h.segment(PID, "High Engaged")
    assert unlock(me, item.id).status_code == 201


def test_a_balance_short_by_one_token_is_refused_with_409(me):
    # given 299 tokens and a stage priced 300
    h.player(PID)
    h.give(PID, 299)
    item = h.stage(1, 300)
    written = h.written(PID)
    # when they ask to unlock
    body = refused(unlock(me, item.id), 409, "insufficient_balance")
    # then 409 naming the price, nothing written
    assert "300" in body["message"] and list(body["fields"]) == ["price"]
    assert h.written(PID) == written


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"daily_spend_limit": 299}, "spend_limit_reached"),
        ({"weekly_spend_limit": 299}, "spend_limit_reached"),
        ({"cool_off_until": "cool_off"}, "cooling_off"),
        ({"self_excluded_until": "self_excluded"}, "self_excluded"),
    ],
    ids=["daily limit", "weekly limit", "cool-off", "self-exclusion"],
)
def test_each_protection_state_refuses_with_409_and_writes_nothing(me, changes, code):
    # given a player with plenty of tokens and one of their safeguards in force
    h.player(PID)
    h.give(PID, 1_000)
    item = h.stage(1, 300)
    now = timezone.now()
    values = {
        "cool_off": now + dt.timedelta(days=2),
        "self_excluded": now + dt.timedelta(days=200),
    }
    protection_update(player_id=PID, changes={k: values.get(v, v) for k, v in changes.items()}, now=now)
    written = h.written(PID)
    # when they ask to unlock a stage of 300
    body = refused(unlock(me, item.id), 409, code)
    # then the wallet's check refuses it and nothing is written
    assert body["message"]
    assert h.written(PID) == written


def test_an_unknown_or_withdrawn_stage_is_404_for_an_adult_and_403_for_anyone_else(me, player_client_factory):
    # given a withdrawn stage, an adult and a minor
    h.player(PID)
    h.give(PID, 500)
    withdrawn = h.stage(1, 100, active=False)
    h.player(PID + 1, born=h.born_turning_19_in(30))
    minor = player_client_factory(PID + 1)
    # when each asks for it and for an id that does not exist (and one past any id)
    # then the adult hears there is no such stage; the minor hears only that they may not
    assert refused(unlock(me, withdrawn.id), 404, "not_found")
    assert refused(unlock(me, 999_999), 404, "not_found")
    assert refused(unlock(me, 2**70), 404, "not_found")
    assert refused(unlock(minor, withdrawn.id), 403, "under_age")
    assert refused(unlock(minor, 999_999), 403, "under_age")
    assert h.written(PID)["unlocks"] == 0


def test_a_missing_idempotency_key_is_a_400_naming_it_and_unknown_fields_too(me):
    # given an adult with tokens and a stage
    h.player(PID)
    h.give(PID, 500)
    item = h.stage(1, 100)
    written = h.written(PID)
    # when the body lacks the key and carries a price of its own
    response = me.post(f"/api/me/content/{item.id}/unlock", {"price": 1}, format="json")
    # then 400 naming both fields, nothing written
    assert refused(response, 400, "validation_error")["fields"].keys() == {"idempotency_key", "price"}
    assert h.written(PID) == written


def test_a_service_or_anonymous_caller_cannot_unlock(service_client, api_client):
    # given a stage
    item = h.stage(1, 100)
    # when a service or nobody asks
    # then it is for players only
    assert unlock(service_client, item.id).status_code == 403
    assert unlock(api_client, item.id).status_code in (401, 403)
    assert not ContentUnlock.objects.exists()
