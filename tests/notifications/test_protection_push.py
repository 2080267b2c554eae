"""Every marketing push under each protection state (issue 12, design brief section 6): held back for a cool-off,
a self-exclusion, a nightly harm marker or a live harm signal, with the reason; sent otherwise. Tokens owed are still
credited and their receipt still told, except what invites play during a pause."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable

import pytest

from core.hotstore import ActivityUpdate, LiveEvent, hot_store
from notifications import services
from notifications.models import Notification
from players.live_harm import live_params
from players.services import protection_update
from tests import factories
from tests.recommendations import helpers as h

pytestmark = pytest.mark.django_db

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=SEOUL)  # noon: outside quiet hours
PLAYER = 7300
# The kinds of marketing push: the segment upgrade's (segments) and those the coming issues add (invitations, VIP,
# mission reminders); each is kind "marketing", which is what the rules look at.
MARKETING_TYPES = ("SEGMENT_UPGRADE", "INVITATION", "VIP_OFFER", "MISSION_REMINDER")


def calm() -> None:
    """No protection, no marker, no live signal."""


def cooling_off() -> None:
    protection_update(player_id=PLAYER, changes={"cool_off_until": NOW + dt.timedelta(days=2)}, now=NOW)


def self_excluded() -> None:
    protection_update(player_id=PLAYER, changes={"self_excluded_until": NOW + dt.timedelta(days=200)}, now=NOW)


def nightly_marker() -> None:
    h.harm_marker(PLAYER, "SPEND_SPIKE", NOW - dt.timedelta(hours=10))


def live_loss_chasing() -> None:
    """Four losing rounds in the last minutes, the fourth bet four times the first."""
    start = int((NOW - dt.timedelta(minutes=5)).timestamp() * 1000)
    events = tuple(LiveEvent(start + i * 60_000, "L", bet, 0) for i, bet in enumerate((10, 20, 30, 40)))
    hot_store.apply_activity({PLAYER: ActivityUpdate(events[-1].at_ms // 1000, events=events)}, live_params())


def live_long_session() -> None:
    """Play (failed games) every 20 minutes for the last three hours."""
    start = int((NOW - dt.timedelta(minutes=180)).timestamp() * 1000)
    events = tuple(LiveEvent(start + i * 20 * 60_000, "F") for i in range(10))
    hot_store.apply_activity({PLAYER: ActivityUpdate(events[-1].at_ms // 1000, events=events)}, live_params())


STATES: dict[str, tuple[Callable[[], None], str]] = {
    "calm": (calm, ""),
    "cooling off": (cooling_off, "cooling_off"),
    "self-excluded": (self_excluded, "self_excluded"),
    "nightly harm marker": (nightly_marker, "harm_marker"),
    "live loss chasing": (live_loss_chasing, "live_harm_signal"),
    "live long session": (live_long_session, "live_harm_signal"),
}


@pytest.fixture(autouse=True)
def no_quiet_hours(settings):
    settings.QUIET_HOURS = ""


def push(type: str, kind: str = "marketing") -> Notification:
    return services.notification_create(
        player_id=PLAYER, type=type, kind=kind, message="Facts.", payload={"type": type}, now=NOW
    )


@pytest.mark.parametrize("type", MARKETING_TYPES)
@pytest.mark.parametrize("state", list(STATES))
def test_each_kind_of_marketing_push_under_each_protection_state(state, type):
    # given the player in that state
    factories.make_player(id=PLAYER, timezone="Asia/Seoul")
    arrange, reason = STATES[state]
    arrange()
    # when a marketing push of that kind is created
    n = push(type)
    # then it goes only to a calm player; otherwise it is suppressed, the reason saying why
    expected = ("pending", "") if not reason else ("suppressed", reason)
    n.refresh_from_db()
    assert (n.status if n.status != "sent" else "pending", n.status_reason) == expected


@pytest.mark.parametrize("state", ["nightly harm marker", "live loss chasing", "live long session"])
def test_a_token_arrival_is_still_told_to_a_marked_player(state):
    # given a player with a harm marker or a live signal (no pause)
    factories.make_player(id=PLAYER, timezone="Asia/Seoul")
    STATES[state][0]()
    # when Company A's tokens arrive (transactional: tokens owed are credited and their receipt told)
    n = push("NEW_TOKEN_ARRIVAL", kind="transactional")
    # then the push goes
    n.refresh_from_db()
    assert n.status in ("pending", "sent") and n.status_reason == ""


def test_a_push_held_for_quiet_hours_is_suppressed_if_a_signal_holds_when_it_is_due(settings):
    # given a marketing push created during quiet hours for a calm player (held to the window's end)
    settings.QUIET_HOURS = "22:00-08:00"
    factories.make_player(id=PLAYER, timezone="Asia/Seoul")
    night = dt.datetime(2026, 11, 20, 23, 0, tzinfo=SEOUL)
    n = services.notification_create(
        player_id=PLAYER, type="VIP_OFFER", kind="marketing", message="Facts.", payload={}, now=night
    )
    assert (n.status, n.status_reason) == ("pending", "quiet_hours")
    # when a nightly marker appears before it is due, and the sweep sends it
    h.harm_marker(PLAYER, "LOSS_CHASING", night)
    status = services.notification_send(notification_id=n.id, now=n.send_after)
    # then it is suppressed, not sent
    n.refresh_from_db()
    assert (status, n.status_reason) == ("suppressed", "harm_marker")


def suppressed_count(kind: str, reason: str) -> float:
    from prometheus_client import REGISTRY

    return REGISTRY.get_sample_value("tokenloop_pushes_suppressed_total", {"kind": kind, "reason": reason}) or 0.0


@pytest.mark.parametrize("state", ["cooling off", "self-excluded", "nightly harm marker", "live loss chasing"])
def test_each_push_held_back_is_counted_by_its_reason(state, django_capture_on_commit_callbacks):
    # given the player in a protection state
    factories.make_player(id=PLAYER, timezone="Asia/Seoul")
    arrange, reason = STATES[state]
    arrange()
    before = suppressed_count("marketing", reason)
    # when a marketing push is held back
    with django_capture_on_commit_callbacks(execute=True):
        push("VIP_OFFER")
    # then the operators' figure of pushes suppressed rises by one under that reason
    assert suppressed_count("marketing", reason) == before + 1
