"""Shared fixtures. Real parts only: the database and cache under test are the configured ones
(SQLite + local memory on the embedded default; PostgreSQL + Redis with DATABASE_URL/REDIS_URL)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.cache import caches
from django.test import Client
from rest_framework.test import APIClient

from core.caches import local_caches_clear
from core.hotstore import hot_store
from core.redis_faults import redis_pause_clear
from tests import factories


@pytest.fixture(scope="session", autouse=True)
def _ledger_purge_during_flush() -> Iterator[None]:
    """Emptying the test database between transactional tests deletes ledger rows, which SQLite's trigger
    refuses (wallet migration 0003) unless ``token_ledger_purge`` holds a row: set it for the flush only."""
    from django.core.management.commands import flush

    original = flush.Command.handle

    def handle(self: flush.Command, **options: object) -> None:
        with factories.ledger_purge_allowed():
            return original(self, **options)

    flush.Command.handle = handle  # type: ignore[method-assign]
    yield
    flush.Command.handle = original  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _clean_caches() -> Iterator[None]:
    """Each test starts with Redis asked again (no pause left by an earlier test's timeouts), an empty hot keyspace
    and cache, and no cached API keys or message texts."""
    redis_pause_clear()
    hot_store.flush()
    if not hot_store.is_redis:  # on Redis both caches are REDIS_URL's database, which the flush just emptied
        caches["default"].clear()
    local_caches_clear()
    yield


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def service_client(db: None) -> APIClient:
    """A client authenticated as a trusted service (Api-Key)."""
    _, key = factories.make_api_key()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def staff(db: None) -> Client:
    """A browser-like client logged in as a staff user (the admin and the dashboard); a module may name its own."""
    client = Client()
    client.force_login(factories.make_staff_user())
    return client


@pytest.fixture
def player_client_factory(db: None) -> Callable[[int], APIClient]:
    """``player_client_factory(player_id)`` gives a client authenticated as that player (Bearer JWT)."""

    def make(player_id: int) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {factories.player_token(player_id)}")
        return client

    return make


@pytest.fixture
def post_actions(service_client: APIClient, django_capture_on_commit_callbacks: Any) -> Callable[[list[Any]], None]:
    """``post_actions(batch)`` sends a batch to POST /api/actions (it must be accepted) and runs its after-commit
    work (hot metrics, live state, reality checks), as a real request would."""

    def run(batch: list[Any]) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            response = service_client.post("/api/actions", {"actions": batch}, format="json")
        assert response.status_code == 200, response.content

    return run


@pytest.fixture
def redis_only() -> None:
    """For tests about Redis itself: they run in the PostgreSQL + Redis pass (REDIS_URL set)."""
    if not hot_store.is_redis:
        pytest.skip("needs REDIS_URL: runs in the PostgreSQL + Redis pass of .ci/run")


@pytest.fixture
def redis_round_trips(redis_only: None, monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """Counts commands written to Redis sockets from now on: ``redis_round_trips()`` is the count so far.

    The hot-store connection is opened and the Lua scripts loaded first, so neither is counted.
    """
    import redis.connection

    hot_store.redis().ping()
    hot_store.load_scripts()
    original = redis.connection.Connection.send_packed_command
    sent: list[object] = []

    def counting(self: redis.connection.Connection, command: object, check_health: bool = True) -> None:
        sent.append(command)
        original(self, command, check_health)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counting)
    return lambda: len(sent)


# --- Browser tests: Debian's Chromium driven by Playwright, against pytest-django's live server ------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser(django_db_setup: None, live_server: Any) -> Iterator[Any]:
    """One Chromium for the module, started after the test database and the live server exist."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium package to run the browser tests"
        if os.environ.get("REQUIRE_BROWSER"):  # CI (.ci/run) installs it: there a missing browser is a failure
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as env, sync_playwright() as playwright:
        # Playwright's sync API keeps an asyncio event loop running in this thread while the browser is open,
        # so Django's ORM calls here (creating the staff user, transactional_db's flush) would raise
        # SynchronousOnlyOperation. No async code shares a connection with them: allow it, for this module only.
        env.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
