"""Staff cannot weaken a player's safeguards in the admin: the protection admin is read-only, and a player whose
cool-off or self-exclusion is in force cannot be deleted (which would delete the safeguard with them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib import admin as django_admin
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.utils import timezone

from players.models import Player, PlayerProtection
from tests import factories

pytestmark = pytest.mark.django_db


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


def test_staff_see_the_monthly_purchase_limit_and_its_pending_raise_read_only(staff):
    # given a player with a monthly purchase limit of 5,000 tokens and a raise to 9,000 waiting
    player = factories.make_player()
    PlayerProtection.objects.create(
        player=player,
        monthly_purchase_limit=5_000,
        pending_monthly_purchase_limit=9_000,
        pending_monthly_purchase_effective_at=timezone.now() + dt.timedelta(hours=20),
    )
    # when staff open the list and the row
    listing = staff.get("/admin/players/playerprotection/")
    page = staff.get(f"/admin/players/playerprotection/{player.pk}/change/")
    # then both show the limit, the row its pending raise, and the row has no form field to change them
    assert listing.status_code == page.status_code == 200
    assert "monthly_purchase_limit" in listing.content.decode()
    content = page.content.decode()
    assert "5,000" in content or "5000" in content
    assert "9,000" in content or "9000" in content
    assert 'name="monthly_purchase_limit"' not in content


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


def test_staff_cannot_shorten_a_self_exclusion(staff, excluded):
    # given a self-excluded player
    before = PlayerProtection.objects.filter(pk=excluded.pk).values().get()
    shorter = timezone.now() + dt.timedelta(days=1)
    # when staff post a shorter exclusion and no cool-off to its change page
    response = staff.post(
        f"/admin/players/playerprotection/{excluded.pk}/change/",
        {
            "player": excluded.pk,
            "self_excluded_until_0": shorter.date().isoformat(),
            "self_excluded_until_1": shorter.time().strftime("%H:%M:%S"),
            "cool_off_until_0": "",
            "cool_off_until_1": "",
        },
    )
    # then it is refused and the row is as it was
    assert response.status_code == 403
    assert PlayerProtection.objects.filter(pk=excluded.pk).values().get() == before


# --- deleting a player ---------------------------------------------------------------------------------------

PAUSES = [
    pytest.param({"self_excluded_until": dt.timedelta(days=200)}, id="self-excluded"),
    pytest.param({"cool_off_until": dt.timedelta(days=2)}, id="cooling-off"),
]
CHANGELIST = "/admin/players/player/"


def player_with(**protection: dt.timedelta) -> Player:
    """A player with the given safeguards, each ending that long from now (a negative length: ended)."""
    player = factories.make_player()
    now = timezone.now()
    PlayerProtection.objects.create(player=player, **{field: now + length for field, length in protection.items()})
    return player


def delete_url(player: Player) -> str:
    return f"/admin/players/player/{player.pk}/delete/"


def bulk_delete(client: Client, players: list[Player], *, confirm: bool) -> Any:
    data: dict[str, Any] = {"action": "delete_selected", "_selected_action": [p.pk for p in players]}
    if confirm:
        data["post"] = "yes"
    return client.post(CHANGELIST, data, follow=confirm)


def protection_kept(player: Player, protection: dict[str, dt.timedelta]) -> bool:
    row = PlayerProtection.objects.filter(player_id=player.pk).values(*protection).first()
    return Player.objects.filter(pk=player.pk).exists() and row is not None and all(row.values())


@pytest.mark.parametrize("pause", PAUSES)
def test_staff_cannot_delete_a_player_whose_pause_is_in_force(staff, pause):
    # given a self-excluded or cooling-off player
    player = player_with(**pause)
    # when staff open the player's delete page, and post its confirmation anyway
    page = staff.get(delete_url(player))
    response = staff.post(delete_url(player), {"post": "yes"})
    # then both are refused, and the player and their safeguard stand
    assert (page.status_code, response.status_code) == (403, 403)
    assert protection_kept(player, pause)


@pytest.mark.parametrize("pause", PAUSES)
def test_bulk_delete_leaves_out_a_player_whose_pause_is_in_force_and_says_so(staff, pause):
    # given a self-excluded or cooling-off player, and one whose self-exclusion ended yesterday
    paused = player_with(**pause)
    ended = player_with(self_excluded_until=-dt.timedelta(days=1))
    # when staff select both for "Delete selected players"
    confirmation = bulk_delete(staff, [paused, ended], confirm=False)
    # then the confirmation page offers only the other player, and names the one left out
    assert confirmation.status_code == 200
    assert list(confirmation.context["queryset"]) == [ended]
    assert f"Not deleted: for player {paused.pk}" in confirmation.content.decode()
    # and when they confirm with both still selected
    response = bulk_delete(staff, [paused, ended], confirm=True)
    # then only the other player is deleted, and the change list says why the first was not
    assert response.status_code == 200
    assert f"Not deleted: for player {paused.pk}" in response.content.decode()
    assert not Player.objects.filter(pk=ended.pk).exists()
    assert protection_kept(paused, pause)


def test_staff_can_delete_a_player_whose_self_exclusion_ended(staff):
    # given a player whose self-exclusion ended yesterday
    player = player_with(self_excluded_until=-dt.timedelta(days=1))
    # when staff delete the player
    response = staff.post(delete_url(player), {"post": "yes"})
    # then the player goes, and their ended settings with them
    assert response.status_code == 302
    assert not Player.objects.filter(pk=player.pk).exists()
    assert not PlayerProtection.objects.filter(player_id=player.pk).exists()


@pytest.mark.parametrize("pause", PAUSES)
def test_a_deletion_that_reaches_the_database_is_refused_for_a_player_whose_pause_is_in_force(pause):
    # given a player who started a pause after staff were shown the confirmation page
    player = player_with(**pause)
    model_admin = django_admin.site._registry[Player]
    request = RequestFactory().post(CHANGELIST)
    request.user = factories.make_staff_user()
    # when the admin's deletion runs for them, alone or in a selection
    for delete in (
        lambda: model_admin.delete_model(request, player),
        lambda: model_admin.delete_queryset(request, Player.objects.filter(pk=player.pk)),
    ):
        with pytest.raises(PermissionDenied):
            delete()
    # then it is refused, and the player and their safeguard stand
    assert protection_kept(player, pause)
