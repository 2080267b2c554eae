"""Who may call what (design brief section 5): service keys, player tokens, staff sessions."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import time
from io import StringIO

import jwt
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.test import APIClient

from activity.models import UserAction
from core import auth
from core.models import ApiKey
from players.models import PlayerProtection
from tests import factories
from tests.factories import action

pytestmark = pytest.mark.django_db

ACTIONS = "/api/actions"
PROTECTION = "/api/me/protection"


def client_with(authorization: str | None) -> APIClient:
    client = APIClient()
    if authorization is not None:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    return client


def post_one_action(client: APIClient):
    return client.post(ACTIONS, {"actions": [action(user_id=9)]}, format="json")


# --- service endpoint: POST /api/actions ---------------------------------------------------------


def test_no_credentials_is_401_with_a_json_body():
    # given a client with no Authorization header
    client = client_with(None)
    # when it posts actions
    response = post_one_action(client)
    # then the answer is 401 with a JSON error body and a challenge, and nothing is stored
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"
    assert response.json()["message"]
    assert response.has_header("WWW-Authenticate")
    assert UserAction.objects.count() == 0


@pytest.mark.parametrize(
    "authorization",
    [
        "Api-Key tl_not-a-real-key",
        "Api-Key",
        "Api-Key two parts",
        "Basic dXNlcjpwYXNz",
    ],
)
def test_wrong_api_key_is_401(authorization):
    # given a client with a key that is not ours (or no usable credential at all)
    client = client_with(authorization)
    # when it posts actions
    response = post_one_action(client)
    # then the answer is 401 with a JSON body, and nothing is stored
    assert response.status_code == 401
    assert response.json()["error"] in {"authentication_failed", "not_authenticated"}
    assert UserAction.objects.count() == 0


def test_valid_api_key_is_accepted():
    # given a client with a freshly created key
    _, key = factories.make_api_key()
    # when it posts actions
    response = post_one_action(client_with(f"Api-Key {key}"))
    # then they are stored
    assert response.status_code == 200
    assert UserAction.objects.count() == 1


def test_revoked_api_key_is_401():
    # given a key that worked, then was revoked
    obj, key = factories.make_api_key()
    client = client_with(f"Api-Key {key}")
    assert post_one_action(client).status_code == 200
    ApiKey.objects.filter(pk=obj.pk).update(revoked_at=timezone.now())
    # when it is used again (API_KEY_REFRESH_SECONDS is 0 in tests: each request reads the keys)
    response = client.post(ACTIONS, {"actions": [action(user_id=10)]}, format="json")
    # then the answer is 401 and the second action is not stored
    assert response.status_code == 401
    assert response.json()["message"] == "Unknown or revoked API key."
    assert UserAction.objects.count() == 1


def test_player_token_on_a_service_endpoint_is_403():
    # given a client with a valid player token
    client = client_with(f"Bearer {factories.player_token(9)}")
    # when it posts actions (a service endpoint)
    response = post_one_action(client)
    # then the answer is 403 naming the caller kind the endpoint is for, and nothing is stored
    assert response.status_code == 403
    assert response.json() == {
        "error": "permission_denied",
        "message": "This endpoint is for trusted services (Api-Key).",
    }
    assert UserAction.objects.count() == 0


def test_staff_session_on_a_service_endpoint_is_403():
    # given a logged-in staff user
    client = APIClient(enforce_csrf_checks=False)
    client.force_login(factories.make_staff_user())
    # when they post actions
    response = post_one_action(client)
    # then the answer is 403
    assert response.status_code == 403
    assert UserAction.objects.count() == 0


# --- player endpoint: /api/me/protection ---------------------------------------------------------


def _token(**claims: object) -> str:
    now = int(dt.datetime.now(dt.UTC).timestamp())
    payload = {"sub": "9", "iat": now, "exp": now + 600, "iss": "tokenloop", "aud": "tokenloop-player", **claims}
    return jwt.encode(
        {k: v for k, v in payload.items() if v is not None},
        "dev-player-jwt-secret-change-me-32b",
        algorithm="HS256",
        headers={"kid": "k1"},
    )


@pytest.mark.parametrize(
    ("token", "message_part"),
    [
        (lambda: factories.player_token(9, ttl_seconds=-10), "expired"),
        (
            lambda: jwt.encode(
                {"sub": "9", "exp": 4102444800}, "another-secret-of-32-bytes-or-more!", algorithm="HS256"
            ),
            "Invalid token",
        ),
        (lambda: "not.a.jwt", "Invalid token"),
        (lambda: "garbage", "Invalid token"),
        (lambda: _token(exp=None), "Invalid token"),
        (lambda: _token(sub=None), "Invalid token"),
        (lambda: _token(sub="0"), "player id"),
        (lambda: _token(sub="-3"), "player id"),
        (lambda: _token(sub="abc"), "player id"),
        (lambda: _token(sub="\u00b2"), "player id"),  # a superscript two: str.isdigit() but not int()
        (lambda: _token(sub=str(2**63)), "player id"),  # past the bigint players.id
        (lambda: _token(sub=9), "Invalid token"),  # sub must be a string (RFC 7519)
        (lambda: jwt.encode({"sub": "9", "exp": 4102444800}, key=None, algorithm="none"), "Invalid token"),
    ],
)
def test_bad_player_token_is_401(settings, token, message_part):
    # given a token that is expired, signed with another secret, unsigned, malformed or without a usable sub
    settings.PLAYER_JWT_SECRETS = {"k1": "dev-player-jwt-secret-change-me-32b"}
    client = client_with(f"Bearer {token()}")
    # when it reads its protection
    response = client.get(PROTECTION)
    # then the answer is 401 with a JSON body saying why, and no protection row appears
    assert response.status_code == 401
    assert response.json()["error"] == "authentication_failed"
    assert message_part in response.json()["message"]
    assert PlayerProtection.objects.count() == 0


def test_bearer_header_with_extra_parts_is_401():
    # given an Authorization header with three parts
    client = client_with(f"Bearer {factories.player_token(9)} extra")
    # when it reads its protection
    response = client.get(PROTECTION)
    # then the answer is 401 naming the expected format
    assert response.status_code == 401
    assert "Malformed Authorization header" in response.json()["message"]


def test_no_credentials_on_a_player_endpoint_is_401():
    # given no credentials
    # when a client reads /api/me/protection
    response = client_with(None).get(PROTECTION)
    # then the answer is 401 with a JSON body
    assert response.status_code == 401
    assert response.json()["error"] == "not_authenticated"


def test_api_key_on_a_player_endpoint_is_403(service_client):
    # given a trusted service
    # when it reads /api/me/protection (it is nobody's "me")
    response = service_client.get(PROTECTION)
    # then the answer is 403
    assert response.status_code == 403
    assert response.json()["message"] == "This endpoint is for players (Bearer token)."


def test_staff_session_on_a_player_endpoint_is_403():
    # given a logged-in staff user
    client = APIClient()
    client.force_login(factories.make_staff_user())
    # when they read /api/me/protection
    response = client.get(PROTECTION)
    # then the answer is 403 and no protection row appears
    assert response.status_code == 403
    assert PlayerProtection.objects.count() == 0


def test_protection_reaches_only_the_callers_own_data(player_client_factory):
    # given players A and B, and A has set a daily limit of 100
    a, b = player_client_factory(101), player_client_factory(102)
    assert a.put(PROTECTION, {"daily_spend_limit": 100}, format="json").status_code == 200
    # when B reads and then sets their own protection
    b_before = b.get(PROTECTION).json()
    b.put(PROTECTION, {"daily_spend_limit": 50, "weekly_spend_limit": 70}, format="json")
    # then B never saw A's limit, and A's settings are untouched by B's change
    assert b_before["daily_spend_limit"] is None
    assert a.get(PROTECTION).json()["daily_spend_limit"] == 100
    assert a.get(PROTECTION).json()["weekly_spend_limit"] is None
    assert PlayerProtection.objects.get(player_id=101).daily_spend_limit == 100
    assert PlayerProtection.objects.get(player_id=102).daily_spend_limit == 50


def test_a_player_id_in_the_body_does_not_reach_another_player(player_client_factory):
    # given player B with a daily limit of 40
    player_client_factory(202).put(PROTECTION, {"daily_spend_limit": 40}, format="json")
    # when player A sends a change naming B's id in the body
    response = player_client_factory(201).put(
        PROTECTION, {"daily_spend_limit": 10, "player_id": 202, "user_id": 202}, format="json"
    )
    # then it is refused (unknown fields) and B's limit is unchanged
    assert response.status_code == 400
    assert PlayerProtection.objects.get(player_id=202).daily_spend_limit == 40


# --- verified player tokens, kept until they expire --------------------------------------------------


def test_a_verified_token_is_recognised_again_without_decoding_it(monkeypatch):
    # given a player token verified once
    token = factories.player_token(9)
    assert auth.player_id_from_token(token) == 9
    # when it comes again, with PyJWT out of reach
    monkeypatch.setattr(auth.jwt, "decode", _no_decode)
    # then it still names its player
    assert auth.player_id_from_token(token) == 9


def test_a_verified_token_is_refused_once_it_expires():
    # given a token valid for one more second, verified and kept
    token = factories.player_token(9, ttl_seconds=1)
    assert auth.player_id_from_token(token) == 9
    exp = jwt.decode(token, options={"verify_signature": False})["exp"]
    # when its exp has passed
    time.sleep(max(0.0, exp - time.time()) + 0.05)
    # then it is refused as expired
    with pytest.raises(AuthenticationFailed, match="expired"):
        auth.player_id_from_token(token)


def test_a_new_secret_forgets_the_tokens_verified_with_the_old_one(settings):
    # given a token verified under the current secret
    token = factories.player_token(9)
    assert auth.player_id_from_token(token) == 9
    # when the secret changes
    settings.PLAYER_JWT_SECRETS = {"k1": "another-secret-of-32-bytes-or-more!"}
    # then the token is checked again, and refused
    with pytest.raises(AuthenticationFailed, match="Invalid token"):
        auth.player_id_from_token(token)


def test_the_verified_tokens_are_bounded_and_refused_ones_are_not_kept(settings, monkeypatch):
    # given room for 2 verified tokens
    settings.PLAYER_JWT_CACHE_SIZE = 2
    # when 3 tokens are verified and a bad one is refused
    tokens = {player_id: factories.player_token(player_id) for player_id in (1, 2, 3)}
    for token in tokens.values():
        auth.player_id_from_token(token)
    refused = factories.player_token(4, ttl_seconds=-10)
    with pytest.raises(AuthenticationFailed):
        auth.player_id_from_token(refused)
    # then, with PyJWT out of reach, at most 2 are still recognised, and the refused one is not
    monkeypatch.setattr(auth.jwt, "decode", _no_decode)
    recognised = []
    for player_id, token in tokens.items():
        with contextlib.suppress(AssertionError):  # not kept: decoding was needed
            recognised.append(auth.player_id_from_token(token) == player_id)
    assert 0 < len(recognised) <= 2 and all(recognised)
    with pytest.raises(AssertionError, match="decoded again"):
        auth.player_id_from_token(refused)


def _no_decode(*args: object, **kwargs: object) -> None:
    raise AssertionError("the token was decoded again")


# --- management commands -------------------------------------------------------------------------


def test_create_api_key_prints_the_key_alone_on_its_last_line_and_stores_only_its_hash():
    # given no key named game-server
    out, err = StringIO(), StringIO()
    # when the command runs
    call_command("create_api_key", "game-server", "--scope=ingest", stdout=out, stderr=err)
    # then stdout's last line is the key alone, the database holds only its SHA-256, and the key works
    key = out.getvalue().strip().splitlines()[-1]
    assert key.startswith("tl_") and " " not in key and len(key) > 40
    row = ApiKey.objects.get(name="game-server")
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key[:10] == row.prefix
    dump = StringIO()
    call_command("dumpdata", stdout=dump)
    assert key not in dump.getvalue()
    assert key[10:] not in dump.getvalue()
    assert post_one_action(client_with(f"Api-Key {key}")).status_code == 200


def test_create_api_key_refuses_a_name_in_use():
    # given a key named game-server
    call_command("create_api_key", "game-server", "--scope=ingest", stdout=StringIO(), stderr=StringIO())
    # when another is asked for under the same name
    # then the command fails and no second key is made
    with pytest.raises(CommandError, match="exists already"):
        call_command("create_api_key", "game-server", "--scope=ingest", stdout=StringIO(), stderr=StringIO())
    assert ApiKey.objects.count() == 1


def test_issue_player_token_prints_a_token_that_authenticates_as_that_player():
    # given player 4242
    out = StringIO()
    # when a token is issued for them
    call_command("issue_player_token", "4242", stdout=out, stderr=StringIO())
    token = out.getvalue().strip().splitlines()[-1]
    # then the token alone on the last line acts as player 4242 (and only them)
    client = client_with(f"Bearer {token}")
    response = client.put(PROTECTION, {"daily_spend_limit": 77}, format="json")
    assert response.status_code == 200
    assert list(PlayerProtection.objects.values_list("player_id", "daily_spend_limit")) == [(4242, 77)]
