"""UserService (spec 2.8): segment creation and reads in one place."""

from __future__ import annotations

import pytest

from core.exceptions import InvalidInput, NotFound
from segments.models import SegmentHistory, UserSegment
from segments.services import UserService
from tests.segments.helpers import D, history, player, run

pytestmark = pytest.mark.django_db


def test_get_or_create_segment_makes_a_low_row_not_yet_computed_for_a_known_player():
    # given a known player without a segment
    uid = player()
    # when the segment is asked for twice
    first = UserService.get_or_create_segment(uid)
    second = UserService.get_or_create_segment(uid)
    # then one Low row exists with empty inputs and no as-of date, and both answers are it
    assert UserSegment.objects.filter(user_id=uid).count() == 1
    assert (first.rfm_group, first.as_of, first.recency_days, first.frequency, first.risk_profile) == (
        "Low",
        None,
        None,
        0,
        None,
    )
    assert second.pk == first.pk


def test_get_or_create_segment_returns_the_computed_row():
    uid = player()
    history(uid, r=1, f=30, m=10_000)
    run()
    segment = UserService.get_or_create_segment(uid)
    assert (segment.rfm_group, segment.as_of, segment.frequency) == ("Whale", D, 30)


def test_get_or_create_segment_of_an_unknown_player_is_not_found():
    with pytest.raises(NotFound):
        UserService.get_or_create_segment(987_654_321)
    assert not UserSegment.objects.exists()


def test_set_risk_profile_creates_or_updates_and_validates():
    # given a known player without a segment
    uid = player()
    # when the quiz sets a risk profile, then changes it
    UserService.set_risk_profile(player_id=uid, risk_profile="Low-Risk")
    updated = UserService.set_risk_profile(player_id=uid, risk_profile="High-Risk")
    # then the row holds the last one; an unknown value is refused
    assert updated.risk_profile == "High-Risk"
    with pytest.raises(InvalidInput):
        UserService.set_risk_profile(player_id=uid, risk_profile="Reckless")
    assert UserSegment.objects.get(user_id=uid).risk_profile == "High-Risk"


def test_risk_profile_record_is_one_statement_that_makes_or_updates_the_row_and_keeps_the_group(
    django_assert_num_queries,
):
    # given a computed Whale, and a known player without a segment (seen after the batch)
    whale = player()
    history(whale, r=1, f=30, m=10_000)
    run()
    new = player()
    # when the quiz records their profiles, each in one statement
    with django_assert_num_queries(1):
        UserService.risk_profile_record(player_id=new, risk_profile="Low-Risk")
    with django_assert_num_queries(1):
        UserService.risk_profile_record(player_id=whale, risk_profile="High-Risk")
    # then the new player has the row get_or_create_segment would make, with the profile; the Whale keeps the
    # batch's figures
    made = UserSegment.objects.get(user_id=new)
    assert (made.rfm_group, made.as_of, made.risk_profile) == ("Low", None, "Low-Risk")
    kept = UserSegment.objects.get(user_id=whale)
    assert (kept.rfm_group, kept.as_of, kept.frequency, kept.risk_profile) == ("Whale", D, 30, "High-Risk")
    with pytest.raises(InvalidInput):
        UserService.risk_profile_record(player_id=new, risk_profile="Reckless")


def test_history_and_distribution():
    # given two computed players
    whale, low = player(), player()
    history(whale, r=1, f=30, m=10_000)
    history(low, r=20, f=1)
    run()
    # when their history and the distribution are read
    # then each has their first group and the distribution names every group
    assert [h.to_group for h in UserService.segment_history(player_id=whale)] == ["Whale"]
    assert isinstance(UserService.segment_history(player_id=low)[0], SegmentHistory)
    assert UserService.distribution() == {"Low": 1, "Medium": 0, "High Engaged": 0, "Whale": 1}
