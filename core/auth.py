"""Who is calling (design brief section 5).

- trusted services: ``Authorization: Api-Key <key>``, a key holding scopes (``core.scopes``), with an optional
  expiry, revocable (the key snapshot below);
- the player's app: ``Authorization: Bearer <JWT>`` (HS256, ``kid``, ``sub`` = player id, ``iss``, ``aud``;
  ``player_token_verify``; revocation in ``players.auth``);
- staff: Django session (DRF's SessionAuthentication, listed in settings).

Principals are small objects, not database users, so authenticating a service
or a player costs no query once the key is cached.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt
from django.conf import settings
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from core.caches import LocalCache, RefreshedSnapshot
from core.models import ApiKey
from core.scopes import ALL_SCOPES

logger = logging.getLogger(__name__)

API_KEY_PREFIX = "tl_"
MAX_PLAYER_ID = 2**63 - 1  # players.id is a bigint


@dataclass(frozen=True)
class ServicePrincipal:
    key_id: int
    name: str
    scopes: frozenset[str] = frozenset()
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


def api_key_create(*, name: str, scopes: Iterable[str], expires_at: dt.datetime | None = None) -> tuple[ApiKey, str]:
    """Make a key holding ``scopes`` (``core.scopes.Scope`` values); the plain key is returned once and never
    stored."""
    wanted = sorted(set(scopes))
    unknown = [scope for scope in wanted if scope not in ALL_SCOPES]
    if unknown:
        raise ValueError(f"Unknown scope(s): {', '.join(unknown)}; known: {', '.join(ALL_SCOPES)}.")
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    obj = ApiKey.objects.create(
        name=name, prefix=key[:10], key_hash=hash_api_key(key), scopes=wanted, expires_at=expires_at
    )
    return obj, key


def api_key_revoke(*, key_id: int) -> bool:
    """Revoke a key (False when it was revoked already). Refused at once in this process (after commit) and within
    a second in every other one (the snapshot below)."""
    revoked = ApiKey.objects.filter(pk=key_id, revoked_at__isnull=True).update(revoked_at=timezone.now()) == 1
    transaction.on_commit(api_keys_forget)
    return revoked


# Service keys, kept as players.auth keeps token revocations (``core.caches.RefreshedSnapshot``): each process
# holds a snapshot of every key not revoked ({key hash: (principal, expiry as Unix seconds or None)}), read in one
# query of the small api key table (``ApiKey.objects.filter(revoked_at=None)``), and a request looks its key's hash
# up in a dict: no database or Redis round trip per request, and an unknown key costs no query either. A request
# that finds the snapshot older than API_KEY_REFRESH_SECONDS (0.5 s) starts a reload on a thread of its own and
# answers from the snapshot; one that finds it older than twice that (an idle process, the first request) reloads
# it first. So a revocation, a
# new scope or a new expiry reaches every process within a second (twice the refresh interval), and the process
# that revoked at once (``api_keys_forget`` after commit). Expiry is compared with the clock on every request, so
# it is exact. No writer has to remember anything: the snapshot is always read from the database.
#
# Last used: a request notes its key's id in a dict when this process has not noted it for API_KEY_LAST_USED_SECONDS
# (60 s); a reload that finds notes older than that writes them, in one UPDATE, before reading the keys. So a key's
# ``last_used_at`` is written at most once a minute per process, by the reload (on its thread under load; an idle
# process's inline reload carries it), never as a statement of the request's own; it is late by a minute or two at
# most, which is what it is for (finding unused keys).
KeyEntry = tuple[ServicePrincipal, float | None]
_used_lock = threading.Lock()
# key id -> True while this process noted it as used within API_KEY_LAST_USED_SECONDS
_noted: LocalCache[int, bool] = LocalCache("api-keys-noted")
# "unwritten" -> {key id: when it was noted (monotonic)}, not yet written; a LocalCache so tests empty it too
_unwritten: LocalCache[str, dict[int, float]] = LocalCache("api-keys-unwritten", max_entries=1)


def _write_last_used() -> None:
    now = time.monotonic()
    with _used_lock:
        unwritten = _unwritten.get("unwritten") or {}
        due = [key_id for key_id, noted in unwritten.items() if now - noted >= settings.API_KEY_LAST_USED_SECONDS]
        for key_id in due:
            del unwritten[key_id]
    if due:
        ApiKey.objects.filter(pk__in=due).update(last_used_at=timezone.now())


def _load() -> dict[str, KeyEntry]:
    _write_last_used()
    keys: dict[str, KeyEntry] = {}
    rows = ApiKey.objects.filter(revoked_at__isnull=True).values_list("id", "name", "key_hash", "scopes", "expires_at")
    for key_id, name, key_hash, scopes, expires_at in rows:
        principal = ServicePrincipal(key_id=key_id, name=name, scopes=frozenset(scopes or ()))
        keys[key_hash] = (principal, expires_at.timestamp() if expires_at is not None else None)
    return keys


_keys = RefreshedSnapshot("api-keys", _load, lambda: settings.API_KEY_REFRESH_SECONDS)


def api_keys() -> dict[str, KeyEntry]:
    """{key hash: (principal, expiry)} of every key not revoked: this process's snapshot, reloaded as said above."""
    return _keys.get()


def api_keys_forget() -> None:
    """Drop this process's snapshot: the next request reads the keys again (after a revocation made here)."""
    _keys.forget()


def _note_used(key_id: int) -> None:
    if _noted.get(key_id):
        return  # a dict lookup: what nearly every request costs
    every = settings.API_KEY_LAST_USED_SECONDS
    with _used_lock:
        _noted.set(key_id, True, ttl=every)
        unwritten = _unwritten.get("unwritten")
        if unwritten is None:
            unwritten = {}
            _unwritten.set("unwritten", unwritten, ttl=365 * 24 * 3600.0)
        unwritten.setdefault(key_id, time.monotonic())


def _lookup_key(key_hash: str) -> ServicePrincipal:
    entry = api_keys().get(key_hash)
    if entry is None:
        raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
    principal, expires_at = entry
    if expires_at is not None and time.time() >= expires_at:
        raise exceptions.AuthenticationFailed("API key has expired.")
    _note_used(principal.key_id)
    return principal


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
        return _lookup_key(hash_api_key(key)), None

    def authenticate_header(self, request: Request) -> str:
        return 'Api-Key realm="tokenloop"'


def player_token_issue(*, player_id: int, ttl_seconds: int | None = None) -> str:
    """A player token: HS256 with the current kid's secret (``PLAYER_JWT_KID`` in the header), ``sub``, ``iat``,
    ``exp``, ``iss`` and ``aud`` from settings. The one place tokens are minted (the login service, tests, benches,
    ``issue_player_token``). A lifetime over ``PLAYER_JWT_MAX_LIFETIME_SECONDS`` is refused: no check would accept it.
    """
    now = int(time.time())
    ttl = settings.PLAYER_JWT_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    if ttl > settings.PLAYER_JWT_MAX_LIFETIME_SECONDS:
        raise ValueError(f"A player token lives at most {settings.PLAYER_JWT_MAX_LIFETIME_SECONDS} s, not {ttl} s.")
    payload: dict[str, Any] = {
        "sub": str(player_id),
        "iat": now,
        "exp": now + ttl,
        "iss": settings.PLAYER_JWT_ISSUER,
        "aud": settings.PLAYER_JWT_AUDIENCE,
    }
    kid = settings.PLAYER_JWT_KID
    return jwt.encode(payload, settings.PLAYER_JWT_SECRETS[kid], algorithm="HS256", headers={"kid": kid})


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    player_id: int
    issued_at: int  # the token's iat, Unix seconds: what revocation compares (players.auth)


# Verified player tokens, per process: token -> VerifiedToken, kept until the token's ``exp``. A player's app sends the
# same token with every request until it expires, so a token is verified once and then recognised until then, as
# the checks below would accept it (no leeway; ``iat`` and ``nbf``, once passed, stay passed). Only tokens that passed
# every check are kept. Bounded by PLAYER_JWT_CACHE_SIZE; dropped when the keys or the claims' rules change (tests;
# in production a new secret, a removed kid or a new issuer comes with a restart). Revocation is not cached here: it
# is checked on every request (players.auth).
_tokens: LocalCache[str, VerifiedToken] = LocalCache("player-tokens", max_entries=settings.PLAYER_JWT_CACHE_SIZE)
_TOKEN_SETTINGS = frozenset(
    {
        "PLAYER_JWT_SECRET",
        "PLAYER_JWT_SECRETS",
        "PLAYER_JWT_KID",
        "PLAYER_JWT_ISSUER",
        "PLAYER_JWT_AUDIENCE",
        "PLAYER_JWT_MAX_LIFETIME_SECONDS",
        "PLAYER_JWT_CACHE_SIZE",
    }
)


@receiver(setting_changed)
def _forget_verified_tokens(*, setting: str, **kwargs: Any) -> None:
    if setting in _TOKEN_SETTINGS:
        _tokens.max_entries = settings.PLAYER_JWT_CACHE_SIZE
        _tokens.clear()


def player_token_verify(token: str) -> VerifiedToken:
    """The player and issue time of a valid player JWT; AuthenticationFailed (401) for anything else.

    Valid: HS256 signed with the secret its header's ``kid`` names in ``PLAYER_JWT_SECRETS`` (a kid removed from it
    is refused), ``iss`` and ``aud`` as configured, ``sub`` a player id, ``iat`` passed and ``exp`` not, and
    ``exp - iat`` at most ``PLAYER_JWT_MAX_LIFETIME_SECONDS``. Whether the player revoked it: ``players.auth``.
    """
    known = _tokens.get(token)
    if known is not None:
        return known
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError as exc:
        raise exceptions.AuthenticationFailed(f"Invalid token: {exc}.") from exc
    secret = settings.PLAYER_JWT_SECRETS.get(kid) if isinstance(kid, str) else None
    if not secret:
        raise exceptions.AuthenticationFailed("Invalid token: unknown or retired signing key (kid).")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=settings.PLAYER_JWT_AUDIENCE,
            issuer=settings.PLAYER_JWT_ISSUER,
            options={"require": ["sub", "iat", "exp", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise exceptions.AuthenticationFailed("Token has expired.") from exc
    except jwt.InvalidTokenError as exc:
        raise exceptions.AuthenticationFailed(f"Invalid token: {exc}.") from exc
    sub, iat, exp = claims["sub"], int(claims["iat"]), float(claims["exp"])
    # ASCII digits only ("²".isdigit() is true but int() refuses it), within a bigint.
    if not isinstance(sub, str) or not (sub.isascii() and sub.isdigit()) or not 0 < int(sub) <= MAX_PLAYER_ID:
        raise exceptions.AuthenticationFailed("Invalid token: 'sub' must be a player id.")
    if exp - iat > settings.PLAYER_JWT_MAX_LIFETIME_SECONDS:
        raise exceptions.AuthenticationFailed(
            f"Invalid token: it lives longer than {settings.PLAYER_JWT_MAX_LIFETIME_SECONDS} s (exp - iat)."
        )
    verified = VerifiedToken(player_id=int(sub), issued_at=iat)
    _tokens.set(token, verified, ttl=exp - time.time())
    return verified


def player_id_from_token(token: str) -> int:
    """The player id a valid player JWT names (``player_token_verify``; revocation is not checked here)."""
    return player_token_verify(token).player_id


class PlayerJWTAuthentication(BaseAuthentication):
    """A player's Bearer token (``player_token_verify``). The class in settings is ``players.auth``'s subclass,
    which also refuses revoked tokens."""

    keyword = b"Bearer"

    def authenticate(self, request: Request) -> tuple[PlayerPrincipal, str] | None:
        token = _credentials(request, self.keyword)
        if token is None:
            return None
        verified = player_token_verify(token)
        self.check_not_revoked(verified)
        return PlayerPrincipal(player_id=verified.player_id), token

    def check_not_revoked(self, verified: VerifiedToken) -> None:
        """Raise AuthenticationFailed for a revoked token (subclasses; none here)."""

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="tokenloop"'
