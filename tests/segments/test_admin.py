"""The segments admin: view-only computed rows with filters and the distribution; rules edited with a change log."""

from __future__ import annotations

import pytest
from django.test import Client

from segments.models import SegmentRule, SegmentRuleChange, UserSegment
from tests import factories
from tests.segments.helpers import history, player, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(factories.make_staff_user(username="ops-lee"))
    return client


@pytest.fixture
def computed() -> tuple[int, int]:
    whale, low = player(), player()
    history(whale, r=1, f=30, m=10_000)
    history(low, r=20, f=2)
    run()
    return whale, low


def test_segment_list_shows_the_distribution_and_filters_by_group(staff, computed):
    whale, _ = computed
    # when staff open the list, then filter it to Whales
    page = staff.get("/admin/segments/usersegment/")
    filtered = staff.get("/admin/segments/usersegment/?rfm_group__exact=Whale")
    # then the distribution of the last run is shown, and the filter keeps the Whale only
    assert page.status_code == 200
    assert page.context["distribution"] == [
        ("Whale", 1, 50.0),
        ("High Engaged", 0, 0.0),
        ("Medium", 0, 0.0),
        ("Low", 1, 50.0),
    ]
    assert b"segment-distribution" in page.content
    assert [s.user_id for s in filtered.context["cl"].result_list] == [whale]


def test_segment_filters_by_risk_profile_and_as_of(staff, computed):
    for query in ("risk_profile__isnull=True", "as_of__gte=2026-03-01"):
        assert staff.get(f"/admin/segments/usersegment/?{query}").status_code == 200


def test_a_players_page_shows_their_history_and_cannot_be_edited(staff, computed):
    whale, _ = computed
    page = staff.get(f"/admin/segments/usersegment/{whale}/change/")
    assert page.status_code == 200
    assert b"Segment history (newest first)" in page.content and b"<td>-</td><td>Whale</td>" in page.content
    refused = staff.post(f"/admin/segments/usersegment/{whale}/change/", {"rfm_group": "Low"})
    assert refused.status_code == 403
    assert UserSegment.objects.get(user_id=whale).rfm_group == "Whale"
    history_list = staff.get(f"/admin/segments/segmenthistory/?user__id__exact={whale}")
    assert [h.user_id for h in history_list.context["cl"].result_list] == [whale]


def test_editing_a_rule_in_the_admin_records_who_changed_what(staff):
    # given the Whale rule
    rule = SegmentRule.objects.get(group="Whale")
    form = {
        f: ("" if getattr(rule, f) is None else getattr(rule, f))
        for f in (
            "position",
            "min_recency_days",
            "max_recency_days",
            "min_frequency",
            "max_frequency",
            "min_monetary",
            "max_monetary",
            "min_balance",
            "min_corporate_visits",
            "max_corporate_visits",
            "upgrade_reward_tokens",
        )
    }
    form.update(
        {"enabled": "on", "require_min_balance": "on", "changes-TOTAL_FORMS": "0", "changes-INITIAL_FORMS": "0"}
    )
    # when staff switch the minimum balance condition on
    response = staff.post(f"/admin/segments/segmentrule/{rule.id}/change/", form)
    # then it is saved, and the change log names them and the field
    assert response.status_code == 302, response.content[:2000]
    rule.refresh_from_db()
    assert rule.require_min_balance is True
    change = SegmentRuleChange.objects.get()
    assert (change.changed_by, change.changes) == ("ops-lee", {"require_min_balance": [False, True]})


def test_an_inconsistent_rule_is_refused(staff):
    rule = SegmentRule.objects.get(group="Medium")
    form = {
        "position": 3,
        "enabled": "on",
        "min_frequency": 20,
        "max_frequency": 10,
        "upgrade_reward_tokens": 1,
        "changes-TOTAL_FORMS": "0",
        "changes-INITIAL_FORMS": "0",
    }
    response = staff.post(f"/admin/segments/segmentrule/{rule.id}/change/", form)
    assert response.status_code == 200  # the form again, with the error
    assert not SegmentRuleChange.objects.exists()
    assert SegmentRule.objects.get(id=rule.id).max_frequency == 14


def test_rules_cannot_be_added_or_deleted(staff):
    rule = SegmentRule.objects.get(group="Medium")
    assert staff.get("/admin/segments/segmentrule/add/").status_code == 403
    assert staff.post(f"/admin/segments/segmentrule/{rule.id}/delete/", {"post": "yes"}).status_code == 403


def test_runs_are_listed(staff, computed):
    page = staff.get("/admin/segments/segmentrun/")
    assert page.status_code == 200 and len(page.context["cl"].result_list) == 1
