"""Erasing a player (``players.services.player_erase`` and its admin action): the personal data goes, the player's
safeguards stay, and every part of the product that reads them still sees them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from core.exceptions import NotFound
from players import services
from players.models import Player, PlayerProtection
from recommendations.engine import SELF_EXCLUSION
from recommendations.selectors import recommendation_context
from tests import factories
from tests.wallet.helpers import fund
from wallet.errors import PlayerSelfExcluded
from wallet.services import wallet_spend

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def verified_adult() -> Player:
    return factories.make_player(
        birth_date=dt.date(1990, 5, 17),
        age_verified=True,
        age_verified_at=NOW - 30 * DAY,
        locale=Player.Locale.EN,
        timezone="America/Los_Angeles",
        signup_at=NOW - 90 * DAY,
    )


def self_excluded(player: Player) -> PlayerProtection:
    return PlayerProtection.objects.create(player=player, daily_spend_limit=300, self_excluded_until=NOW + 200 * DAY)


def row(model: type[Player] | type[PlayerProtection], pk: int) -> dict[str, Any]:
    return dict(model.objects.filter(pk=pk).values().get())


def test_erasure_clears_the_personal_data_and_keeps_the_rest_of_the_player():
    # given a verified adult with a locale, a time zone and a first sight
    player = verified_adult()
    # when they are erased
    erasure = services.player_erase(player_id=player.pk, now=NOW)
    # then the birth date and the age verification are gone, the time is recorded, and the rest is as it was
    assert (erasure.changed, erasure.erased_at) == (True, NOW)
    assert row(Player, player.pk) == {
        "id": player.pk,
        "signup_at": NOW - 90 * DAY,
        "locale": "en",
        "timezone": "America/Los_Angeles",
        "birth_date": None,
        "age_verified": False,
        "age_verified_at": None,
        "erased_at": NOW,
        "tokens_valid_after": None,
    }


def test_erasure_keeps_the_players_safeguards_unchanged():
    # given a self-excluded player with a daily limit
    player = verified_adult()
    before = row(PlayerProtection, self_excluded(player).pk)
    # when they ask to be forgotten
    services.player_erase(player_id=player.pk, now=NOW)
    # then their protection row is exactly as it was, and still reads as excluded
    assert row(PlayerProtection, player.pk) == before
    assert services.protection_get(player_id=player.pk, now=NOW + DAY).is_self_excluded(NOW + DAY)


def test_the_wallet_still_refuses_an_erased_self_excluded_players_spend():
    # given a funded self-excluded player who was erased
    player = verified_adult()
    fund(player.pk, 1000)
    PlayerProtection.objects.create(player=player, self_excluded_until=timezone.now() + 200 * DAY)
    services.player_erase(player_id=player.pk)
    # when a spend is asked for
    # then it is refused for the self-exclusion
    with pytest.raises(PlayerSelfExcluded):
        wallet_spend(player_id=player.pk, amount=10, game="SlotMachine", idempotency_key="after-erasure")


def test_the_recommender_still_sees_an_erased_players_self_exclusion():
    # given a self-excluded player who was erased
    player = verified_adult()
    self_excluded(player)
    services.player_erase(player_id=player.pk, now=NOW)
    # when the recommender reads their context
    ctx = recommendation_context(player_id=player.pk, now=NOW + DAY)
    # then they are paused by the self-exclusion until its end
    assert (ctx.paused, ctx.paused_until) == (SELF_EXCLUSION, NOW + 200 * DAY)


def test_a_second_erasure_changes_nothing_and_keeps_the_first_time():
    # given a player erased yesterday
    player = verified_adult()
    services.player_erase(player_id=player.pk, now=NOW - DAY)
    before = row(Player, player.pk)
    # when they are erased again
    erasure = services.player_erase(player_id=player.pk, now=NOW)
    # then nothing changes and the first erasure's time is kept
    assert (erasure.changed, erasure.erased_at) == (False, NOW - DAY)
    assert row(Player, player.pk) == before


def test_erasing_an_unknown_player_is_not_found_and_makes_no_player():
    # given no player 424242
    # when they are erased
    # then it is NotFound, and no player is made
    with pytest.raises(NotFound):
        services.player_erase(player_id=424242, now=NOW)
    assert not Player.objects.filter(pk=424242).exists()


def test_staff_erase_a_player_from_the_admin_and_the_safeguards_stay():
    # given staff and a self-excluded verified adult
    staff = Client()
    staff.force_login(factories.make_staff_user())
    player = verified_adult()
    before = row(PlayerProtection, self_excluded(player).pk)
    # when staff run "Erase personal data (keeps safeguards)" on them
    response = staff.post(
        "/admin/players/player/", {"action": "erase_personal_data", "_selected_action": [player.pk]}, follow=True
    )
    # then the personal data is gone, the protection row is unchanged, and the page says so
    assert response.status_code == 200
    erased = Player.objects.get(pk=player.pk)
    assert (erased.birth_date, erased.age_verified, erased.age_verified_at) == (None, False, None)
    assert erased.erased_at is not None
    assert row(PlayerProtection, player.pk) == before
    assert f"Erased the personal data (birth date, age verification) of player {player.pk}" in response.content.decode()


def test_an_erased_self_excluded_player_still_cannot_be_deleted_from_the_admin():
    # given a self-excluded player who was erased
    staff = Client()
    staff.force_login(factories.make_staff_user())
    player = verified_adult()
    self_excluded(player)
    services.player_erase(player_id=player.pk)
    # when staff try to delete them
    response = staff.post(f"/admin/players/player/{player.pk}/delete/", {"post": "yes"})
    # then it is refused: the exclusion outlives the erasure
    assert response.status_code == 403
    assert PlayerProtection.objects.filter(player_id=player.pk).exists()
