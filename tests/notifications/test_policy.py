"""When a push may go out (design brief section 6, spec 2.2.3): the marketing frequency cap per player-local day,
quiet hours (held to the window's end, then sent by the periodic sweep), player protection; and the pure
functions of notifications.policy."""

from __future__ import annotations

import datetime as dt
import threading
import zoneinfo
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson
import pytest
from django.db import connection

from notifications import services
from notifications.models import Notification
from notifications.policy import local_day_start, parse_quiet_hours, quiet_hours_end
from players.services import protection_update
from tests import factories

UTC = dt.UTC
SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
LOS_ANGELES = zoneinfo.ZoneInfo("America/Los_Angeles")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
PLAYER = 700
QUIET = (dt.time(22, 0), dt.time(8, 0))


def at(tz: zoneinfo.ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    """A moment given in local time (all in the past, so the sender's real clock agrees it is due)."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=tz)


def marketing(now: dt.datetime, user_id: int = PLAYER, type: str = "TOKEN_MISSION") -> Notification:
    message = "3 missions are open at Company A."
    return services.notification_create(
        player_id=user_id,
        type=type,
        kind="marketing",
        message=message,
        payload={"type": type, "user_id": user_id, "message": message},
        now=now,
    )


def transactional(now: dt.datetime, type: str = "PURCHASE_RECEIPT") -> Notification:
    message = "You bought 1,000 tokens."
    return services.notification_create(
        player_id=PLAYER,
        type=type,
        kind="transactional",
        message=message,
        payload={"type": type, "user_id": PLAYER, "message": message},
        now=now,
    )


def state(n: Notification) -> tuple[str, str]:
    return n.status, n.status_reason


@pytest.fixture
def no_quiet_hours(settings: Any) -> None:
    settings.QUIET_HOURS = ""
    settings.MARKETING_PUSH_DAILY_CAP = 2


# --- frequency cap --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_marketing_cap_counts_the_players_local_day_not_the_utc_day(no_quiet_hours):
    # given a player in Los Angeles (UTC-8 in November) and a cap of 2 marketing pushes a day
    factories.make_player(id=PLAYER, timezone="America/Los_Angeles")
    # when three arrive on the same local day, 20 November, the first two on different UTC days
    first = marketing(at(LOS_ANGELES, 2025, 11, 20, 15, 0))  # 23:00 UTC on the 20th
    second = marketing(at(LOS_ANGELES, 2025, 11, 20, 17, 0))  # 01:00 UTC on the 21st
    third = marketing(at(LOS_ANGELES, 2025, 11, 20, 18, 0))  # 02:00 UTC on the 21st
    # then the first two are pending and the third is suppressed by the cap
    assert [state(first), state(second)] == [("pending", ""), ("pending", "")]
    assert state(third) == ("suppressed", "frequency_cap")


@pytest.mark.django_db
def test_marketing_cap_resets_at_the_players_local_midnight(no_quiet_hours):
    # given a player in Los Angeles who got 2 marketing pushes late on 20 November (local)
    factories.make_player(id=PLAYER, timezone="America/Los_Angeles")
    marketing(at(LOS_ANGELES, 2025, 11, 20, 17, 0))  # 01:00 UTC on the 21st
    marketing(at(LOS_ANGELES, 2025, 11, 20, 18, 0))  # 02:00 UTC on the 21st
    # when another arrives the next local morning (still 21 November in UTC)
    next_morning = marketing(at(LOS_ANGELES, 2025, 11, 21, 9, 0))  # 17:00 UTC on the 21st
    # then it is a new local day: pending
    assert state(next_morning) == ("pending", "")


@pytest.mark.django_db
def test_marketing_cap_follows_the_setting(no_quiet_hours, settings):
    # given a cap of 1
    settings.MARKETING_PUSH_DAILY_CAP = 1
    factories.make_player(id=PLAYER)
    # when two marketing pushes arrive the same day
    first = marketing(at(SEOUL, 2025, 11, 20, 10, 0))
    second = marketing(at(SEOUL, 2025, 11, 20, 11, 0))
    # then only the first goes
    assert (state(first), state(second)) == (("pending", ""), ("suppressed", "frequency_cap"))


@pytest.mark.django_db
def test_cap_is_per_player(no_quiet_hours):
    # given a player who reached the cap
    factories.make_player(id=PLAYER)
    factories.make_player(id=PLAYER + 1)
    for hour in (10, 11):
        marketing(at(SEOUL, 2025, 11, 20, hour, 0))
    # when another player gets a marketing push the same day
    other = marketing(at(SEOUL, 2025, 11, 20, 12, 0), user_id=PLAYER + 1)
    # then theirs goes
    assert state(other) == ("pending", "")


@pytest.mark.django_db
def test_transactional_messages_are_not_capped_and_do_not_use_the_cap(no_quiet_hours):
    # given a player who got three transactional messages and then reached the marketing cap
    factories.make_player(id=PLAYER)
    receipts = [transactional(at(SEOUL, 2025, 11, 20, 9, minute)) for minute in (0, 1, 2)]
    firsts = [marketing(at(SEOUL, 2025, 11, 20, 10, 0)), marketing(at(SEOUL, 2025, 11, 20, 11, 0))]
    # when another transactional message arrives the same day
    receipt = transactional(at(SEOUL, 2025, 11, 20, 12, 0))
    # then every transactional one goes, and the receipts did not use up the marketing cap
    assert {state(n) for n in [*receipts, receipt]} == {("pending", "")}
    assert {state(n) for n in firsts} == {("pending", "")}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (DATABASE_URL): SQLite runs one writer at a time, so nothing can race",
)
def test_concurrent_marketing_pushes_never_pass_the_cap(no_quiet_hours):
    # given a player and a cap of 2
    factories.make_player(id=PLAYER)
    now = at(SEOUL, 2025, 11, 20, 10, 0)
    start = threading.Barrier(16)

    def send(_: int) -> tuple[str, str]:
        try:
            start.wait()
            return state(marketing(now))
        finally:
            connection.close()

    # when 16 marketing pushes for the player are created at the same moment
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = Counter(pool.map(send, range(16)))
    # then exactly 2 go and 14 are suppressed by the cap
    assert results == {("pending", ""): 2, ("suppressed", "frequency_cap"): 14}


# --- quiet hours ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_marketing_during_quiet_hours_is_held_to_the_end_of_the_window(settings):
    # given quiet hours 22:00-08:00 and a player in Seoul
    settings.QUIET_HOURS = "22:00-08:00"
    factories.make_player(id=PLAYER, timezone="Asia/Seoul")
    # when a marketing push arrives at 23:30 and another at 02:00 local time
    late = marketing(at(SEOUL, 2025, 11, 20, 23, 30))
    small_hours = marketing(at(SEOUL, 2025, 11, 21, 2, 0))
    # then both are held until 08:00 on the morning of the 21st
    for n in (late, small_hours):
        assert state(n) == ("pending", "quiet_hours")
        assert n.send_after == at(SEOUL, 2025, 11, 21, 8, 0)


@pytest.mark.django_db
def test_marketing_outside_quiet_hours_is_not_held(settings):
    # given quiet hours 22:00-08:00 and a player in Seoul
    settings.QUIET_HOURS = "22:00-08:00"
    factories.make_player(id=PLAYER, timezone="Asia/Seoul")
    # when a marketing push arrives at 08:00 and one at 21:59
    morning = marketing(at(SEOUL, 2025, 11, 20, 8, 0))
    evening = marketing(at(SEOUL, 2025, 11, 20, 21, 59))
    # then neither is held
    assert (morning.send_after, evening.send_after) == (None, None)
    assert {state(morning), state(evening)} == {("pending", "")}


@pytest.mark.django_db
def test_quiet_hours_are_in_the_players_timezone(settings):
    # given quiet hours 22:00-08:00, one player in Los Angeles and one in Seoul
    settings.QUIET_HOURS = "22:00-08:00"
    factories.make_player(id=PLAYER, timezone="America/Los_Angeles")
    factories.make_player(id=PLAYER + 1, timezone="Asia/Seoul")
    # when both get a marketing push at the same instant: 23:30 in Los Angeles, 16:30 the next day in Seoul
    instant = at(LOS_ANGELES, 2025, 11, 20, 23, 30)
    in_la = marketing(instant)
    in_seoul = marketing(instant, user_id=PLAYER + 1)
    # then only the Los Angeles player's is held, until 08:00 Los Angeles time
    assert in_la.send_after == at(LOS_ANGELES, 2025, 11, 21, 8, 0)
    assert in_seoul.send_after is None


@pytest.mark.django_db
def test_transactional_messages_are_not_held_in_quiet_hours(settings):
    # given quiet hours 22:00-08:00 and a player in Seoul
    settings.QUIET_HOURS = "22:00-08:00"
    factories.make_player(id=PLAYER, timezone="Asia/Seoul")
    # when a transactional message arrives at 23:30
    receipt = transactional(at(SEOUL, 2025, 11, 20, 23, 30))
    # then it goes at once
    assert (state(receipt), receipt.send_after) == (("pending", ""), None)


@pytest.mark.django_db
def test_dispatch_due_sends_held_notifications_when_due(settings, webhook_transport):
    # given a marketing push held by quiet hours until 08:00 on the 21st (Seoul)
    settings.QUIET_HOURS = "22:00-08:00"
    factories.make_player(id=PLAYER, timezone="Asia/Seoul")
    held = marketing(at(SEOUL, 2025, 11, 20, 23, 30))
    due = at(SEOUL, 2025, 11, 21, 8, 0)
    # when the periodic sweep runs a minute before the end of the window
    early = services.notifications_dispatch_due(now=due - dt.timedelta(minutes=1))
    # then nothing is sent
    held.refresh_from_db()
    assert (early, held.status, webhook_transport.requests) == (0, "pending", [])
    # and when it runs at the end of the window, the push is sent to the receiver
    on_time = services.notifications_dispatch_due(now=due)
    held.refresh_from_db()
    assert on_time == 1
    assert (held.status, held.is_sent) == ("sent", True)
    assert [orjson.loads(r.body) for r in webhook_transport.requests] == [held.payload]


@pytest.mark.django_db
def test_dispatch_due_picks_up_a_pending_push_whose_task_was_lost(webhook_transport):
    # given a transactional push left pending for 11 minutes (its task never ran: broker down, worker lost)
    factories.make_player(id=PLAYER)
    created = at(SEOUL, 2025, 11, 20, 12, 0)
    receipt = transactional(created)
    # when the sweep runs 9 minutes and then 11 minutes after it was created
    too_soon = services.notifications_dispatch_due(now=created + dt.timedelta(minutes=9))
    later = services.notifications_dispatch_due(now=created + dt.timedelta(minutes=11))
    # then it is sent by the second sweep only
    receipt.refresh_from_db()
    assert (too_soon, later, receipt.status, len(webhook_transport.requests)) == (0, 1, "sent", 1)


# --- protection -----------------------------------------------------------------------------------------


def protect(player_id: int, field: str, now: dt.datetime, days: int) -> None:
    protection_update(player_id=player_id, changes={field: now + dt.timedelta(days=days)}, now=now)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "days", "reason"), [("cool_off_until", 3, "cooling_off"), ("self_excluded_until", 200, "self_excluded")]
)
def test_marketing_is_suppressed_during_cool_off_and_self_exclusion(no_quiet_hours, field, days, reason):
    # given a player cooling off or self-excluded
    now = at(SEOUL, 2025, 11, 20, 12, 0)
    factories.make_player(id=PLAYER)
    protect(PLAYER, field, now - dt.timedelta(hours=1), days)
    # when a marketing push arrives
    n = marketing(now)
    # then it is suppressed with the reason
    assert state(n) == ("suppressed", reason)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "days", "reason"), [("cool_off_until", 3, "cooling_off"), ("self_excluded_until", 200, "self_excluded")]
)
def test_new_token_arrival_is_suppressed_during_cool_off_and_self_exclusion(field, days, reason):
    # given a player cooling off or self-excluded
    now = at(SEOUL, 2025, 11, 20, 12, 0)
    factories.make_player(id=PLAYER)
    protect(PLAYER, field, now - dt.timedelta(hours=1), days)
    # when a NEW_TOKEN_ARRIVAL push (transactional, but it invites play) is created
    assert "NEW_TOKEN_ARRIVAL" in services.PLAY_INVITING_TYPES
    n = transactional(now, type="NEW_TOKEN_ARRIVAL")
    # then it is suppressed with the reason
    assert state(n) == ("suppressed", reason)


@pytest.mark.django_db
def test_other_transactional_messages_still_go_during_cool_off():
    # given a player cooling off
    now = at(SEOUL, 2025, 11, 20, 12, 0)
    factories.make_player(id=PLAYER)
    protect(PLAYER, "cool_off_until", now - dt.timedelta(hours=1), 3)
    # when a purchase receipt (a plain fact) is created
    receipt = transactional(now)
    # then it goes
    assert state(receipt) == ("pending", "")


@pytest.mark.django_db
def test_marketing_goes_again_once_the_cool_off_has_ended(no_quiet_hours):
    # given a cool-off that ended
    start = at(SEOUL, 2025, 11, 20, 12, 0)
    factories.make_player(id=PLAYER)
    protect(PLAYER, "cool_off_until", start, 2)
    # when a marketing push arrives three days later
    n = marketing(start + dt.timedelta(days=3))
    # then it goes
    assert state(n) == ("pending", "")


@pytest.mark.django_db
def test_a_held_push_is_suppressed_if_a_cool_off_starts_before_it_is_due(settings, webhook_transport):
    # given a marketing push held by quiet hours
    settings.QUIET_HOURS = "22:00-08:00"
    factories.make_player(id=PLAYER, timezone="Asia/Seoul")
    held = marketing(at(SEOUL, 2025, 11, 20, 23, 30))
    assert held.status == "pending"
    # when the player starts a cool-off (in force now) before the sweep sends it
    protect(PLAYER, "cool_off_until", dt.datetime.now(UTC), 3)
    services.notifications_dispatch_due(now=held.send_after)
    # then it is suppressed, not sent
    held.refresh_from_db()
    assert state(held) == ("suppressed", "cooling_off")
    assert webhook_transport.requests == []


# --- notifications.policy (pure functions) ---------------------------------------------------------------


def test_parse_quiet_hours():
    # given window settings as operators write them
    # when they are parsed
    # then a window is a (start, end) pair and an empty setting means no quiet hours
    assert parse_quiet_hours("22:00-08:00") == QUIET
    assert parse_quiet_hours(" 22:00 - 08:00 ") == QUIET
    assert parse_quiet_hours("13:30-15:00") == (dt.time(13, 30), dt.time(15, 0))
    assert parse_quiet_hours("") is None


@pytest.mark.parametrize(
    ("local", "end"),
    [
        ((2025, 11, 20, 21, 59), None),
        ((2025, 11, 20, 22, 0), (2025, 11, 21, 8, 0)),
        ((2025, 11, 20, 23, 59), (2025, 11, 21, 8, 0)),
        ((2025, 11, 21, 0, 0), (2025, 11, 21, 8, 0)),
        ((2025, 11, 21, 7, 59), (2025, 11, 21, 8, 0)),
        ((2025, 11, 21, 8, 0), None),
        ((2025, 11, 21, 12, 0), None),
        ((2025, 12, 31, 23, 0), (2026, 1, 1, 8, 0)),
    ],
)
def test_quiet_hours_end_across_midnight(local, end):
    # given quiet hours 22:00-08:00 in Seoul
    now = at(SEOUL, *local).astimezone(UTC)
    # when the end of the window is asked for at a local time
    result = quiet_hours_end(now, SEOUL, QUIET)
    # then inside the window it is the next 08:00 local (in UTC), outside it is None
    assert result == (None if end is None else at(SEOUL, *end))
    assert result is None or result.tzinfo == UTC


@pytest.mark.parametrize(
    ("local", "end"),
    [
        ((2025, 11, 20, 12, 59), None),
        ((2025, 11, 20, 13, 0), (2025, 11, 20, 15, 0)),
        ((2025, 11, 20, 14, 59), (2025, 11, 20, 15, 0)),
        ((2025, 11, 20, 15, 0), None),
    ],
)
def test_quiet_hours_end_within_one_day(local, end):
    # given quiet hours 13:00-15:00 (not crossing midnight)
    window = (dt.time(13, 0), dt.time(15, 0))
    # when the end is asked for
    result = quiet_hours_end(at(SEOUL, *local), SEOUL, window)
    # then inside it is 15:00 the same day, outside None
    assert result == (None if end is None else at(SEOUL, *end))


def test_no_quiet_hours_window_never_holds():
    # given no window configured
    # when the end is asked for at any time
    # then there is none
    for hour in (0, 3, 12, 23):
        assert quiet_hours_end(at(SEOUL, 2025, 11, 20, hour, 0), SEOUL, None) is None


@pytest.mark.parametrize(
    ("evening", "morning_utc"),
    [
        ((2026, 3, 7, 23, 0), dt.datetime(2026, 3, 8, 12, 0, tzinfo=UTC)),  # clocks go forward: 08:00 EDT
        ((2026, 10, 31, 23, 0), dt.datetime(2026, 11, 1, 13, 0, tzinfo=UTC)),  # clocks go back: 08:00 EST
    ],
)
def test_quiet_hours_end_over_a_daylight_saving_change(evening, morning_utc):
    # given quiet hours 22:00-08:00 in New York on a night the clocks change
    # when a push arrives at 23:00
    result = quiet_hours_end(at(NEW_YORK, *evening), NEW_YORK, QUIET)
    # then it is held to 08:00 local wall time, whatever the offset is by then
    assert result == morning_utc


def test_local_day_start_is_the_players_midnight_in_utc():
    # given 01:00 UTC on 21 November, which is 17:00 on the 20th in Los Angeles and 10:00 on the 21st in Seoul
    now = dt.datetime(2025, 11, 21, 1, 0, tzinfo=UTC)
    # when the start of the local day is asked for
    # then it is that local midnight, in UTC
    assert local_day_start(now, LOS_ANGELES) == dt.datetime(2025, 11, 20, 8, 0, tzinfo=UTC)
    assert local_day_start(now, SEOUL) == dt.datetime(2025, 11, 20, 15, 0, tzinfo=UTC)
