"""GET/PUT /api/me/protection (design brief section 6): limits, cool-off, self-exclusion."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from players import services
from players.models import PlayerProtection

pytestmark = pytest.mark.django_db

URL = "/api/me/protection"
PLAYER = 300
DAY = dt.timedelta(days=1)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def me(player_client_factory):
    return player_client_factory(PLAYER)


def put(client: Any, **changes: Any) -> Any:
    return client.put(URL, changes, format="json")


def iso(when: dt.datetime) -> str:
    return when.isoformat()


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def stored() -> PlayerProtection:
    return PlayerProtection.objects.get(player_id=PLAYER)


def test_defaults_are_no_limits_and_no_lock(me):
    # given a player who never set anything
    # when they read their protection
    response = me.get(URL)
    # then nothing is set and nothing is pending, reality checks come every 60 minutes, and reading made no row
    assert response.status_code == 200
    assert not PlayerProtection.objects.filter(player_id=PLAYER).exists()
    assert response.json() == {
        "daily_spend_limit": None,
        "weekly_spend_limit": None,
        "monthly_purchase_limit": None,
        "cool_off_until": None,
        "self_excluded_until": None,
        "cooling_off": False,
        "self_excluded": False,
        "reality_check_minutes": 60,
        "pending": {},
    }


# --- limits --------------------------------------------------------------------------------------


def test_setting_a_limit_where_none_was_acts_at_once(me):
    # given no limits
    # when the player sets daily 500 and weekly 2,000
    response = put(me, daily_spend_limit=500, weekly_spend_limit=2000)
    # then both are in force now (a new limit is stricter than none) and nothing waits
    assert response.status_code == 200
    body = response.json()
    assert (body["daily_spend_limit"], body["weekly_spend_limit"], body["pending"]) == (500, 2000, {})
    assert (stored().daily_spend_limit, stored().weekly_spend_limit) == (500, 2000)


def test_lowering_a_limit_acts_at_once(me):
    # given a daily limit of 500
    put(me, daily_spend_limit=500)
    # when the player lowers it to 200
    response = put(me, daily_spend_limit=200)
    # then 200 is in force now
    assert response.json()["daily_spend_limit"] == 200
    assert response.json()["pending"] == {}
    assert stored().daily_spend_limit == 200


def test_raising_a_limit_waits_24_hours_then_applies(me):
    # given a daily limit of 500
    put(me, daily_spend_limit=500)
    # when the player raises it to 900
    before = timezone.now()
    response = put(me, daily_spend_limit=900)
    after = timezone.now()
    # then 500 stays in force and 900 is pending, effective 24 hours later
    body = response.json()
    assert body["daily_spend_limit"] == 500
    pending = body["pending"]["daily_spend_limit"]
    assert pending["value"] == 900
    effective_at = parse_time(pending["effective_at"])
    assert before + 24 * HOUR <= effective_at <= after + 24 * HOUR
    # and a minute before that time it still waits; once due it is in force and no longer pending
    early = services.protection_get(player_id=PLAYER, now=effective_at - dt.timedelta(minutes=1))
    assert (early.daily_spend_limit, early.pending_daily_spend_limit) == (500, 900)
    due = services.protection_get(player_id=PLAYER, now=effective_at)
    assert (due.daily_spend_limit, due.pending_daily_spend_limit, due.pending_daily_effective_at) == (900, None, None)
    assert me.get(URL).json()["daily_spend_limit"] == 900
    assert me.get(URL).json()["pending"] == {}


def test_removing_a_limit_waits_24_hours(me):
    # given a weekly limit of 3,000
    put(me, weekly_spend_limit=3000)
    # when the player removes it (null)
    response = put(me, weekly_spend_limit=None)
    # then it stays in force, with its removal pending
    body = response.json()
    assert body["weekly_spend_limit"] == 3000
    assert body["pending"]["weekly_spend_limit"]["value"] is None
    effective_at = parse_time(body["pending"]["weekly_spend_limit"]["effective_at"])
    # and after the delay there is no limit
    due = services.protection_get(player_id=PLAYER, now=effective_at + dt.timedelta(seconds=1))
    assert due.weekly_spend_limit is None
    assert me.get(URL).json()["pending"] == {}


def test_lowering_while_a_raise_is_pending_drops_the_raise(me):
    # given a daily limit of 500 with a raise to 900 pending
    put(me, daily_spend_limit=500)
    put(me, daily_spend_limit=900)
    # when the player lowers it to 300
    response = put(me, daily_spend_limit=300)
    # then 300 is in force and the raise is gone, even after the delay
    assert response.json()["daily_spend_limit"] == 300
    assert response.json()["pending"] == {}
    later = services.protection_get(player_id=PLAYER, now=timezone.now() + 2 * DAY)
    assert later.daily_spend_limit == 300


def test_limits_are_independent(me):
    # given a daily limit raise pending
    put(me, daily_spend_limit=100)
    put(me, daily_spend_limit=400)
    # when the weekly limit is lowered
    response = put(me, weekly_spend_limit=1000)
    # then the daily raise still waits
    body = response.json()
    assert body["weekly_spend_limit"] == 1000
    assert list(body["pending"]) == ["daily_spend_limit"]


@pytest.mark.parametrize("value", [0, -1, 1.5, "abc", "", True, [5], {"v": 5}, 1_000_000_001])
@pytest.mark.parametrize("field", ["daily_spend_limit", "weekly_spend_limit", "monthly_purchase_limit"])
def test_bad_limit_is_400_naming_the_field(me, field, value):
    # given a daily limit of 500
    put(me, daily_spend_limit=500)
    # when the player sends a limit that is not a positive integer up to the maximum
    response = put(me, **{field: value})
    # then the answer is 400 naming the field, and nothing changes
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assert (stored().daily_spend_limit, stored().weekly_spend_limit, stored().monthly_purchase_limit) == (
        500,
        None,
        None,
    )


def test_the_monthly_purchase_limit_is_lowered_at_once_and_raised_or_removed_after_24_hours(me):
    # given no purchase limit
    # when the player sets 10,000 tokens a month, then lowers it to 5,000
    first = put(me, monthly_purchase_limit=10_000).json()
    lowered = put(me, monthly_purchase_limit=5_000).json()
    # then each is in force at once, nothing waits
    assert (first["monthly_purchase_limit"], first["pending"]) == (10_000, {})
    assert (lowered["monthly_purchase_limit"], lowered["pending"]) == (5_000, {})
    # when they raise it to 20,000
    before = timezone.now()
    raised = put(me, monthly_purchase_limit=20_000).json()
    # then 5,000 stays in force and 20,000 waits 24 hours under pending
    assert raised["monthly_purchase_limit"] == 5_000
    pending = raised["pending"]["monthly_purchase_limit"]
    assert pending["value"] == 20_000
    effective_at = parse_time(pending["effective_at"])
    assert before + 24 * HOUR <= effective_at <= timezone.now() + 24 * HOUR
    early = services.protection_get(player_id=PLAYER, now=effective_at - dt.timedelta(minutes=1))
    assert early.monthly_purchase_limit == 5_000
    assert services.protection_get(player_id=PLAYER, now=effective_at).monthly_purchase_limit == 20_000
    # and removing it (null) waits the same 24 hours before there is no limit
    removal = put(me, monthly_purchase_limit=None).json()
    assert removal["monthly_purchase_limit"] == 20_000
    assert removal["pending"]["monthly_purchase_limit"]["value"] is None
    due = parse_time(removal["pending"]["monthly_purchase_limit"]["effective_at"])
    assert services.protection_get(player_id=PLAYER, now=due).monthly_purchase_limit is None


def test_unknown_fields_are_400_naming_them(me):
    # given a change with two unknown fields
    # when it is sent
    response = put(me, daily_spend_limit=100, dayly_limit=5, max_bet=10)
    # then the answer is 400 naming each unknown field, and nothing is written
    assert response.status_code == 400
    assert response.json()["fields"] == {"dayly_limit": ["Unknown field."], "max_bet": ["Unknown field."]}
    assert not PlayerProtection.objects.filter(player_id=PLAYER, daily_spend_limit__isnull=False).exists()


@pytest.mark.parametrize("body", [{}, [], "daily_spend_limit"])
def test_a_change_with_nothing_to_change_is_400(me, body):
    # given a body with no known field
    # when it is sent
    response = me.put(URL, body, format="json")
    # then the answer is 400
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"


# --- cool-off --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "ok"),
    [
        (23 * HOUR, False),
        (25 * HOUR, True),
        (41 * DAY, True),
        (43 * DAY, False),
    ],
)
def test_cool_off_length_is_24_hours_to_42_days(me, length, ok):
    # given no cool-off
    until = timezone.now() + length
    # when the player asks for one of this length
    response = put(me, cool_off_until=iso(until))
    # then it is in force if between 24 hours and 42 days, else a 400 naming the field
    if ok:
        assert response.status_code == 200
        assert response.json()["cooling_off"] is True
        assert stored().cool_off_until == until
    else:
        assert response.status_code == 400
        assert list(response.json()["fields"]) == ["cool_off_until"]
        assert not PlayerProtection.objects.filter(cool_off_until__isnull=False).exists()


def test_cool_off_cannot_be_lifted_early(me):
    # given a cool-off for three days
    until = timezone.now() + 3 * DAY
    put(me, cool_off_until=iso(until))
    # when the player asks to lift it (null)
    response = put(me, cool_off_until=None)
    # then the answer is 409 naming the field, and the cool-off stands
    assert response.status_code == 409
    assert response.json()["error"] == "protection_locked"
    assert list(response.json()["fields"]) == ["cool_off_until"]
    assert stored().cool_off_until == until


def test_cool_off_cannot_be_shortened(me):
    # given a cool-off for ten days
    until = timezone.now() + 10 * DAY
    put(me, cool_off_until=iso(until))
    # when the player asks for five days instead
    response = put(me, cool_off_until=iso(timezone.now() + 5 * DAY))
    # then the answer is 409 and the cool-off stands
    assert response.status_code == 409
    assert stored().cool_off_until == until


def test_cool_off_can_be_extended(me):
    # given a cool-off for three days
    put(me, cool_off_until=iso(timezone.now() + 3 * DAY))
    # when the player extends it to ten days
    until = timezone.now() + 10 * DAY
    response = put(me, cool_off_until=iso(until))
    # then the longer one is in force
    assert response.status_code == 200
    assert stored().cool_off_until == until


def test_an_ended_cool_off_no_longer_locks(me):
    # given a cool-off that has ended
    protection = services.protection_update(
        player_id=PLAYER, changes={"cool_off_until": timezone.now() + 2 * DAY}, now=timezone.now()
    )
    ended_at = protection.cool_off_until
    assert ended_at is not None
    # when, after it ended, the player clears it
    later = services.protection_update(player_id=PLAYER, changes={"cool_off_until": None}, now=ended_at + HOUR)
    # then that is accepted (nothing to lift) and the player is not cooling off
    assert not later.is_cooling_off(ended_at + HOUR)


# --- self-exclusion --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "ok"),
    [
        (182 * DAY, False),
        (183 * DAY + HOUR, True),
        (5 * 366 * DAY - HOUR, True),
        (5 * 366 * DAY + DAY, False),
    ],
)
def test_self_exclusion_lasts_at_least_6_months(me, length, ok):
    # given no self-exclusion
    until = timezone.now() + length
    # when the player asks for one of this length
    response = put(me, self_excluded_until=iso(until))
    # then it is in force if between 183 days and 5 years, else a 400 naming the field
    if ok:
        assert response.status_code == 200
        assert response.json()["self_excluded"] is True
        assert stored().self_excluded_until == until
    else:
        assert response.status_code == 400
        assert list(response.json()["fields"]) == ["self_excluded_until"]
        assert not PlayerProtection.objects.filter(self_excluded_until__isnull=False).exists()


def test_self_exclusion_cannot_be_lifted_early(me):
    # given a self-exclusion for 200 days
    until = timezone.now() + 200 * DAY
    put(me, self_excluded_until=iso(until))
    # when the player asks to lift it (null)
    response = put(me, self_excluded_until=None)
    # then the answer is 409 naming the field, and the exclusion stands
    assert response.status_code == 409
    assert list(response.json()["fields"]) == ["self_excluded_until"]
    assert stored().self_excluded_until == until


def test_self_exclusion_cannot_be_shortened(me):
    # given a self-exclusion for 300 days
    until = timezone.now() + 300 * DAY
    put(me, self_excluded_until=iso(until))
    # when the player asks for 200 days instead
    response = put(me, self_excluded_until=iso(timezone.now() + 200 * DAY))
    # then the answer is 409 and the exclusion stands
    assert response.status_code == 409
    assert response.json()["error"] == "protection_locked"
    assert stored().self_excluded_until == until


def test_self_exclusion_can_be_extended(me):
    # given a self-exclusion for 200 days
    put(me, self_excluded_until=iso(timezone.now() + 200 * DAY))
    # when the player extends it to a year
    until = timezone.now() + 365 * DAY
    response = put(me, self_excluded_until=iso(until))
    # then the year is in force
    assert response.status_code == 200
    assert response.json()["self_excluded_until"] is not None
    assert stored().self_excluded_until == until


# --- a refused request writes nothing --------------------------------------------------------------


def test_rejected_request_leaves_every_setting_unchanged(me):
    # given a daily limit of 500
    put(me, daily_spend_limit=500)
    # when one request lowers the limit and asks for a too-short self-exclusion
    response = put(me, daily_spend_limit=100, self_excluded_until=iso(timezone.now() + 30 * DAY))
    # then it is refused and the limit is still 500
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["self_excluded_until"]
    assert stored().daily_spend_limit == 500
    assert stored().self_excluded_until is None


def test_locked_request_leaves_every_setting_unchanged(me):
    # given a cool-off for three days and no limit
    until = timezone.now() + 3 * DAY
    put(me, cool_off_until=iso(until))
    # when one request sets a limit and tries to lift the cool-off
    response = put(me, daily_spend_limit=100, cool_off_until=None)
    # then it is refused (409) and no limit was set
    assert response.status_code == 409
    assert stored().daily_spend_limit is None
    assert stored().cool_off_until == until


# --- reality checks ------------------------------------------------------------------------------


def test_the_player_chooses_how_often_reality_checks_come(me):
    # when a player asks for one every 30 minutes
    response = me.put(URL, {"reality_check_minutes": 30}, format="json")
    # then it is in force at once, and reads back
    assert response.status_code == 200, response.content
    assert response.json()["reality_check_minutes"] == 30
    assert me.get(URL).json()["reality_check_minutes"] == 30


@pytest.mark.parametrize("minutes", [20, 0, 10, 255, "soon"])
def test_a_reality_check_interval_off_the_quarter_hours_or_out_of_range_is_refused(me, minutes):
    # when a player asks for an interval that is not a multiple of 15 minutes between 15 and 240
    response = me.put(URL, {"reality_check_minutes": minutes}, format="json")
    # then a 400 names the field, and nothing is stored
    assert response.status_code == 400
    assert "reality_check_minutes" in response.json()["fields"]
    assert not PlayerProtection.objects.filter(player_id=PLAYER).exists()
