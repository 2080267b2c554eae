"""GET /api/me/notifications (design brief section 5): the calling player's notifications, nobody else's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from notifications import services
from tests import factories

pytestmark = pytest.mark.django_db

URL = "/api/me/notifications"
ME, OTHER = 801, 802
T0 = dt.datetime(2025, 11, 20, 3, 0, tzinfo=dt.UTC)


def notify(user_id: int, text: str, minutes: int = 0, kind: str = "transactional") -> None:
    payload = {"type": "PURCHASE_RECEIPT", "user_id": user_id, "message": text}
    services.notification_create(
        player_id=user_id,
        type="PURCHASE_RECEIPT",
        kind=kind,
        message=text,
        payload=payload,
        now=T0 + dt.timedelta(minutes=minutes),
    )


def test_a_player_sees_only_their_own_notifications_newest_first(player_client_factory, django_assert_num_queries):
    # given two notifications for me and one for another player
    notify(ME, "first", minutes=0)
    notify(OTHER, "not mine", minutes=1)
    notify(ME, "second", minutes=2)
    client = player_client_factory(ME)
    client.get(URL)  # the first request of a process reads the token revocations once (players.auth)
    # when I read my notifications
    with django_assert_num_queries(1):
        response = client.get(URL)
    # then I get mine only, newest first, with their payload and state
    assert response.status_code == 200
    body = response.json()
    assert [n["message"] for n in body] == ["second", "first"]
    assert body[0]["payload"] == {"type": "PURCHASE_RECEIPT", "user_id": ME, "message": "second"}
    assert set(body[0]) == {"id", "type", "message", "payload", "status", "is_sent", "created_at", "sent_at"}
    assert (body[0]["type"], body[0]["status"], body[0]["is_sent"], body[0]["sent_at"]) == (
        "PURCHASE_RECEIPT",
        "pending",
        False,
        None,
    )


def test_a_player_with_no_notifications_gets_an_empty_list(player_client_factory):
    # given notifications for someone else only
    notify(OTHER, "not mine")
    # when I read mine
    response = player_client_factory(ME).get(URL)
    # then the list is empty
    assert (response.status_code, response.json()) == (200, [])


def test_the_list_is_the_newest_fifty(player_client_factory):
    # given 55 notifications for me
    for minute in range(55):
        notify(ME, f"n{minute}", minutes=minute)
    # when I read them
    body = player_client_factory(ME).get(URL).json()
    # then I get the newest 50
    assert [n["message"] for n in body] == [f"n{minute}" for minute in range(54, 4, -1)]


def test_without_a_token_it_is_401(api_client):
    # given no credentials
    # when the list is requested
    response = api_client.get(URL)
    # then it is 401 with a challenge
    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")


def test_an_expired_token_is_401(api_client):
    # given a player token that has expired
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {factories.player_token(ME, ttl_seconds=-10)}")
    # when the list is requested
    response = api_client.get(URL)
    # then it is 401
    assert response.status_code == 401


def test_a_service_key_is_403(service_client):
    # given a trusted service's key (services have no "me")
    notify(ME, "mine")
    # when it asks for /me/notifications
    response = service_client.get(URL)
    # then it is 403
    assert response.status_code == 403


def test_staff_session_is_403():
    # given a logged-in staff member
    staff = Client()
    staff.force_login(factories.make_staff_user())
    # when they ask for /me/notifications
    response = staff.get(URL)
    # then it is 403: the endpoint is for players
    assert response.status_code == 403
