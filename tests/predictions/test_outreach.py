"""What the service does with the predictions, within player protection (issue 17 item 5; docs/decisions/0031): the
special invitation to players at risk of churning and the VIP award of likely whales, under every protection state.

Scores are written directly (the ml branch's scoring fills the same table); the pushes go through the notifications
app's real policy, the reward through the wallet's real ledger, the live state through the real hot store."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable

import pytest
from django.db.models import Sum

from activity.models import UserReward
from core.hotstore import ActivityUpdate, LiveEvent, hot_store
from notifications import services as notifications
from notifications.models import Notification
from players.live_harm import live_params
from players.services import harm_marker_self_report, protection_update
from predictions.models import ChurnInvitation, VipAward
from predictions.outreach import invitation_dedupe_key, invitations_send, vip_award_key, vip_awards_grant
from segments.models import UserSegment
from tests import factories
from tests.concurrency import run_concurrently, skip_unless_postgresql
from tests.recommendations import helpers as h
from texts.catalog import text_render
from texts.registry import ODDS_WORDING, template_problem
from wallet.missions import COMPLETE_CORPORATE_QUIZ, mission_pay
from wallet.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db

SEOUL = zoneinfo.ZoneInfo("Asia/Seoul")
AS_OF = dt.date(2026, 11, 20)
NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=SEOUL)  # noon: outside quiet hours
PLAYER = 7700
QUIZ_REWARD = 200  # settings.MISSION_REWARDS["COMPLETE_CORPORATE_QUIZ"], the default
VIP_TOKENS = 500  # settings.PREDICTIONS_VIP_REWARD_TOKENS, the default


@pytest.fixture(autouse=True)
def no_quiet_hours(settings):
    settings.QUIET_HOURS = ""
    settings.MARKETING_PUSH_DAILY_CAP = 2
    settings.PREDICTIONS_INVITATION_THRESHOLD = 0.6
    settings.PREDICTIONS_INVITATION_EVERY_DAYS = 14
    settings.PREDICTIONS_VIP_REWARD_TOKENS = VIP_TOKENS
    settings.MISSION_REWARDS = {**settings.MISSION_REWARDS, COMPLETE_CORPORATE_QUIZ: QUIZ_REWARD}


def noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=SEOUL)


def scored(player_id: int, as_of: dt.date = AS_OF, *, churn: float = 0.1, ltv: float = 0.0) -> None:
    factories.player_prediction_make(user_id=player_id, as_of=as_of, churn_probability=churn, ltv=ltv)


def at_risk(player_id: int = PLAYER, *, locale: str = "ko", churn: float = 0.8, active_days_before: int = 3) -> None:
    """A player scored at risk as of AS_OF, who opened the app ``active_days_before`` days before it."""
    factories.make_player(id=player_id, timezone="Asia/Seoul", locale=locale)
    factories.make_actions(
        user_id=player_id, at=[noon(AS_OF - dt.timedelta(days=active_days_before))], action_type="SESSION_START"
    )
    scored(player_id, churn=churn)


def invitations(player_id: int = PLAYER) -> list[Notification]:
    return list(Notification.objects.filter(user_id=player_id, type="CHURN_INVITATION").order_by("id"))


# --- the protection states (as the notifications policy's own tests set them) -------------------------------------


def cooling_off(player_id: int) -> None:
    protection_update(player_id=player_id, changes={"cool_off_until": NOW + dt.timedelta(days=2)}, now=NOW)


def self_excluded(player_id: int) -> None:
    protection_update(player_id=player_id, changes={"self_excluded_until": NOW + dt.timedelta(days=200)}, now=NOW)


def nightly_marker(player_id: int) -> None:
    h.harm_marker(player_id, "SPEND_SPIKE", NOW - dt.timedelta(hours=10))


def self_reported_marker(player_id: int) -> None:
    harm_marker_self_report(
        player_id=player_id, marker="SELF_REPORTED_CHASING", present=True, details={"reward_sensitivity": 80}, at=NOW
    )


def live_loss_chasing(player_id: int) -> None:
    """Four losing rounds in the last minutes, the fourth bet four times the first: the live state in the hot store."""
    start = int((NOW - dt.timedelta(minutes=5)).timestamp() * 1000)
    events = tuple(LiveEvent(start + i * 60_000, "L", bet, 0) for i, bet in enumerate((10, 20, 30, 40)))
    hot_store.apply_activity({player_id: ActivityUpdate(events[-1].at_ms // 1000, events=events)}, live_params())


PROTECTED: dict[str, tuple[Callable[[int], None], str]] = {
    "cooling off": (cooling_off, "cooling_off"),
    "self-excluded": (self_excluded, "self_excluded"),
    "nightly harm marker": (nightly_marker, "harm_marker"),
    "self-reported harm marker": (self_reported_marker, "harm_marker"),
    "live harm signal": (live_loss_chasing, "live_harm_signal"),
}


# --- the special invitation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["ko", "en"])
def test_an_active_player_at_risk_gets_the_invitation_in_their_locale_with_a_facts_only_text(
    locale, django_capture_on_commit_callbacks
):
    # given a player scored over the threshold who used the app three days before the as-of date
    at_risk(locale=locale)
    # when the invitations go out
    with django_capture_on_commit_callbacks(execute=True):
        report = invitations_send(as_of=AS_OF, now=NOW)
    # then one marketing push went, in the player's locale, stating the quiz mission's configured reward and no odds
    (push,) = invitations()
    push.refresh_from_db()
    assert (push.kind, push.status) == ("marketing", "sent")
    assert push.message == text_render("CHURN_INVITATION", locale, reward_tokens=QUIZ_REWARD)
    assert f"{QUIZ_REWARD}" in push.message and ("Company A" in push.message or "A 업체" in push.message)
    assert template_problem("CHURN_INVITATION", push.message) is None and not ODDS_WORDING.search(push.message)
    assert "0.8" not in push.message and "%" not in push.message  # the score itself is never told
    assert push.payload["reward_tokens"] == QUIZ_REWARD
    # and the invitation is recorded with the push and the score
    invitation = ChurnInvitation.objects.get(user_id=PLAYER)
    assert (invitation.as_of, invitation.churn_probability, invitation.notification_id) == (AS_OF, 0.8, push.id)
    assert report.as_dict() == {
        "as_of": "2026-11-20",
        "candidates": 1,
        "sent": 1,
        "deferred": 0,
        "held_back": {},
        "already_invited": 0,
        "nothing_to_offer": 0,
    }


def test_only_players_over_the_threshold_with_app_activity_in_the_30_days_before_are_candidates():
    # given one player at risk and active; one under the threshold; one whose last app use is 31 days before;
    # one whose only action in the window is a Company A visit (not app activity); one active on the as-of day itself
    at_risk(1)
    at_risk(2, churn=0.59)
    at_risk(3, active_days_before=31)
    factories.make_player(id=4)
    factories.make_actions(user_id=4, at=[noon(AS_OF - dt.timedelta(days=2))], action_type="CORPORATE_VISIT")
    scored(4, churn=0.9)
    at_risk(5, active_days_before=0)
    # when the invitations go out
    report = invitations_send(as_of=AS_OF, now=NOW)
    # then only the first is a candidate, and only they are invited
    assert (report.candidates, report.sent) == (1, 1)
    assert set(ChurnInvitation.objects.values_list("user_id", flat=True)) == {1}


def test_a_player_is_not_invited_twice_in_14_days_and_is_invited_again_after():
    # given a player invited as of AS_OF, and still at risk and active 13 and 14 days later
    at_risk()
    assert invitations_send(as_of=AS_OF, now=NOW).sent == 1
    for days in (13, 14):
        day = AS_OF + dt.timedelta(days=days)
        factories.make_actions(user_id=PLAYER, at=[noon(day - dt.timedelta(days=1))], action_type="SESSION_START")
        scored(PLAYER, day, churn=0.9)
    # when the invitations go out 13 days later, then 14 days later
    thirteen = invitations_send(as_of=AS_OF + dt.timedelta(days=13), now=noon(AS_OF + dt.timedelta(days=13)))
    fourteen = invitations_send(as_of=AS_OF + dt.timedelta(days=14), now=noon(AS_OF + dt.timedelta(days=14)))
    # then the first finds the invitation of 13 days ago and sends nothing; the second invites again
    assert (thirteen.already_invited, thirteen.sent) == (1, 0)
    assert (fourteen.already_invited, fourteen.sent) == (0, 1)
    assert len(invitations()) == 2
    assert list(ChurnInvitation.objects.order_by("as_of").values_list("as_of", flat=True)) == [
        AS_OF,
        AS_OF + dt.timedelta(days=14),
    ]


def test_a_re_run_for_the_same_date_sends_nothing_new(django_capture_on_commit_callbacks):
    # given the invitations sent as of AS_OF
    at_risk()
    with django_capture_on_commit_callbacks(execute=True):
        invitations_send(as_of=AS_OF, now=NOW)
    # when the job runs again for the same date (a retry of the nightly task)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = invitations_send(as_of=AS_OF, now=NOW + dt.timedelta(minutes=5))
    # then nothing new is stored or dispatched
    assert (again.sent, again.already_invited) == (0, 1)
    assert len(invitations()) == 1 and ChurnInvitation.objects.count() == 1
    assert callbacks == []


@pytest.mark.parametrize("state", list(PROTECTED))
def test_no_invitation_goes_to_a_protected_player_and_each_is_counted_by_its_reason(state):
    # given a player at risk and active, in that protection state
    at_risk()
    arrange, reason = PROTECTED[state]
    arrange(PLAYER)
    # when the invitations go out
    report = invitations_send(as_of=AS_OF, now=NOW)
    # then the policy held it back (the push row kept as suppressed, saying why) and the report counts it
    (push,) = invitations()
    assert (push.status, push.status_reason) == ("suppressed", reason)
    assert report.held_back == {reason: 1} and report.sent == report.deferred == 0
    # and no invitation is recorded: the fortnight is not used up by a push that never went
    assert not ChurnInvitation.objects.exists()


def test_a_player_over_the_marketing_cap_gets_no_invitation_and_is_counted():
    # given a player at risk who has had the day's two marketing pushes already
    at_risk()
    for _ in range(2):
        notifications.notification_create(
            player_id=PLAYER, type="SEGMENT_UPGRADE", kind="marketing", message="Facts.", payload={}, now=NOW
        )
    # when the invitations go out
    report = invitations_send(as_of=AS_OF, now=NOW)
    # then the invitation is held back by the cap
    (push,) = invitations()
    assert (push.status, push.status_reason) == ("suppressed", "frequency_cap")
    assert report.held_back == {"frequency_cap": 1} and not ChurnInvitation.objects.exists()


def test_an_invitation_made_in_quiet_hours_is_held_to_their_end_and_sent_then(settings):
    # given quiet hours 22:00-08:00 and the job running at 23:00 on the player's clock
    settings.QUIET_HOURS = "22:00-08:00"
    at_risk()
    night = dt.datetime(2026, 11, 20, 23, 0, tzinfo=SEOUL)
    # when the invitations go out
    report = invitations_send(as_of=AS_OF, now=night)
    # then the push is held (pending, not sent, not lost) until 08:00, and the invitation is recorded
    (push,) = invitations()
    assert (push.status, push.status_reason, push.attempts) == ("pending", "quiet_hours", 0)
    assert push.send_after == dt.datetime(2026, 11, 21, 8, 0, tzinfo=SEOUL)
    assert report.deferred == 1 and report.sent == 0 and ChurnInvitation.objects.count() == 1
    # and the sweep sends nothing before 08:00, then sends it
    assert notifications.notification_send(notification_id=push.id, now=push.send_after - dt.timedelta(minutes=1)) == (
        "held"
    )
    assert notifications.notification_send(notification_id=push.id, now=push.send_after) == "sent"


def test_a_self_exclusion_set_while_the_invitation_waits_out_quiet_hours_stops_it_when_due(settings):
    # given an invitation held by quiet hours (the nearest thing to a "pending" exclusion here: a self-exclusion acts
    # the moment it is set, docs/decisions/0005, so what can be pending is the push, not the exclusion)
    settings.QUIET_HOURS = "22:00-08:00"
    at_risk()
    night = dt.datetime(2026, 11, 20, 23, 0, tzinfo=SEOUL)
    invitations_send(as_of=AS_OF, now=night)
    (push,) = invitations()
    # when the player excludes themselves before it is due, and the sweep reaches it
    protection_update(player_id=PLAYER, changes={"self_excluded_until": night + dt.timedelta(days=200)}, now=night)
    status = notifications.notification_send(notification_id=push.id, now=push.send_after)
    # then it is suppressed, never sent
    push.refresh_from_db()
    assert (status, push.status_reason, push.sent_at) == ("suppressed", "self_excluded", None)


def test_a_player_company_as_quiz_paid_this_month_gets_no_invitation_promising_it():
    # given a player at risk who completed Company A's quiz this month (its reward paid)
    at_risk()
    assert mission_pay(player_id=PLAYER, mission=COMPLETE_CORPORATE_QUIZ, period="2026-11") is not None
    # when the invitations go out
    report = invitations_send(as_of=AS_OF, now=NOW)
    # then no invitation: its text would promise a reward the quiz will not pay again this month
    assert report.nothing_to_offer == 1 and report.sent == 0
    assert invitations() == [] and not ChurnInvitation.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_invite_a_player_once():
    skip_unless_postgresql()
    # given a player at risk
    at_risk()
    # when eight runs for the same date go at once
    reports = run_concurrently([lambda: invitations_send(as_of=AS_OF, now=NOW)] * 8, threads=8)
    # then one invitation, one push
    assert not [r for r in reports if isinstance(r, Exception)]
    assert sum(r.sent for r in reports) == 1 and sum(r.already_invited for r in reports) == 7
    assert ChurnInvitation.objects.count() == 1 and len(invitations()) == 1
    assert Notification.objects.get(dedupe_key=invitation_dedupe_key(player_id=PLAYER, as_of=AS_OF))


# --- the VIP award -------------------------------------------------------------------------------------------------


def adult(player_id: int, **fields: object) -> None:
    fields.setdefault("birth_date", dt.date(1990, 5, 17))
    fields.setdefault("age_verified", True)
    factories.make_player(id=player_id, timezone="Asia/Seoul", **fields)


def population(top: int = PLAYER, *, others: int = 9, **top_fields: object) -> None:
    """Ten players scored as of AS_OF with a predicted LTV above 0: ``top`` the highest (the top decile is one
    player), the others verified adults below it."""
    adult(top, **top_fields)
    scored(top, ltv=1000.0)
    for i in range(1, others + 1):
        adult(PLAYER + i)
        scored(PLAYER + i, ltv=100.0 - i)


def vip_ledger_sum(player_id: int = PLAYER) -> int:
    return LedgerEntry.objects.filter(player_id=player_id, kind="GRANT").aggregate(s=Sum("amount"))["s"] or 0


def test_the_top_decile_non_whale_adult_gets_the_badge_and_the_reward_once_with_its_ledger_row():
    # given ten scored players, PLAYER the highest predicted LTV, a verified adult, High Engaged
    population(locale="en")
    UserSegment.objects.create(user_id=PLAYER, rfm_group="High Engaged")
    # when the awards are granted
    report = vip_awards_grant(as_of=AS_OF, now=NOW)
    # then PLAYER alone has the badge, and the reward is one GRANT row keyed once per player, in the balance
    award = VipAward.objects.get()
    entry = LedgerEntry.objects.get(player_id=PLAYER)
    assert (award.user_id, award.as_of, award.predicted_ltv, award.reward_tokens) == (PLAYER, AS_OF, 1000.0, VIP_TOKENS)
    assert (entry.kind, entry.amount, entry.idempotency_key, award.ledger_entry_id) == (
        "GRANT",
        VIP_TOKENS,
        vip_award_key(player_id=PLAYER),
        entry.id,
    )
    assert Wallet.objects.get(player_id=PLAYER).balance == VIP_TOKENS == entry.balance_after
    assert UserReward.objects.filter(user_id=PLAYER, reward_type="vip_award", reward_value=VIP_TOKENS).count() == 1
    assert not LedgerEntry.objects.exclude(player_id=PLAYER).exists()
    # and a fact-only marketing push in the player's locale says the same number
    push = Notification.objects.get(user_id=PLAYER, type="VIP_AWARD")
    assert push.kind == "marketing" and push.message == text_render("VIP_AWARD", "en", reward_tokens=VIP_TOKENS)
    assert report.as_dict() == {
        "as_of": "2026-11-20",
        "scored": 10,
        "top_decile": 1,
        "whales": 0,
        "already_awarded": 0,
        "held_back": {},
        "awarded": 1,
        "tokens_granted": VIP_TOKENS,
    }


def test_the_top_decile_counts_only_players_with_a_predicted_ltv_above_zero():
    # given 20 players scored, 10 of them with a predicted LTV of 0
    population()
    for i in range(10, 20):
        adult(PLAYER + i)
        scored(PLAYER + i, ltv=0.0)
    # when the awards are granted
    report = vip_awards_grant(as_of=AS_OF, now=NOW)
    # then the decile is a tenth of the ten above zero: one player
    assert (report.scored, report.top_decile, report.awarded) == (10, 1, 1)


def test_a_whale_gets_no_vip_award():
    # given the top player already in the Whale group
    population()
    UserSegment.objects.create(user_id=PLAYER, rfm_group="Whale")
    # when the awards are granted
    report = vip_awards_grant(as_of=AS_OF, now=NOW)
    # then nothing is granted, and the next player down does not take the place
    assert report.whales == 1 and report.awarded == 0
    assert not VipAward.objects.exists() and not LedgerEntry.objects.exists()


def _protected_top(arrange: Callable[[int], None]) -> Callable[[], None]:
    def given() -> None:
        population()
        arrange(PLAYER)

    return given


VIP_REFUSED: dict[str, tuple[Callable[[], None], str]] = {
    **{state: (_protected_top(arrange), reason) for state, (arrange, reason) in PROTECTED.items()},
    "under 19 (19 tomorrow)": (lambda: population(birth_date=dt.date(2007, 11, 21)), "under_age"),
    "unverified age": (lambda: population(age_verified=False), "age_unverified"),
    "no birth date": (lambda: population(birth_date=None), "age_unverified"),
}


@pytest.mark.parametrize("state", list(VIP_REFUSED))
def test_no_vip_award_for_a_protected_under_19_or_unverified_player(state):
    # given the top player in that state
    arrange, reason = VIP_REFUSED[state]
    arrange()
    # when the awards are granted
    report = vip_awards_grant(as_of=AS_OF, now=NOW)
    # then nothing is written for anyone: no badge, no ledger row, no reward, no push; the reason is counted
    assert report.held_back == {reason: 1} and report.awarded == 0
    assert not VipAward.objects.exists() and vip_ledger_sum() == 0 and not LedgerEntry.objects.exists()
    assert not UserReward.objects.exists()
    assert not Notification.objects.filter(type="VIP_AWARD").exists()


def test_a_player_19_today_on_the_business_calendar_gets_the_award():
    # given the top player's 19th birthday is today (business timezone)
    population(birth_date=dt.date(2007, 11, 20))
    # when the awards are granted
    report = vip_awards_grant(as_of=AS_OF, now=NOW)
    # then they are an adult today
    assert report.awarded == 1 and vip_ledger_sum() == VIP_TOKENS


def test_a_re_run_or_a_later_date_grants_nothing_twice():
    # given the award granted as of AS_OF
    population()
    vip_awards_grant(as_of=AS_OF, now=NOW)
    later = AS_OF + dt.timedelta(days=1)
    for i in range(10):
        scored(PLAYER + i, later, ltv=1000.0 - i)
    # when the job runs again for the same date, and the next day with the player still on top
    again = vip_awards_grant(as_of=AS_OF, now=NOW)
    next_day = vip_awards_grant(as_of=later, now=noon(later))
    # then the ledger holds one reward: one badge, ever
    assert (again.already_awarded, again.awarded, next_day.already_awarded, next_day.awarded) == (1, 0, 1, 0)
    assert vip_ledger_sum() == VIP_TOKENS and VipAward.objects.count() == 1
    assert Wallet.objects.get(player_id=PLAYER).balance == VIP_TOKENS


def test_a_changed_reward_setting_does_not_grant_a_second_reward(settings):
    # given the award granted, its badge row gone (as if lost) and the reward setting raised since
    population()
    vip_awards_grant(as_of=AS_OF, now=NOW)
    VipAward.objects.all().delete()
    settings.PREDICTIONS_VIP_REWARD_TOKENS = 900
    # when the job runs again
    report = vip_awards_grant(as_of=AS_OF, now=NOW)
    # then the ledger's key still says it was paid: nothing more
    assert report.already_awarded == 1 and vip_ledger_sum() == VIP_TOKENS


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_grant_the_award_once():
    skip_unless_postgresql()
    # given a whale candidate
    population()
    # when eight runs go at once
    reports = run_concurrently([lambda: vip_awards_grant(as_of=AS_OF, now=NOW)] * 8, threads=8)
    # then one award: the ledger's sum is one reward, one badge, one reward row
    assert not [r for r in reports if isinstance(r, Exception)]
    assert sum(r.awarded for r in reports) == 1 and sum(r.already_awarded for r in reports) == 7
    assert vip_ledger_sum() == VIP_TOKENS and LedgerEntry.objects.filter(player_id=PLAYER).count() == 1
    assert VipAward.objects.count() == 1 and UserReward.objects.filter(user_id=PLAYER).count() == 1
    assert Wallet.objects.get(player_id=PLAYER).balance == VIP_TOKENS
