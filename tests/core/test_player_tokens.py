"""Player tokens (issue 13, item 5): issuer and audience, a maximum lifetime, rotation by kid, revocation."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from io import StringIO
from typing import Any

import jwt
import pytest
from django.contrib.admin.sites import site
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIClient

from core import auth
from players.admin import PlayerAdmin
from players.auth import PlayerTokenAuthentication, revocations
from players.models import Player, PlayerProtection
from players.services import player_tokens_revoke
from tests import factories
from tests.waiting import wait_for

pytestmark = pytest.mark.django_db

PROTECTION = "/api/me/protection"
OLD_SECRET = "the-previous-player-secret-of-32-bytes!!"
NEW_SECRET = "the-current-player-secret-of-32-bytes!!!"


def get_protection(token: str):
    return APIClient().get(PROTECTION, HTTP_AUTHORIZATION=f"Bearer {token}")


def signed(secret: str = "dev-player-jwt-secret-change-me-32b", kid: str | None = "k1", **claims: Any) -> str:
    now = int(time.time())
    payload = {"sub": "9", "iat": now, "exp": now + 600, "iss": "tokenloop", "aud": "tokenloop-player", **claims}
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode({k: v for k, v in payload.items() if v is not None}, secret, algorithm="HS256", headers=headers)


def test_an_issued_token_names_its_kid_issuer_and_audience(settings):
    # given the settings' kid, issuer and audience
    # when a token is issued
    token = factories.player_token(9)
    # then its header names the kid and its claims the issuer, the audience and a lifetime of PLAYER_JWT_TTL_SECONDS
    assert jwt.get_unverified_header(token)["kid"] == settings.PLAYER_JWT_KID
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["iss"] == settings.PLAYER_JWT_ISSUER and claims["aud"] == settings.PLAYER_JWT_AUDIENCE
    assert claims["exp"] - claims["iat"] == settings.PLAYER_JWT_TTL_SECONDS
    assert get_protection(token).status_code == 200


@pytest.mark.parametrize(
    ("make", "message_part"),
    [
        (lambda: signed(aud="another-audience"), "audience"),
        (lambda: signed(aud=None), "aud"),
        (lambda: signed(iss="someone-else"), "issuer"),
        (lambda: signed(iss=None), "iss"),
        (lambda: signed(iat=None), "iat"),
        (lambda: signed(exp=None), "exp"),
        (lambda: signed(iat=int(time.time()) - 10, exp=int(time.time()) + 86_400), "lives longer"),
        (lambda: signed(iat=int(time.time()) + 3600, exp=int(time.time()) + 7200), "not yet valid"),
        (lambda: signed(exp=int(time.time()) - 1), "expired"),
        (lambda: signed(kid=None), "kid"),
        (lambda: signed(kid="k9"), "kid"),
    ],
)
def test_a_token_with_a_wrong_audience_issuer_lifetime_or_kid_is_401(make, message_part):
    # given a token signed with the right secret but a wrong or missing audience, issuer, times or kid
    token = make()
    # when it is used
    response = get_protection(token)
    # then it is refused, saying why, and nothing is written
    assert response.status_code == 401
    assert response.json()["error"] == "authentication_failed"
    assert message_part.lower() in response.json()["message"].lower()
    assert PlayerProtection.objects.count() == 0


def test_issuing_a_token_that_would_live_too_long_is_refused(settings):
    settings.PLAYER_JWT_MAX_LIFETIME_SECONDS = 600
    with pytest.raises(ValueError, match="at most 600"):
        factories.player_token(9, ttl_seconds=601)


def test_rotation_old_kid_verifies_until_it_is_removed(settings):
    # given tokens signed under kid "old", then a rotation: "new" signs, "old" still verifies
    settings.PLAYER_JWT_SECRETS = {"old": OLD_SECRET}
    settings.PLAYER_JWT_KID = "old"
    old_token = factories.player_token(9)
    settings.PLAYER_JWT_SECRETS = {"new": NEW_SECRET, "old": OLD_SECRET}
    settings.PLAYER_JWT_KID = "new"
    new_token = factories.player_token(9)
    # then new tokens carry the new kid, and both are accepted
    assert jwt.get_unverified_header(new_token)["kid"] == "new"
    assert get_protection(old_token).status_code == 200
    assert get_protection(new_token).status_code == 200
    # when the old kid is removed
    settings.PLAYER_JWT_SECRETS = {"new": NEW_SECRET}
    # then the old token is refused (even though it was verified before), and the new one still works
    response = get_protection(old_token)
    assert response.status_code == 401
    assert "kid" in response.json()["message"]
    assert get_protection(new_token).status_code == 200


def test_a_token_signed_with_another_kids_secret_is_refused(settings):
    # given two kids, and a token naming "new" but signed with "old"'s secret
    settings.PLAYER_JWT_SECRETS = {"new": NEW_SECRET, "old": OLD_SECRET}
    settings.PLAYER_JWT_KID = "new"
    token = signed(secret=OLD_SECRET, kid="new")
    # then it is refused
    assert get_protection(token).status_code == 401


# --- revocation ----------------------------------------------------------------------------------------------------


def issued_before_now(player_id: int) -> str:
    """A token issued a few seconds ago (tokens carry whole seconds)."""
    now = int(time.time())
    return signed(sub=str(player_id), iat=now - 5, exp=now + 600)


def revoke_by_service(player_id: int) -> None:
    player_tokens_revoke(player_id=player_id)


def revoke_by_command(player_id: int) -> None:
    out = StringIO()
    call_command("revoke_player_tokens", str(player_id), stdout=out)
    assert f"Player {player_id}: tokens issued before" in out.getvalue()
    assert "eyJ" not in out.getvalue()  # no token printed


def revoke_by_admin(player_id: int) -> None:
    request = RequestFactory().post("/admin/players/player/")
    request.user = factories.make_staff_user()
    request._messages = type("M", (), {"add": lambda *a, **k: None})()  # type: ignore[attr-defined]  # unused here
    model_admin = site._registry[Player]
    assert isinstance(model_admin, PlayerAdmin)
    model_admin.revoke_tokens(request, Player.objects.filter(id=player_id))


@pytest.mark.parametrize("revoke", [revoke_by_service, revoke_by_command, revoke_by_admin])
def test_a_revoked_token_is_refused_and_a_later_one_is_accepted(
    revoke: Callable[[int], None], django_capture_on_commit_callbacks: Any
):
    # given a player whose token works (and this process's snapshot of the revocations read already)
    factories.make_player(id=77)
    token = issued_before_now(77)
    assert get_protection(token).status_code == 200
    # when their tokens are revoked (service, command or admin action)
    with django_capture_on_commit_callbacks(execute=True):
        revoke(77)
    # then the token issued before is refused, with nothing written, and a token issued after is accepted
    response = get_protection(token)
    assert response.status_code == 401
    assert response.json()["message"] == "Token has been revoked."
    valid_after = Player.objects.get(id=77).tokens_valid_after
    assert valid_after is not None
    time.sleep(max(0.0, valid_after.timestamp() - time.time()) + 1.01)
    assert get_protection(factories.player_token(77)).status_code == 200


def test_a_revocation_made_elsewhere_is_refused_once_the_snapshot_is_too_old(settings):
    # given a process that read the revocations (none) while serving player 78
    settings.PLAYER_TOKEN_REVOCATIONS_REFRESH_SECONDS = 0.2
    factories.make_player(id=78)
    token = issued_before_now(78)
    assert get_protection(token).status_code == 200
    # when another process revokes their tokens (the database changes; this process is not told)
    Player.objects.filter(id=78).update(tokens_valid_after=timezone.now())
    time.sleep(0.45)  # past twice the refresh interval: the next request reads the revocations first
    # then the token is refused
    assert get_protection(token).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_a_busy_process_reloads_the_revocations_on_a_thread_within_the_refresh_interval(settings):
    # given a process serving player 82 with a snapshot read just now
    settings.PLAYER_TOKEN_REVOCATIONS_REFRESH_SECONDS = 0.5
    factories.make_player(id=82)
    token = issued_before_now(82)
    assert get_protection(token).status_code == 200
    # when another process revokes their tokens, and a request comes after the refresh interval
    Player.objects.filter(id=82).update(tokens_valid_after=timezone.now())
    time.sleep(0.6)
    first = get_protection(token)
    # then that request was answered from the snapshot it had (it started the reload, and did not wait for it), and
    # the token is refused as soon as the reload has read the revocation
    assert first.status_code == 200
    assert wait_for(lambda: 82 in revocations(), seconds=2)
    assert get_protection(token).status_code == 401


def test_a_revocation_never_moves_back():
    # given a revocation at t1
    factories.make_player(id=79)
    later = timezone.now()
    player_tokens_revoke(player_id=79, at=later)
    # when an earlier revocation is asked for
    in_force = player_tokens_revoke(player_id=79, at=later - dt.timedelta(hours=1))
    # then the later time stays in force
    assert in_force == later == Player.objects.get(id=79).tokens_valid_after


@pytest.fixture
def redis_round_trips_or_none(request: pytest.FixtureRequest) -> Callable[[], int | None]:
    """The Redis commands sent from now on (``redis_round_trips``) with REDIS_URL set; otherwise None."""
    from core.hotstore import hot_store

    if not hot_store.is_redis:
        return lambda: None
    counter: Callable[[], int] = request.getfixturevalue("redis_round_trips")
    start = counter()
    return lambda: counter() - start


def bearer_request(token: str) -> Request:
    return Request(RequestFactory().get(PROTECTION, HTTP_AUTHORIZATION=f"Bearer {token}"))


def test_checking_revocation_costs_no_query_once_the_snapshot_is_read(redis_round_trips_or_none):
    # given a player who made one request (this process has read the revocations; the token is verified and kept)
    factories.make_player(id=80)
    token = factories.player_token(80)
    authenticator = PlayerTokenAuthentication()
    assert authenticator.authenticate(bearer_request(token)) is not None
    # when they authenticate again
    with CaptureQueriesContext(connection) as queries:
        found = authenticator.authenticate(bearer_request(token))
    # then no SQL statement ran, nor any Redis command
    assert found is not None and found[0].player_id == 80
    assert len(queries) == 0
    assert redis_round_trips_or_none() in (None, 0)


def test_verified_tokens_are_still_checked_for_revocation(django_capture_on_commit_callbacks: Any):
    # given a token verified and kept by this process
    factories.make_player(id=81)
    token = issued_before_now(81)
    assert auth.player_token_verify(token).player_id == 81
    assert get_protection(token).status_code == 200
    # when the player's tokens are revoked
    with django_capture_on_commit_callbacks(execute=True):
        player_tokens_revoke(player_id=81)
    # then the kept token is refused all the same
    assert get_protection(token).status_code == 401
