"""Who is calling (design brief section 5).

- trusted services: ``Authorization: Api-Key <key>``;
- the player's app: ``Authorization: Bearer <JWT>`` (HS256, ``sub`` = player id);
- staff: Django session (DRF's SessionAuthentication, listed in settings).

Principals are small objects, not database users, so authenticating a service
or a player costs no query once the key is cached.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from core.caches import LocalCache
from core.models import ApiKey

API_KEY_PREFIX = "tl_"
MAX_PLAYER_ID = 2**63 - 1  # players.id is a bigint


@dataclass(frozen=True)
class ServicePrincipal:
    key_id: int
    name: str
    is_authenticated: bool = True
    is_staff: bool = False
    kind: str = "service"


@dataclass(frozen=True)
class PlayerPrincipal:
    player_id: int
    is_authenticated: bool = True
    is_staff: bool = False
    kind: str = "player"


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(*, name: str) -> tuple[ApiKey, str]:
    """Make a key; the plain key is returned once and never stored."""
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    obj = ApiKey.objects.create(name=name, prefix=key[:10], key_hash=hash_api_key(key))
    return obj, key


# key hash -> principal (False: no such key). Revocation takes effect within API_KEY_CACHE_SECONDS.
_keys: LocalCache[str, ServicePrincipal | bool] = LocalCache("api-keys")  # False: an unknown or revoked key


def _lookup_key(key_hash: str) -> ServicePrincipal | None:
    found = _keys.get(key_hash)
    if found is None:
        row = ApiKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True).values_list("id", "name").first()
        found = ServicePrincipal(key_id=row[0], name=row[1]) if row else False
        _keys.set(key_hash, found, ttl=settings.API_KEY_CACHE_SECONDS)
    return found if isinstance(found, ServicePrincipal) else None


def _credentials(request: Request, keyword: bytes) -> str | None:
    parts = get_authorization_header(request).split()
    if not parts or parts[0].lower() != keyword.lower():
        return None
    if len(parts) != 2:
        expected = f"{keyword.decode()} <credential>"
        raise exceptions.AuthenticationFailed(f"Malformed Authorization header: expected '{expected}'.")
    try:
        return parts[1].decode()
    except UnicodeDecodeError as exc:
        raise exceptions.AuthenticationFailed("Credential is not valid text.") from exc


def player_id_of(request: Request) -> int:
    """The calling player's id (views with the IsPlayer permission)."""
    user = request.user
    if not isinstance(user, PlayerPrincipal):
        raise exceptions.NotAuthenticated("A player token is required.")
    return user.player_id


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"Api-Key"

    def authenticate(self, request: Request) -> tuple[ServicePrincipal, None] | None:
        key = _credentials(request, self.keyword)
        if key is None:
            return None
        principal = _lookup_key(hash_api_key(key))
        if principal is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        return principal, None

    def authenticate_header(self, request: Request) -> str:
        return 'Api-Key realm="tokenloop"'


def player_token_issue(*, player_id: int, ttl_seconds: int | None = None) -> str:
    now = int(timezone.now().timestamp())
    ttl = settings.PLAYER_JWT_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    payload: dict[str, Any] = {"sub": str(player_id), "iat": now, "exp": now + ttl}
    return jwt.encode(payload, settings.PLAYER_JWT_SECRET, algorithm="HS256")


# Verified player tokens, per process: token -> player id, kept until the token's ``exp``. A player's app sends the
# same token with every request until it expires, so a token is verified once and then recognised until then, as
# PyJWT would accept it (no leeway; ``iat`` and ``nbf``, once passed, stay passed). Only tokens that passed every
# check are kept. Bounded by PLAYER_JWT_CACHE_SIZE; dropped when the secret changes (tests; in production a new
# secret comes with a restart).
_tokens: LocalCache[str, int] = LocalCache("player-tokens", max_entries=settings.PLAYER_JWT_CACHE_SIZE)


@receiver(setting_changed)
def _forget_verified_tokens(*, setting: str, **kwargs: Any) -> None:
    if setting in ("PLAYER_JWT_SECRET", "PLAYER_JWT_CACHE_SIZE"):
        _tokens.max_entries = settings.PLAYER_JWT_CACHE_SIZE
        _tokens.clear()


def player_id_from_token(token: str) -> int:
    """The player id a valid player JWT names; AuthenticationFailed (401) for anything else."""
    known = _tokens.get(token)
    if known is not None:
        return known
    try:
        claims = jwt.decode(
            token,
            settings.PLAYER_JWT_SECRET,
            algorithms=["HS256"],
            options={"require": ["sub", "exp"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise exceptions.AuthenticationFailed("Token has expired.") from exc
    except jwt.InvalidTokenError as exc:
        raise exceptions.AuthenticationFailed(f"Invalid token: {exc}.") from exc
    sub = claims["sub"]
    # ASCII digits only ("²".isdigit() is true but int() refuses it), within a bigint.
    if not isinstance(sub, str) or not (sub.isascii() and sub.isdigit()) or not 0 < int(sub) <= MAX_PLAYER_ID:
        raise exceptions.AuthenticationFailed("Invalid token: 'sub' must be a player id.")
    player_id = int(sub)
    _tokens.set(token, player_id, ttl=float(claims["exp"]) - time.time())
    return player_id


class PlayerJWTAuthentication(BaseAuthentication):
    keyword = b"Bearer"

    def authenticate(self, request: Request) -> tuple[PlayerPrincipal, str] | None:
        token = _credentials(request, self.keyword)
        if token is None:
            return None
        return PlayerPrincipal(player_id=player_id_from_token(token)), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="tokenloop"'
