"""Upgrade rewards (spec 2.2.3): a rise pays the configured reward once; a fall or a first group pays nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from activity.models import UserReward
from notifications.models import Notification
from segments import services
from segments.models import SegmentHistory, SegmentRule, SegmentRun, SegmentRunRange
from segments.services import UserService
from tests import factories
from tests.segments.helpers import D, history, kst, player, run, segment
from wallet.models import LedgerEntry

pytestmark = pytest.mark.django_db

NEXT_DAY = D + dt.timedelta(days=1)


def _medium_then_high_engaged(**player_fields: object) -> int:
    """A player who is Medium as of D (R 2, F 12, M 500) and High Engaged as of the next day
    (6 more actions on D, one a spend of 1,600: R 1, F 18, M 2,100)."""
    uid = player(**player_fields)
    history(uid, r=2, f=12, m=500)
    factories.make_actions(user_id=uid, at=[kst(D, 10 + i) for i in range(5)])
    factories.make_actions(
        user_id=uid, at=[kst(D, 18)], action_type="SPEND_CYBER_TOKENS", spent_tokens=1_600, game="Roulette"
    )
    return uid


def _paid(uid: int) -> tuple[int, int, int]:
    """(grant ledger rows, user_rewards rows, upgrade notifications) of a player."""
    return (
        LedgerEntry.objects.filter(player_id=uid, kind=LedgerEntry.Kind.GRANT).count(),
        UserReward.objects.filter(user_id=uid, reward_type="segment_upgrade").count(),
        Notification.objects.filter(user_id=uid, type="SEGMENT_UPGRADE").count(),
    )


def test_a_rise_pays_the_configured_reward_once_across_reruns():
    # given a player Medium as of D (their first group) and High Engaged the next day
    uid = _medium_then_high_engaged(locale="en")
    run(pay_rewards=True)
    first_group = _paid(uid)
    # when the next day's batch runs, then runs again for the same date
    rose = run(as_of=NEXT_DAY, pay_rewards=True)
    again = run(as_of=NEXT_DAY, pay_rewards=True)
    # then the first group paid nothing; the rise paid High Engaged's 300 tokens once: one ledger row under the
    # player-group-date key, one user_rewards row, one push in English saying the same 300
    assert first_group == (0, 0, 0)
    assert _paid(uid) == (1, 1, 1)
    grant = LedgerEntry.objects.get(player_id=uid, kind=LedgerEntry.Kind.GRANT)
    assert (grant.amount, grant.idempotency_key) == (300, f"rfm-upgrade:{uid}:High Engaged:{NEXT_DAY.isoformat()}")
    reward = UserReward.objects.get(user_id=uid)
    assert (reward.reward_value, reward.trigger_action_id) == (300, grant.action_id)
    push = Notification.objects.get(user_id=uid, type="SEGMENT_UPGRADE")
    assert push.message == "Your tier is now High Engaged: 300 cyber tokens have been added to your balance."
    assert (push.payload["reward_tokens"], push.payload["rfm_group"], push.kind) == (300, "High Engaged", "marketing")
    row = SegmentHistory.objects.get(user_id=uid, as_of=NEXT_DAY)
    assert (row.from_group, row.to_group, row.reward_state, row.user_reward_id) == (
        "Medium",
        "High Engaged",
        "paid",
        reward.id,
    )
    assert (rose.rises, rose.rewards_paid, again.rises, again.rewards_paid) == (1, 1, 0, 0)


def test_the_message_is_in_the_players_locale_and_says_the_granted_number():
    # given a Korean player about to rise, and High Engaged's reward set to 777 by an operator
    uid = _medium_then_high_engaged(locale="ko")
    rule = SegmentRule.objects.get(group="High Engaged")
    services.segment_rule_update(rule_id=rule.id, changes={"upgrade_reward_tokens": 777}, actor="ops")
    run(pay_rewards=True)
    # when the rise is paid
    run(as_of=NEXT_DAY, pay_rewards=True)
    # then 777 is granted and the Korean push says 777
    assert LedgerEntry.objects.get(player_id=uid, kind=LedgerEntry.Kind.GRANT).amount == 777
    push = Notification.objects.get(user_id=uid, type="SEGMENT_UPGRADE")
    assert push.message == "등급이 High Engaged(으)로 올랐습니다. 보상으로 777 사이버 토큰이 지급되었습니다."


def test_a_worker_crash_after_the_change_leaves_the_reward_pending_and_the_next_run_pays_it_once():
    # given the rise applied by a range that crashed before paying (its run left running)
    uid = _medium_then_high_engaged()
    run(pay_rewards=True)
    crashed = services.segment_run_start(as_of=NEXT_DAY, pay_rewards=True)
    for range_id in services.segment_run_stage(run_id=crashed.id):
        services.segment_range_apply(range_id=range_id)
    pending = _paid(uid)
    # when the crashed run has made no progress for longer than the limit and the batch runs again for the same
    # date, twice
    long_ago = timezone.now() - dt.timedelta(hours=7)
    SegmentRun.objects.filter(id=crashed.id).update(started_at=long_ago)
    SegmentRunRange.objects.filter(run_id=crashed.id).update(applied_at=long_ago)
    run(as_of=NEXT_DAY, pay_rewards=True)
    run(as_of=NEXT_DAY, pay_rewards=True)
    # then nothing was paid before; the re-run (which changes no row) paid the pending rise, once
    assert pending == (0, 0, 0)
    assert _paid(uid) == (1, 1, 1)
    assert SegmentHistory.objects.get(user_id=uid, as_of=NEXT_DAY).reward_state == "paid"


def test_a_failure_while_paying_grants_nothing_and_a_retry_pays_once(monkeypatch):
    # given a pending rise and a push that fails once (after the wallet grant, in the same transaction)
    uid = _medium_then_high_engaged()
    run(pay_rewards=True)
    started = services.segment_run_start(as_of=NEXT_DAY, pay_rewards=True)
    range_ids = services.segment_run_stage(run_id=started.id)
    for range_id in range_ids:
        services.segment_range_apply(range_id=range_id)
    real = services.notification_create
    calls = {"n": 0}

    def flaky(**kwargs: object) -> Notification:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("push outbox unavailable")
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(services, "notification_create", flaky)
    # when paying fails, then the range task's retry pays
    with pytest.raises(ConnectionError):
        services.segment_rewards_pay()
    after_failure = _paid(uid)
    for range_id in range_ids:
        services.segment_range_process(range_id=range_id)
        services.segment_range_process(range_id=range_id)
    # then the failure left no grant behind, and the retries paid exactly once
    assert after_failure == (0, 0, 0)
    assert _paid(uid) == (1, 1, 1)


def test_a_fall_pays_nothing():
    # given a player who is High Engaged as of D (R 1, F 20, M 3,000) and Low as of 10 days later (R 11)
    uid = player()
    history(uid, r=1, f=20, m=3_000)
    run(pay_rewards=True)
    # when the later batch runs
    run(as_of=D + dt.timedelta(days=10), pay_rewards=True)
    # then the fall is recorded and nothing is paid
    assert list(
        SegmentHistory.objects.filter(user_id=uid).order_by("id").values_list("from_group", "to_group", "reward_state")
    ) == [(None, "High Engaged", "none"), ("High Engaged", "Low", "none")]
    assert _paid(uid) == (0, 0, 0)


def test_a_first_group_pays_nothing_even_after_a_placeholder_row():
    # given a Whale-level player who was read through the API before any batch (a Low placeholder row),
    # and another Whale-level player never seen before
    read_first, fresh = player(), player()
    for uid in (read_first, fresh):
        history(uid, r=1, f=30, m=10_000)
    UserService.get_or_create_segment(read_first)
    # when the first batch runs (a first deployment), paying rewards
    result = run(pay_rewards=True)
    # then both are Whales from no previous group, and nobody is paid
    assert [segment(u).rfm_group for u in (read_first, fresh)] == ["Whale", "Whale"]
    assert set(SegmentHistory.objects.values_list("from_group", flat=True)) == {None}
    assert (_paid(read_first), _paid(fresh), result.rises) == ((0, 0, 0), (0, 0, 0), 0)


def test_a_dormant_players_first_row_pays_nothing_nor_do_the_nights_after():
    # given a player with only actions long before the window and no segment row (brought in by an import, say)
    history(player(), r=1, f=3)
    dormant = player()
    factories.make_actions(user_id=dormant, at=[kst(D - dt.timedelta(days=90))])
    # when the batch runs for D, then for the next day (incremental), paying rewards
    first = run(pay_rewards=True)
    nightly = run(as_of=NEXT_DAY, pay_rewards=True)
    # then the dormant player's first group (Low, from none) is recorded, R moves on, and nothing is paid
    assert list(
        SegmentHistory.objects.filter(user_id=dormant).values_list("as_of", "from_group", "to_group", "reward_state")
    ) == [(D, None, "Low", "none")]
    assert (segment(dormant).recency_days, nightly.mode) == (91, "incremental")
    assert _paid(dormant) == (0, 0, 0)
    assert (first.rises, first.rewards_paid, nightly.rises, nightly.rewards_paid) == (0, 0, 0, 0)


def test_a_backfill_records_rises_without_paying():
    # given a player who rises the next day
    uid = _medium_then_high_engaged()
    # when both days run as past dates (the default for a date before today: a backfill)
    run(pay_rewards=None)
    run(as_of=NEXT_DAY, pay_rewards=None)
    # then the rise is in the history, unpaid
    assert SegmentHistory.objects.get(user_id=uid, as_of=NEXT_DAY).reward_state == "none"
    assert _paid(uid) == (0, 0, 0)


def test_a_rise_of_two_tiers_pays_the_reached_groups_reward_once():
    # given a player Medium as of D who is a Whale the next day
    uid = player()
    history(uid, r=2, f=12, m=500)
    run(pay_rewards=True)
    factories.make_actions(user_id=uid, at=[kst(D, 8, i) for i in range(17)])
    factories.make_actions(
        user_id=uid, at=[kst(D, 23)], action_type="SPEND_CYBER_TOKENS", spent_tokens=9_600, game="Roulette"
    )
    # when the next day's batch runs
    run(as_of=NEXT_DAY, pay_rewards=True)
    # then one reward, the Whale's 1,000
    assert segment(uid).rfm_group == "Whale"
    assert list(LedgerEntry.objects.filter(player_id=uid, kind="GRANT").values_list("amount", flat=True)) == [1_000]


def test_the_same_rise_again_on_the_same_day_after_a_rule_change_is_not_paid_twice():
    # given a rise to High Engaged paid as of the next day
    uid = _medium_then_high_engaged()
    run(pay_rewards=True)
    run(as_of=NEXT_DAY, pay_rewards=True)
    rule = SegmentRule.objects.get(group="High Engaged")
    # when an operator disables High Engaged and re-runs the day (a fall to Low: F 18 is past Medium's 14), then
    # enables it with a bigger reward
    # and re-runs again (the same rise, the same day)
    services.segment_rule_update(rule_id=rule.id, changes={"enabled": False}, actor="ops")
    run(as_of=NEXT_DAY, pay_rewards=True)
    services.segment_rule_update(rule_id=rule.id, changes={"enabled": True, "upgrade_reward_tokens": 900}, actor="ops")
    run(as_of=NEXT_DAY, pay_rewards=True)
    # then the player is High Engaged again, the second rise is recorded as already paid, and one grant stands
    states = list(
        SegmentHistory.objects.filter(user_id=uid, as_of=NEXT_DAY)
        .order_by("id")
        .values_list("to_group", "reward_state")
    )
    assert states == [("High Engaged", "paid"), ("Low", "none"), ("High Engaged", "skipped")]
    assert _paid(uid) == (1, 1, 1)
