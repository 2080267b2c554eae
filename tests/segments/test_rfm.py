"""R, F, M and the group against hand-computed cases at every threshold edge (design brief section 4), each
computed by a full run and by incremental runs.

As of D = 2026-03-10 (Asia/Seoul), the window is [2026-02-08 00:00 KST, 2026-03-10 00:00 KST) =
[2026-02-07 15:00 UTC, 2026-03-09 15:00 UTC). The default rules are the spec's CASE:
Whale (r<=2, f>=30, m>=10000), High Engaged (r<=5, f>=15, m>=2000),
Medium (r<=15, 5<=f<=14, 100<=m<=1999), else Low.
"""

from __future__ import annotations

import pytest

from segments.models import SegmentRule
from segments.services import UserService
from tests import factories
from tests.segments.helpers import D, days_before, fund, history, incremental_after, player, run, segment, utc

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=[None, 1, 3], ids=["full", "incremental-1-day", "incremental-3-days"])
def _mode(request: pytest.FixtureRequest):
    """Each case three times: the first run full; incremental after a run the day before; after one 3 days before
    (two more days entering and leaving the window)."""
    with incremental_after(request.param):
        yield


EDGES = [
    # (case, R, F, M, expected group)
    ("whale at every bound", 2, 30, 10_000, "Whale"),
    ("whale but r 3", 3, 30, 10_000, "High Engaged"),
    ("whale but f 29", 2, 29, 10_000, "High Engaged"),
    ("whale but m 9,999", 2, 30, 9_999, "High Engaged"),
    ("high engaged at every bound", 5, 15, 2_000, "High Engaged"),
    ("high engaged but r 6", 6, 15, 2_000, "Low"),
    ("high engaged but f 14", 5, 14, 2_000, "Low"),
    ("high engaged but m 1,999", 5, 15, 1_999, "Low"),
    ("medium at the lower bounds", 15, 5, 100, "Medium"),
    ("medium at the upper bounds", 15, 14, 1_999, "Medium"),
    ("medium but r 16", 16, 5, 100, "Low"),
    ("medium but f 4", 15, 4, 100, "Low"),
    ("medium but m 99", 15, 5, 99, "Low"),
    ("medium with r 1", 1, 14, 1_999, "Medium"),
    ("actions but no spend", 1, 40, 0, "Low"),
]


@pytest.mark.parametrize(("case", "r", "f", "m", "group"), EDGES, ids=[e[0] for e in EDGES])
def test_group_at_each_threshold_edge(case, r, f, m, group):
    # given a player whose stored actions give exactly R, F and M as of D
    uid = player()
    history(uid, r=r, f=f, m=m)
    # when the batch runs for D
    run()
    # then the row holds those R, F, M and the group the spec's CASE gives them
    row = segment(uid)
    assert (row.recency_days, row.frequency, row.monetary, row.rfm_group) == (r, f, m, group)
    assert row.as_of == D


def test_player_without_any_action_is_low_with_no_recency():
    # given a known player with a segment row (made on first read) and no action at all
    uid = player()
    UserService.get_or_create_segment(uid)
    # when the batch runs
    run()
    # then R is null, F and M are 0, the group Low, and the row is computed as of D
    row = segment(uid)
    assert (row.recency_days, row.frequency, row.monetary, row.rfm_group, row.as_of) == (None, 0, 0, "Low", D)


def test_actions_only_before_the_window_give_recency_from_the_last_one():
    # given a player with a segment row whose actions are all before the window (31 and 45 days before D)
    uid = player()
    UserService.get_or_create_segment(uid)
    factories.make_actions(user_id=uid, at=[days_before(45), days_before(31)])
    # when the batch runs
    run()
    # then R counts from the last of them; nothing falls in the window
    row = segment(uid)
    assert (row.recency_days, row.frequency, row.monetary, row.rfm_group) == (31, 0, 0, "Low")


def test_a_player_with_only_actions_older_than_the_window_has_r_from_the_last_one():
    # given a player without a segment row (never read, never computed: brought in by an import, say) whose
    # actions are all older than the window: 61 and 40 days before D
    uid = player()
    factories.make_actions(user_id=uid, at=[days_before(61), days_before(40)])
    # when the batch runs
    result = run()
    # then the player has a row as of D, with R the days since the last of them, nothing in the window, Low
    row = segment(uid)
    assert (row.as_of, row.recency_days, row.frequency, row.monetary, row.rfm_group) == (D, 40, 0, 0, "Low")
    assert row.last_action_at == days_before(40)
    assert result.status == "done"


def test_a_player_whose_actions_are_only_outside_the_window_has_r_from_those_before_it():
    # given a player without a segment row whose actions are before the window and at or after D
    uid = player()
    factories.make_actions(user_id=uid, at=[days_before(40), utc(2026, 3, 9, 15, 0, 0), utc(2026, 3, 12)])
    # when the batch runs
    run()
    # then R counts from the last action before D; the actions at or after D count for nothing
    row = segment(uid)
    assert (row.as_of, row.recency_days, row.frequency, row.rfm_group) == (D, 40, 0, "Low")


def test_a_player_without_any_action_or_segment_row_is_low_with_no_recency():
    # given a players row and nothing else
    uid = player()
    # when the batch runs
    run()
    # then the player has a row as of D: R null, F and M 0, Low
    row = segment(uid)
    assert (row.as_of, row.recency_days, row.frequency, row.monetary, row.rfm_group) == (D, None, 0, 0, "Low")


@pytest.mark.parametrize(
    ("at", "in_window", "r"),
    [
        (utc(2026, 3, 9, 14, 59, 59), True, 1),  # 23:59:59 KST on Mar 9: the window's last second
        (utc(2026, 3, 9, 15, 0, 0), False, None),  # 00:00 KST on Mar 10 = D: after the window
        (utc(2026, 2, 7, 15, 0, 0), True, 30),  # 00:00 KST on Feb 8: the window's first instant
        (utc(2026, 2, 7, 14, 59, 59), False, 31),  # 23:59:59 KST on Feb 7: before the window
        (utc(2026, 3, 7, 16, 0, 0), True, 2),  # 01:00 KST on Mar 8 (still Mar 7 in UTC): R counts business days
        (utc(2026, 3, 7, 14, 59, 59), True, 3),  # 23:59:59 KST on Mar 7
    ],
    ids=["last-second", "D-midnight", "first-instant", "before-start", "utc-date-differs", "kst-day-end"],
)
def test_window_ends_and_recency_are_business_timezone_days(at, in_window, r):
    # given a player with a segment row and one action at a time near a business-day boundary
    uid = player()
    UserService.get_or_create_segment(uid)
    factories.make_actions(user_id=uid, at=[at])
    # when the batch runs for D
    run()
    # then the action counts in F only inside [D-30 00:00 KST, D 00:00 KST), and R is D minus its KST date
    row = segment(uid)
    assert row.frequency == (1 if in_window else 0)
    assert row.recency_days == r


def test_monetary_counts_the_windows_spends_and_unlocks_and_company_a_figures_are_kept():
    # given spends inside and outside the window, Company A and in-app earns, visits and other actions
    uid = player()
    factories.make_actions(
        user_id=uid,
        at=[days_before(3), days_before(10)],
        action_type="SPEND_CYBER_TOKENS",
        spent_tokens=700,
        game="Roulette",
    )
    factories.make_actions(
        user_id=uid, at=[days_before(31)], action_type="SPEND_CYBER_TOKENS", spent_tokens=5_000, game="Roulette"
    )
    factories.make_actions(
        user_id=uid, at=[days_before(4)], action_type="EARN_CYBER_TOKENS", earned_tokens=300, source="corporate"
    )
    factories.make_actions(
        user_id=uid, at=[days_before(5)], action_type="EARN_CYBER_TOKENS", earned_tokens=999, source="in_app"
    )
    factories.make_actions(
        user_id=uid,
        at=[days_before(2), days_before(6), days_before(40)],
        action_type="CORPORATE_VISIT",
        dwell_seconds=30,
        actions=["browse"],
    )
    factories.make_actions(
        user_id=uid, at=[days_before(1)], action_type="UNLOCK_CONTENT", content_id=1, stage=1, spent_tokens=50
    )
    fund(uid, 1_234)
    # when the batch runs
    run()
    # then M sums the window's spends, game buy-ins and the content unlock alike (1,400 + 50); Company A tokens and
    # visits are counted in the window
    row = segment(uid)
    assert row.monetary == 1_450
    assert row.corporate_tokens_30d == 300
    assert row.corporate_visits_30d == 2
    assert row.frequency == 7
    assert row.recency_days == 1
    assert row.balance == 1_234


def test_whale_minimum_balance_applies_once_switched_on():
    # given two Whale-level players, with balances 999 and 1,000
    poor, rich = player(), player()
    for uid, balance in ((poor, 999), (rich, 1_000)):
        history(uid, r=1, f=30, m=10_000)
        fund(uid, balance)
    # when the batch runs with the default rules, then with the minimum balance switched on
    run()
    before = (segment(poor).rfm_group, segment(rich).rfm_group)
    SegmentRule.objects.filter(group="Whale").update(require_min_balance=True)
    run(as_of=D.replace(day=11))
    # then both are Whales at first; with the condition on, only the one holding 1,000
    assert before == ("Whale", "Whale")
    assert (segment(poor).rfm_group, segment(rich).rfm_group) == ("High Engaged", "Whale")


def test_company_a_visits_per_month_apply_once_switched_on():
    # given two High Engaged players with 4 and 5 Company A visits in the window (the visits count in F too)
    four, five = player(), player()
    for uid, visits in ((four, 4), (five, 5)):
        history(uid, r=1, f=15, m=2_000)
        factories.make_actions(
            user_id=uid,
            at=[days_before(2 + i) for i in range(visits)],
            action_type="CORPORATE_VISIT",
            dwell_seconds=10,
            actions=[],
        )
    SegmentRule.objects.filter(group="High Engaged").update(require_corporate_visits=True)
    # when the batch runs
    run()
    # then only the player with 5 visits a month is High Engaged
    assert (segment(four).corporate_visits_30d, segment(five).corporate_visits_30d) == (4, 5)
    assert (segment(four).rfm_group, segment(five).rfm_group) == ("Low", "High Engaged")


def test_a_player_without_any_action_stays_low_whatever_the_rules_say():
    # given an operator's Medium rule with no bound but "at most 14 actions", and two players with rows:
    # one with no action at all, one with three actions
    SegmentRule.objects.filter(group="Medium").update(
        max_recency_days=None, min_frequency=None, min_monetary=None, max_monetary=None
    )
    idle, active = player(), player()
    UserService.get_or_create_segment(idle)
    history(active, r=20, f=3)
    # when the batch runs
    run()
    # then the player with actions is Medium, the one without any is Low (design brief section 4)
    assert (segment(active).rfm_group, segment(idle).rfm_group) == ("Medium", "Low")
