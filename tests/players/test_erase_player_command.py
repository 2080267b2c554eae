"""``manage.py erase_player <player_id>``: erases the personal data, keeps the safeguards, and says what it did."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from players.models import Player, PlayerProtection
from tests import factories

pytestmark = pytest.mark.django_db


def erase(player_id: int) -> str:
    out = io.StringIO()
    call_command("erase_player", str(player_id), stdout=out)
    return out.getvalue()


def test_the_command_erases_the_player_and_says_what_it_kept():
    # given a verified, self-excluded adult
    until = timezone.now() + dt.timedelta(days=200)
    player = factories.make_player(birth_date=dt.date(1990, 5, 17), age_verified=True, age_verified_at=timezone.now())
    PlayerProtection.objects.create(player=player, self_excluded_until=until)
    # when the command runs for them
    output = erase(player.pk)
    # then the personal data is gone, and the output says so and names the exclusion kept
    erased = Player.objects.get(pk=player.pk)
    assert (erased.birth_date, erased.age_verified, erased.age_verified_at) == (None, False, None)
    assert erased.erased_at is not None
    assert f"Player {player.pk}: birth date and age verification erased at {erased.erased_at.isoformat()}" in output
    assert f"safeguards kept: self-excluded until {until.isoformat()}." in output
    assert PlayerProtection.objects.get(player_id=player.pk).self_excluded_until == until


def test_a_second_run_says_the_player_was_already_erased():
    # given a player the command erased
    player = factories.make_player(birth_date=dt.date(1990, 5, 17))
    erase(player.pk)
    first = Player.objects.get(pk=player.pk).erased_at
    assert first is not None
    # when it runs again
    output = erase(player.pk)
    # then it changes nothing and says when the erasure was
    assert f"Player {player.pk}: already erased at {first.isoformat()}; nothing changed." in output
    assert "safeguards kept: none set." in output
    assert Player.objects.get(pk=player.pk).erased_at == first


def test_an_unknown_player_is_a_clear_error_and_a_non_zero_exit():
    # given no player 424242
    # when the command runs for them
    with pytest.raises(CommandError, match=r"^There is no player 424242\.$") as error:
        erase(424242)
    # then the error names the player, manage.py exits with a non-zero status (the error's return code, which
    # BaseCommand.run_from_argv exits with), and no player is made
    assert error.value.returncode != 0
    assert not Player.objects.filter(pk=424242).exists()
