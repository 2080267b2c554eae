"""System checks that keep production from starting misconfigured (issue 13, item 1).

Registered by ``CoreConfig.ready`` under the ``tokenloop`` tag (and Django's ``security`` tag), so that
``manage.py check`` (and every command that checks first: ``migrate``, ``runserver``) reports them, and
``config/wsgi.py`` and the Celery worker (``config/celery.py``) run them before serving: ``refuse_to_start``.

Everywhere: the signing kid must name a configured secret. Under production settings (``settings.PRODUCTION``)
also: ``DEBUG`` off, and each secret present, strong enough and none of the development defaults
(``settings.DEVELOPMENT_SECRETS``: the values local and test settings use). Company A's secret is corporate's
(``corporate/checks.py``, same tag). Each error names the setting (and its environment variable); none prints a
secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

TAG = "tokenloop"
SECRET_KEY_MIN_LENGTH = 50  # Django's own rule (security.W009), here an error
SECRET_KEY_MIN_UNIQUE = 5
PLAYER_JWT_SECRET_MIN_BYTES = 32  # HS256: a key at least as long as the hash (RFC 7518, 3.2)


def error(id_: int, msg: str, hint: str) -> checks.Error:
    return checks.Error(msg, hint=hint, id=f"tokenloop.E{id_:03d}")


def _secret_key() -> str:
    try:
        return str(settings.SECRET_KEY or "")
    except ImproperlyConfigured:  # Django refuses to hand out an empty SECRET_KEY
        return ""


def configuration_errors() -> list[checks.CheckMessage]:
    """Every problem of the settings in force (empty: none)."""
    errors: list[checks.CheckMessage] = []
    player_secrets: dict[str, str] = dict(getattr(settings, "PLAYER_JWT_SECRETS", {}) or {})
    kid = getattr(settings, "PLAYER_JWT_KID", "")
    if kid not in player_secrets:
        errors.append(
            error(
                10,
                f"PLAYER_JWT_KID {kid!r} names no secret of PLAYER_JWT_SECRETS.",
                "The signing kid's secret is PLAYER_JWT_SECRET; older kids come from PLAYER_JWT_OLD_SECRETS.",
            )
        )
    ttl, longest = settings.PLAYER_JWT_TTL_SECONDS, settings.PLAYER_JWT_MAX_LIFETIME_SECONDS
    if not 0 < ttl <= longest:
        errors.append(
            error(
                15,
                f"PLAYER_JWT_TTL_SECONDS ({ttl}) must be positive and at most "
                f"PLAYER_JWT_MAX_LIFETIME_SECONDS ({longest}).",
                "Issued tokens would be refused: lower PLAYER_JWT_TTL_SECONDS or raise the maximum.",
            )
        )
    if is_production():
        errors += _production_errors(player_secrets)
    return errors


def is_production() -> bool:
    return bool(getattr(settings, "PRODUCTION", False))


def development_secrets() -> frozenset[str]:
    """The secrets' development defaults (local and test settings use them): never valid in production."""
    return frozenset(getattr(settings, "DEVELOPMENT_SECRETS", ()))


def _production_errors(player_secrets: dict[str, str]) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    defaults = development_secrets()
    if settings.DEBUG:
        errors.append(error(1, "DEBUG is on under production settings.", "Unset DJANGO_DEBUG (or set it false)."))
    key = _secret_key()
    if not key:
        errors.append(error(2, "SECRET_KEY is missing.", "Set DJANGO_SECRET_KEY."))
    elif key in defaults:
        errors.append(error(3, "SECRET_KEY is a development default.", "Set DJANGO_SECRET_KEY to a new random key."))
    elif len(key) < SECRET_KEY_MIN_LENGTH or len(set(key)) < SECRET_KEY_MIN_UNIQUE or key.startswith("django-"):
        errors.append(
            error(
                4,
                f"SECRET_KEY is too weak: fewer than {SECRET_KEY_MIN_LENGTH} characters, fewer than "
                f"{SECRET_KEY_MIN_UNIQUE} distinct ones, or Django's generated 'django-insecure-' key.",
                "Set DJANGO_SECRET_KEY, e.g. from: python -c 'import secrets; print(secrets.token_urlsafe(50))'.",
            )
        )
    plain = [origin for origin in getattr(settings, "CSRF_TRUSTED_ORIGINS", []) if not origin.startswith("https://")]
    if plain:
        errors.append(
            error(
                30,
                f"CSRF_TRUSTED_ORIGINS holds origins that are not HTTPS: {', '.join(plain)}.",
                "Production serves HTTPS only: list https:// origins.",
            )
        )
    if "*" in settings.ALLOWED_HOSTS:
        errors.append(
            error(
                31, "ALLOWED_HOSTS accepts any host ('*').", "Set DJANGO_ALLOWED_HOSTS to the names this service has."
            )
        )
    for kid, secret in sorted(player_secrets.items()):
        name = f"PLAYER_JWT_SECRETS[{kid!r}]"
        if not secret:
            errors.append(error(11, f"{name} is missing.", "Set PLAYER_JWT_SECRET."))
        elif secret in defaults:
            errors.append(error(12, f"{name} is a development default.", "Set PLAYER_JWT_SECRET to a new secret."))
        elif len(secret.encode()) < PLAYER_JWT_SECRET_MIN_BYTES:
            errors.append(
                error(
                    13,
                    f"{name} is shorter than {PLAYER_JWT_SECRET_MIN_BYTES} bytes.",
                    "Set PLAYER_JWT_SECRET, e.g. from: python -c 'import secrets; print(secrets.token_urlsafe(32))'.",
                )
            )
        elif secret == key:
            errors.append(error(14, f"{name} is the SECRET_KEY.", "Give player tokens a secret of their own."))
    return errors


@checks.register(TAG, checks.Tags.security)
def check_configuration(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return configuration_errors()


def refuse_to_start() -> None:
    """Raise ImproperlyConfigured, naming every setting at fault, when the settings in force must not serve
    (config/wsgi.py and the Celery worker call this once per process)."""
    errors = [e for e in checks.run_checks(tags=[TAG]) if e.is_serious()]
    if errors:
        raise ImproperlyConfigured(
            "Refusing to start:\n" + "\n".join(f"{e.id}: {e.msg} HINT: {e.hint}" for e in errors)
        )
