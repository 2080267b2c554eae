"""Secure by default (issue 13, item 1): production settings unless others are named, and they refuse to start with
DEBUG on or a missing, weak or development secret; /readyz names no host, user or error; no command prints a
credential under production settings."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from io import StringIO

import jwt
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from rest_framework.test import APIClient

from core.checks import configuration_errors as core_errors
from core.checks import refuse_to_start
from corporate.checks import check_webhook_secrets

STRONG_KEY = "a-production-secret-key-of-more-than-fifty-characters-xyz"
STRONG_JWT = "a-production-player-token-secret-of-40-bytes"
STRONG_WEBHOOK = "whsec_" + "cHJvZHVjdGlvbi13ZWJob29rLXNlY3JldC1vZi0zMi1ieXRlcw=="  # 32 bytes
SECRET_ENV = ("DJANGO_SETTINGS_MODULE", "DJANGO_SECRET_KEY", "PLAYER_JWT_SECRET", "CORPORATE_WEBHOOK_SECRET")


def run_python(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in SECRET_ENV and k != "DJANGO_DEBUG"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def production(settings):
    """The settings in force made production's, with strong secrets: each test then spoils one."""
    settings.PRODUCTION = True
    settings.DEBUG = False
    settings.SECRET_KEY = STRONG_KEY
    settings.PLAYER_JWT_KID = "k1"
    settings.PLAYER_JWT_SECRETS = {"k1": STRONG_JWT}
    settings.CORPORATE_WEBHOOK_SECRETS = [STRONG_WEBHOOK]
    return settings


def error_ids() -> set[str]:
    return {e.id for e in [*core_errors(), *check_webhook_secrets()] if e.id}


def test_without_a_settings_module_manage_py_runs_production_settings_and_refuses_without_secrets():
    # given no DJANGO_SETTINGS_MODULE and none of the secrets in the environment
    # when `manage.py check` runs
    result = run_python(["manage.py", "check"])
    # then it fails with a system check error naming each missing setting (production's rules, not local's)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for named in ("tokenloop.E002", "DJANGO_SECRET_KEY", "PLAYER_JWT_SECRET", "tokenloop.E021"):
        assert named in output


def test_the_wsgi_application_refuses_to_start_with_the_development_player_secret():
    # given production settings whose player secret is the development default (anyone can forge tokens with it)
    # when a server imports the WSGI application
    result = run_python(
        ["-c", "import config.wsgi"],
        DJANGO_SECRET_KEY=STRONG_KEY,
        PLAYER_JWT_SECRET=settings.DEV_PLAYER_JWT_SECRET,
        CORPORATE_WEBHOOK_SECRET=STRONG_WEBHOOK,
    )
    # then it stops before serving, naming the setting
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "tokenloop.E012" in result.stderr and "PLAYER_JWT_SECRET" in result.stderr
    assert settings.DEV_PLAYER_JWT_SECRET not in result.stderr  # the message names the setting, not the secret


def test_the_wsgi_application_starts_with_production_settings_and_strong_secrets():
    # given production settings with strong secrets
    # when a server imports the WSGI application
    result = run_python(
        ["-c", "import config.wsgi; print('started')"],
        DJANGO_SECRET_KEY=STRONG_KEY,
        PLAYER_JWT_SECRET=STRONG_JWT,
        CORPORATE_WEBHOOK_SECRET=STRONG_WEBHOOK,
    )
    # then it starts
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "started"


# Company A secrets that look right to the eye: Standard Webhooks' whsec_ and standard base64 of 24 to 64 bytes only.
MALFORMED_WEBHOOK_SECRETS = {
    "a trailing newline (pasted from a file)": STRONG_WEBHOOK + "\n",
    "a space before it (after a comma in a list)": " " + STRONG_WEBHOOK,
    "URL-safe base64": "whsec_" + "-_" * 16,
    "padding in the middle": "whsec_QUJDRA==QUJDRA==",
    "no prefix": STRONG_WEBHOOK.removeprefix("whsec_"),
    "the prefix capitalised": "W" + STRONG_WEBHOOK[1:],
    "an empty key": "whsec_",
}


@pytest.mark.parametrize("secret", MALFORMED_WEBHOOK_SECRETS.values(), ids=list(MALFORMED_WEBHOOK_SECRETS))
def test_a_malformed_webhook_secret_refuses_to_start_naming_the_setting(production, secret):
    # given production settings whose Company A secret is malformed (a rotation's second secret)
    production.CORPORATE_WEBHOOK_SECRETS = [STRONG_WEBHOOK, secret]
    # when the checks run, then the service refuses to start, naming the setting and which secret
    with pytest.raises(ImproperlyConfigured, match=r"tokenloop\.E020: CORPORATE_WEBHOOK_SECRET \(secret 2 of 2\)"):
        refuse_to_start()


def test_the_wsgi_application_refuses_to_start_with_a_malformed_webhook_secret():
    # given production settings whose Company A secret is not whsec_<base64> (its base64 URL-safe)
    secret = "whsec_" + "-_" * 16
    # when a server imports the WSGI application
    result = run_python(
        ["-c", "import config.wsgi"],
        DJANGO_SECRET_KEY=STRONG_KEY,
        PLAYER_JWT_SECRET=STRONG_JWT,
        CORPORATE_WEBHOOK_SECRET=secret,
    )
    # then it stops before serving, naming the setting, not the secret
    assert result.returncode != 0
    assert "tokenloop.E020" in result.stderr and "CORPORATE_WEBHOOK_SECRET" in result.stderr
    assert secret not in result.stderr


def test_strong_production_settings_pass(production):
    assert error_ids() == set()
    refuse_to_start()  # raises nothing


@pytest.mark.parametrize(
    ("spoil", "expected"),
    [
        (lambda s: setattr(s, "DEBUG", True), "tokenloop.E001"),
        (lambda s: setattr(s, "SECRET_KEY", settings.DEV_SECRET_KEY), "tokenloop.E003"),
        (lambda s: setattr(s, "SECRET_KEY", "too-short-0123456789"), "tokenloop.E004"),
        (lambda s: setattr(s, "SECRET_KEY", "django-insecure-" + "x1y2z3" * 10), "tokenloop.E004"),
        (lambda s: setattr(s, "SECRET_KEY", "a" * 60), "tokenloop.E004"),
        (lambda s: setattr(s, "PLAYER_JWT_SECRETS", {"k1": ""}), "tokenloop.E011"),
        (lambda s: setattr(s, "PLAYER_JWT_SECRETS", {"k1": settings.DEV_PLAYER_JWT_SECRET}), "tokenloop.E012"),
        (lambda s: setattr(s, "PLAYER_JWT_SECRETS", {"k1": STRONG_JWT, "k0": "short"}), "tokenloop.E013"),
        (lambda s: setattr(s, "PLAYER_JWT_SECRETS", {"k1": STRONG_KEY}), "tokenloop.E014"),
        (lambda s: setattr(s, "PLAYER_JWT_KID", "k2"), "tokenloop.E010"),
        (lambda s: setattr(s, "CORPORATE_WEBHOOK_SECRETS", []), "tokenloop.E021"),
        (lambda s: setattr(s, "CORPORATE_WEBHOOK_SECRETS", ["not-whsec"]), "tokenloop.E020"),
        (lambda s: setattr(s, "CORPORATE_WEBHOOK_SECRETS", ["whsec_!!!"]), "tokenloop.E020"),
        (lambda s: setattr(s, "CORPORATE_WEBHOOK_SECRETS", ["whsec_c2hvcnQ="]), "tokenloop.E020"),  # 5 bytes
        (
            lambda s: setattr(s, "CORPORATE_WEBHOOK_SECRETS", [STRONG_WEBHOOK, settings.DEV_CORPORATE_WEBHOOK_SECRET]),
            "tokenloop.E022",
        ),
        (lambda s: setattr(s, "CSRF_TRUSTED_ORIGINS", ["http://admin.example.com"]), "tokenloop.E030"),
        (lambda s: setattr(s, "ALLOWED_HOSTS", ["*"]), "tokenloop.E031"),
        (lambda s: setattr(s, "PLAYER_JWT_TTL_SECONDS", 90_000), "tokenloop.E015"),
    ],
)
def test_production_refuses_debug_and_missing_weak_or_development_secrets(production, spoil, expected):
    # given production settings with one thing wrong
    spoil(production)
    # when the checks run
    # then that error is reported, and the service refuses to start naming it
    assert expected in error_ids()
    with pytest.raises(ImproperlyConfigured, match=expected):
        refuse_to_start()


def test_development_settings_keep_their_defaults(settings):
    # given the local/test settings (not production), with their development secrets
    assert not settings.PRODUCTION
    # then no error is reported (development runs with no configuration)
    assert error_ids() == set()


@pytest.mark.django_db
def test_a_token_forged_with_the_development_secret_is_refused_under_production_secrets(production):
    # given production settings (strong secrets) and a token signed with the published development secret
    now = int(__import__("time").time())
    claims = {"sub": "9", "iat": now, "exp": now + 600, "iss": settings.PLAYER_JWT_ISSUER}
    claims["aud"] = settings.PLAYER_JWT_AUDIENCE
    forged = jwt.encode(claims, settings.DEV_PLAYER_JWT_SECRET, algorithm="HS256", headers={"kid": "k1"})
    # when it is used
    response = APIClient().get("/api/me/protection", HTTP_AUTHORIZATION=f"Bearer {forged}")
    # then it is refused
    assert response.status_code == 401
    assert response.json()["error"] == "authentication_failed"


def test_readyz_says_what_is_down_without_naming_host_user_or_error():
    # given a database that cannot be reached, named by a URL with a user, a password, a host and a port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    url = f"postgres://leakyuser:leakypass@127.0.0.1:{port}/leakydb"
    script = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client().get('/readyz', HTTP_HOST='localhost'); print(r.status_code); print(r.content.decode())"
    )
    # when /readyz is asked
    result = run_python(
        ["-c", script],
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=url,
        REDIS_URL="",
        LOG_LEVEL="CRITICAL",
    )
    # then it answers 503 saying the database is down, and nothing about where or why
    assert result.returncode == 0, result.stderr
    status, body = result.stdout.strip().splitlines()[-2:]
    assert status == "503"
    assert '"database": "down"' in body or '"database":"down"' in body
    for leak in ("leakyuser", "leakypass", "leakydb", "127.0.0.1", str(port), "Error", "error"):
        assert leak not in body


@pytest.mark.django_db
def test_ensure_staff_user_prints_no_password_under_production_settings(settings):
    # given production settings
    settings.PRODUCTION = True
    out = StringIO()
    # when the staff user is made
    call_command("ensure_staff_user", stdout=out)
    # then it exists with no usable password, and the output says how to set one (and holds no password)
    user = get_user_model().objects.get(username="admin")
    assert user.is_superuser and not user.has_usable_password()
    assert "changepassword admin" in out.getvalue()
    assert "password '" not in out.getvalue()  # how the development run prints the generated one


def test_serve_sh_prints_no_broker_credential():
    # given serve.sh's source
    source = (settings.BASE_DIR / "scripts" / "serve.sh").read_text()
    # then every line that prints names no URL variable whole (a URL may hold a password)
    for line in source.splitlines():
        if line.strip().startswith("echo") and "_URL" in line:
            assert "%%://*" in line, line


def test_benches_log_urls_without_their_credentials():
    # given the benches' sources, and the helper they log URLs through
    from bench.common import url_shown

    assert url_shown("redis://:s3cret@127.0.0.1:6379/15") == "redis://127.0.0.1:6379/15"
    assert url_shown("postgres://user:pw@db.internal:5432/tl") == "postgres://db.internal:5432/tl"
    # then no log line prints a URL setting whole
    for path in (settings.BASE_DIR / "bench").glob("*.py"):
        for line in path.read_text().splitlines():
            if "log(" in line or "print(" in line:
                assert "redis_url}" not in line and "database_url}" not in line, f"{path.name}: {line.strip()}"


def test_a_celery_worker_refuses_to_start_as_the_web_processes_do(production):
    # given production settings with DEBUG on
    from config.celery import _refuse_to_start

    production.DEBUG = True
    # when a worker starts, then it stops naming the setting
    with pytest.raises(ImproperlyConfigured, match=r"tokenloop\.E001"):
        _refuse_to_start()
