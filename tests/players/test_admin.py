"""The protection admin is read-only: staff cannot lift a player's self-exclusion behind the API's rules."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from players.models import PlayerProtection
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff() -> Client:
    client = Client()
    client.force_login(factories.make_staff_user())
    return client


@pytest.fixture
def excluded() -> PlayerProtection:
    player = factories.make_player()
    return PlayerProtection.objects.create(player=player, self_excluded_until=timezone.now() + dt.timedelta(days=200))


def test_staff_can_view_a_protection(staff, excluded):
    # given a self-excluded player
    # when staff open their protection in the admin
    response = staff.get(f"/admin/players/playerprotection/{excluded.pk}/change/")
    # then it is shown
    assert response.status_code == 200


def test_staff_cannot_delete_a_protection(staff, excluded):
    # given a self-excluded player
    # when staff try to delete the protection row
    response = staff.post(f"/admin/players/playerprotection/{excluded.pk}/delete/", {"post": "yes"})
    # then it is refused and the exclusion stands
    assert response.status_code == 403
    assert PlayerProtection.objects.get(pk=excluded.pk).self_excluded_until == excluded.self_excluded_until


def test_staff_cannot_add_a_protection(staff):
    # given a player without protection settings
    player = factories.make_player()
    # when staff try to add settings for them
    response = staff.post("/admin/players/playerprotection/add/", {"player": player.pk, "daily_spend_limit": 1})
    # then it is refused and nothing is written
    assert response.status_code == 403
    assert not PlayerProtection.objects.filter(player=player).exists()
