"""POST /api/users/{id}/age-verification: a trusted service records a birth date an identity provider verified;
never the player's own claim; every change audited (``player_age_verifications``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from players import services
from players.models import Player, PlayerAgeVerification
from tests import factories

pytestmark = pytest.mark.django_db

PLAYER = 7300
URL = f"/api/users/{PLAYER}/age-verification"


def body(**changes: Any) -> dict[str, Any]:
    return {
        "birth_date": "1990-05-17",
        "verified_at": "2026-11-01T10:00:00+09:00",
        "provider": "PASS",
        "reference": "pass-123",
        **changes,
    }


def test_a_service_records_a_verified_birth_date_and_the_audit_keeps_what_it_replaced(service_client):
    # given a player who once had another birth date recorded, unverified
    factories.make_player(id=PLAYER, birth_date=dt.date(2001, 1, 1))
    # when a trusted service reports the provider's verification
    response = service_client.post(URL, body(), format="json")
    # then the player is a verified adult with that birth date and time
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["age_verified"], data["birth_date"], data["adult"], data["adult_from"]) == (
        True,
        "1990-05-17",
        True,
        "2009-05-17",
    )
    player = Player.objects.get(id=PLAYER)
    assert (player.birth_date, player.age_verified) == (dt.date(1990, 5, 17), True)
    assert player.age_verified_at == dt.datetime(2026, 11, 1, 1, 0, tzinfo=dt.UTC)
    # and one audit row says who reported what, when, and what it replaced
    audit = PlayerAgeVerification.objects.get()
    assert audit.id == data["verification_id"]
    assert (audit.player_id, audit.provider, audit.reference, audit.birth_date) == (
        PLAYER,
        "PASS",
        "pass-123",
        dt.date(1990, 5, 17),
    )
    assert (audit.previous_birth_date, audit.previous_age_verified, audit.previous_age_verified_at) == (
        dt.date(2001, 1, 1),
        False,
        None,
    )
    assert audit.recorded_by.startswith("service-")


def test_a_redelivery_answers_the_first_and_writes_nothing(service_client):
    # given a recorded verification
    first = service_client.post(URL, body(), format="json")
    # when the same report comes again
    again = service_client.post(URL, body(), format="json")
    # then it is answered as the first, marked replayed, and still one audit row
    assert (first.status_code, again.status_code) == (201, 200)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert PlayerAgeVerification.objects.count() == 1


def test_the_same_reference_with_another_birth_date_is_refused_and_changes_nothing(service_client):
    # given a recorded verification
    service_client.post(URL, body(), format="json")
    # when the same provider reference comes with another birth date
    response = service_client.post(URL, body(birth_date="2010-01-01"), format="json")
    # then it is a 422 naming the reference, and the player keeps the first
    assert response.status_code == 422
    assert response.json()["error"] == "verification_reference_reused"
    assert "reference" in response.json()["fields"]
    assert Player.objects.get(id=PLAYER).birth_date == dt.date(1990, 5, 17)
    assert PlayerAgeVerification.objects.count() == 1


def test_a_later_verification_replaces_the_birth_date_and_is_audited_too(service_client):
    # given a verification
    service_client.post(URL, body(), format="json")
    # when the provider reports a corrected birth date under a new reference
    response = service_client.post(
        URL, body(birth_date="2008-03-02", reference="pass-124", verified_at="2026-11-02T10:00:00+09:00"), format="json"
    )
    # then the player has the new one (a minor now), and the second audit row names the first as replaced
    assert response.status_code == 201
    assert response.json()["adult"] is False
    assert Player.objects.get(id=PLAYER).birth_date == dt.date(2008, 3, 2)
    second = PlayerAgeVerification.objects.order_by("id").last()
    assert second is not None
    assert (second.previous_birth_date, second.previous_age_verified) == (dt.date(1990, 5, 17), True)


def test_bad_input_names_each_field_and_writes_nothing(service_client):
    # when a report has a birth date in the future, a time without an offset, an empty provider and an extra field
    response = service_client.post(
        URL,
        body(birth_date="2999-01-01", verified_at="2026-11-01T10:00:00", provider="", self_declared=True),
        format="json",
    )
    # then it is a 400 naming the fields the serializer checks, and nothing is written
    assert response.status_code == 400, response.content
    assert {"provider", "self_declared"} <= set(response.json()["fields"])
    # and a report the serializer passes but the rules refuse names those fields
    response = service_client.post(
        URL, body(birth_date="2999-01-01", verified_at=(timezone.now() + dt.timedelta(days=2)).isoformat()), "json"
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"birth_date", "verified_at"}
    assert not Player.objects.filter(id=PLAYER).exists()
    assert not PlayerAgeVerification.objects.exists()


def test_a_player_cannot_verify_their_own_age(player_client_factory):
    # given the player's own client
    me = player_client_factory(PLAYER)
    # when it sends a birth date for itself
    response = me.post(URL, body(), format="json")
    # then it is refused: only a trusted service reports an identity provider's verification
    assert response.status_code == 403
    assert not PlayerAgeVerification.objects.exists()


def test_erasure_clears_the_birth_dates_of_the_audit_and_keeps_its_trail(service_client):
    # given two verifications of a player
    service_client.post(URL, body(), format="json")
    service_client.post(URL, body(reference="pass-2", birth_date="1990-05-18"), format="json")
    # when the player is erased
    erasure = services.player_erase(player_id=PLAYER)
    # then no birth date is left, in the player nor in the audit, and the audit rows stay
    assert erasure.changed
    rows = list(PlayerAgeVerification.objects.values_list("provider", "reference", "birth_date", "previous_birth_date"))
    assert sorted(rows) == [("PASS", "pass-123", None, None), ("PASS", "pass-2", None, None)]
    assert Player.objects.get(id=PLAYER).birth_date is None


def test_staff_cannot_edit_the_age_in_the_admin(db):
    # given staff on a player's change page
    player = factories.make_player(birth_date=dt.date(1990, 5, 17), age_verified=True, age_verified_at=timezone.now())
    client = Client()
    client.force_login(factories.make_staff_user())
    # when they post a change of the birth date and verification
    page = client.get(f"/admin/players/player/{player.pk}/change/")
    client.post(
        f"/admin/players/player/{player.pk}/change/",
        {
            "signup_at_0": "2026-01-01",
            "signup_at_1": "00:00:00",
            "locale": "ko",
            "timezone": "Asia/Seoul",
            "birth_date": "2015-01-01",
            "age_verified": "",
        },
    )
    # then the fields are shown read-only and the age stays as the provider verified it
    assert page.status_code == 200
    assert b'name="birth_date"' not in page.content
    player.refresh_from_db()
    assert (player.birth_date, player.age_verified) == (dt.date(1990, 5, 17), True)
