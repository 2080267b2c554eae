"""The web client's pages: /app/ serves the committed bundle with its settings; /dev/players/ exists only with
DEV_PAGES (the local settings), never with the production settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from core.auth import player_id_from_token
from tests import factories
from webclient.bundle import BUNDLE_DIR, bundle_get

ROOT = Path(__file__).resolve().parents[2]


def config_of(page: str) -> dict[str, str]:
    start = page.index('<script id="tl-config" type="application/json">') + len(
        '<script id="tl-config" type="application/json">'
    )
    return json.loads(page[start : page.index("</script>", start)])


def test_the_app_page_serves_the_committed_bundle_with_its_settings(client: Client, settings):
    # given the target URLs set
    settings.WEBCLIENT_GAME_URL = "https://games.example.test/{game}"
    settings.WEBCLIENT_CORPORATE_URL = "https://company-a.example.test/"
    # when /app/ is opened
    response = client.get("/app/")
    # then the page loads the bundle's script and style sheet, which exist, and hands the client its settings
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    page = response.content.decode()
    bundle = bundle_get()
    assert f'src="/static/{bundle.script}"' in page
    assert bundle.styles and all(f'href="/static/{css}"' in page for css in bundle.styles)
    for path in (bundle.script, *bundle.styles):
        assert (BUNDLE_DIR / path.removeprefix("webclient/")).is_file()
    assert config_of(page) == {
        "apiBase": "/api",
        "gameUrl": "https://games.example.test/{game}",
        "corporateUrl": "https://company-a.example.test/",
        "protectionUrl": "",
        "devPlayersUrl": "",
    }


def test_the_bundle_is_served_as_a_static_file(live_server):
    # given the live server (static files served as in development)
    import urllib.request

    # when the bundle's script is fetched
    with urllib.request.urlopen(f"{live_server.url}/static/{bundle_get().script}") as answer:
        body = answer.read()
    # then it is the built file
    assert body == (BUNDLE_DIR / bundle_get().script.removeprefix("webclient/")).read_bytes()


def test_without_dev_pages_the_dev_page_is_404(client: Client, settings, db):
    # given the test settings (DEV_PAGES off, as in production)
    settings.DEV_PAGES = False
    # then neither the list nor the token minting exists, and the client names no dev page
    assert client.get("/dev/players/").status_code == 404
    assert client.post("/dev/players/open", {"player_id": "1"}).status_code == 404
    assert config_of(client.get("/app/").content.decode())["devPlayersUrl"] == ""


def test_the_dev_page_lists_players_and_opens_the_client_as_one(client: Client, settings, db):
    # given DEV_PAGES on and two players
    settings.DEV_PAGES = True
    first = factories.make_player(locale="en", timezone="Europe/London")
    factories.make_player(locale="ko")
    # when the page is opened
    page = client.get("/dev/players/").content.decode()
    # then it lists them, each with a button, and the client links back to it
    assert f"Player {first.id} · en · Europe/London" in page
    assert config_of(client.get("/app/").content.decode())["devPlayersUrl"] == "/dev/players/"
    # when one is picked
    response = client.post("/dev/players/open", {"player_id": str(first.id)})
    # then the client opens with a short-lived token for that player in the fragment
    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith("/app/#token=")
    token = location.removeprefix("/app/#token=")
    assert player_id_from_token(token) == first.id
    import jwt

    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == settings.DEV_PLAYER_TOKEN_TTL_SECONDS


@pytest.mark.parametrize("bad", ["", "abc", "0", "-3", str(2**63)])
def test_the_dev_page_refuses_an_id_that_is_no_player_id(client: Client, settings, db, bad):
    settings.DEV_PAGES = True
    response = client.post("/dev/players/open", {"player_id": bad})
    assert response.status_code == 302
    assert response["Location"] == "/dev/players/?error=player_id"
    assert "a whole number above 0" in client.get(response["Location"]).content.decode()


def test_the_dev_page_needs_the_csrf_token(settings, db):
    settings.DEV_PAGES = True
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/dev/players/open", {"player_id": "1"}).status_code == 403


def test_under_the_production_settings_there_is_no_dev_page():
    # given the production settings, even with DEV_PAGES=true and DJANGO_DEBUG=true in the environment
    script = """
import django
django.setup()
from django.conf import settings
from django.test import Client
client = Client()
print(settings.DEV_PAGES)
print(client.get("/dev/players/", secure=True).status_code)
print(client.post("/dev/players/open", {"player_id": "1"}, secure=True).status_code)
print(client.get("/app/", secure=True).status_code)
"""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": "test-only-not-a-secret-0123456789abcdef0123456789abcdef",
        "PLAYER_JWT_SECRET": "test-only-not-a-secret",
        "CORPORATE_WEBHOOK_SECRET": "whsec_dGVzdC1vbmx5",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DEV_PAGES": "true",
        "DJANGO_DEBUG": "true",
    }
    # when the dev page is asked for
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    # then it does not exist (404), and the client itself does
    assert out == ["False", "404", "404", "200"]
