"""Service keys (issue 13, item 2): scopes per endpoint, expiry, last used, revocation (docs/decisions/0019)."""

from __future__ import annotations

import datetime as dt
import time
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.permissions import AND, OR
from rest_framework.test import APIClient

from core import auth, caches
from core.models import ApiKey
from core.permissions import IsService
from core.scopes import ALL_SCOPES, Scope
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = dt.date.today().isoformat()

# Every endpoint a service key may call, with the scope it needs (the test below checks the list is complete).
SCOPED = [
    ("post", "/api/actions", Scope.INGEST),
    ("post", "/api/wallet/spend", Scope.WALLET_SPEND),
    ("post", "/api/wallet/purchase", Scope.WALLET_PURCHASE),
    ("post", "/api/wallet/purchase/check", Scope.WALLET_PURCHASE),
    ("post", "/api/wallet/refund", Scope.WALLET_REFUND),
    ("get", "/api/users/1/wallet", Scope.WALLET_READ),
    ("get", "/api/users/1/segment", Scope.SEGMENTS_READ),
    ("get", "/api/users/1/recommendations", Scope.RECOMMENDATIONS_READ),
    ("get", "/api/quiz?user_id=1", Scope.QUIZ_READ),
    ("post", "/api/quiz/submit", Scope.QUIZ_SUBMIT),
    ("post", "/api/users/1/age-verification", Scope.AGE_VERIFY),
    ("get", "/api/users/1/predictions", Scope.PREDICTIONS_READ),
    *[
        ("get", f"/api/analytics/{name}?from={TODAY}&to={TODAY}", Scope.ANALYTICS_READ)
        for name in ("daily", "retention", "churn", "tokens", "peak-hours", "rfm", "proposals", "protection")
    ],
]


def client_with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def call(client: APIClient, method: str, path: str) -> Any:
    return getattr(client, method)(path, {}, format="json") if method == "post" else client.get(path)


def _names_service(permission: Any) -> bool:
    if isinstance(permission, OR | AND):
        return _names_service(getattr(permission, "op1", None)) or _names_service(getattr(permission, "op2", None))
    return isinstance(permission, IsService)


def _service_views() -> set[type]:
    """Every routed view class whose permissions admit a service key (IsService, alone or combined)."""
    found: set[type] = set()

    def walk(patterns: list[Any]) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "view_class", None)
                if view is not None and any(_names_service(p) for p in getattr(view(), "get_permissions", list)()):
                    found.add(view)

    walk(get_resolver().url_patterns)
    return found


def test_every_service_endpoint_declares_a_scope_and_is_tested_here():
    # given every view a service key may reach
    views = _service_views()
    # then each declares a known scope, and SCOPED covers each of them
    assert views
    assert {view.__name__: getattr(view, "required_scope", None) in ALL_SCOPES for view in views} == {
        view.__name__: True for view in views
    }
    resolver = get_resolver()
    tested = {resolver.resolve(path.split("?")[0]).func.view_class for _, path, _ in SCOPED}  # type: ignore[attr-defined]
    assert views == tested


def test_every_scope_is_used_by_an_endpoint():
    assert {scope for _, _, scope in SCOPED} == set(Scope)


@pytest.mark.parametrize(("method", "path", "scope"), SCOPED, ids=[f"{m} {p.split('?')[0]}" for m, p, _ in SCOPED])
def test_a_key_without_the_scope_is_403_naming_it(method, path, scope):
    # given a key holding every scope but this endpoint's
    _, key = factories.make_api_key(scopes=[s for s in ALL_SCOPES if s != scope])
    # when it calls the endpoint
    response = call(client_with_key(key), method, path)
    # then the answer is 403 naming the missing scope
    assert response.status_code == 403
    assert response.json() == {"error": "missing_scope", "message": f"This API key lacks the scope '{scope}'."}


@pytest.mark.parametrize(("method", "path", "scope"), SCOPED, ids=[f"{m} {p.split('?')[0]}" for m, p, _ in SCOPED])
def test_a_key_with_only_the_scope_is_let_through(method, path, scope):
    # given a key holding only this endpoint's scope
    _, key = factories.make_api_key(scopes=[scope])
    # when it calls the endpoint (an empty body: a 400 says the permission let it through)
    response = call(client_with_key(key), method, path)
    # then it is neither refused nor a server error
    assert response.status_code not in (401, 403)
    assert response.status_code < 500


def test_a_view_that_declares_no_scope_admits_no_key(monkeypatch):
    # given the ingest view without its scope
    from activity.api import ActionIngestApi

    monkeypatch.delattr(ActionIngestApi, "required_scope")
    _, key = factories.make_api_key()
    # when a key holding every scope calls it
    response = call(client_with_key(key), "post", "/api/actions")
    # then it is refused
    assert response.status_code == 403
    assert response.json()["error"] == "missing_scope"


def test_players_and_staff_are_not_concerned_by_scopes():
    # given a player token and a staff session
    player = APIClient()
    player.credentials(HTTP_AUTHORIZATION=f"Bearer {factories.player_token(7)}")
    staff = APIClient()
    staff.force_login(factories.make_staff_user())
    # when they call endpoints that services reach with a scope
    assert player.get("/api/quiz").status_code == 200
    assert staff.get(f"/api/analytics/daily?from={TODAY}&to={TODAY}").status_code == 200


# --- expiry ---------------------------------------------------------------------------------------


def test_an_expired_key_is_401():
    # given a key that expired a second ago, and one that expires in an hour
    _, expired = factories.make_api_key(expires_at=timezone.now() - dt.timedelta(seconds=1))
    _, valid = factories.make_api_key(expires_at=timezone.now() + dt.timedelta(hours=1))
    # when each ingests
    refused = call(client_with_key(expired), "post", "/api/actions")
    accepted = call(client_with_key(valid), "post", "/api/actions")
    # then the expired one is 401 saying so, the other passes authentication
    assert refused.status_code == 401
    assert refused.json() == {"error": "authentication_failed", "message": "API key has expired."}
    assert accepted.status_code == 400  # the empty batch: authenticated and permitted


def test_expiry_is_compared_with_the_clock_on_every_request_not_when_the_keys_were_read(monkeypatch):
    # given the key snapshot kept for a while, and a key expiring in a minute that worked
    with override_settings(API_KEY_REFRESH_SECONDS=3600.0):
        _, key = factories.make_api_key(expires_at=timezone.now() + dt.timedelta(minutes=1))
        client = client_with_key(key)
        assert call(client, "post", "/api/actions").status_code == 400
        # when the minute has passed (the snapshot is not read again)
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + 61)
        # then it is refused
        assert call(client, "post", "/api/actions").status_code == 401


# --- revocation -----------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = time.monotonic()

    def __call__(self) -> float:
        return self.now


@override_settings(API_KEY_REFRESH_SECONDS=0.5)
def test_a_key_revoked_in_another_process_is_refused_within_a_second(monkeypatch, django_assert_num_queries):
    # given a process whose key snapshot was read at t=0 (a frozen monotonic clock: no sleeping, no reload thread)
    clock = FakeClock()
    monkeypatch.setattr(time, "monotonic", clock)
    obj, key = factories.make_api_key()
    client = client_with_key(key)
    assert call(client, "post", "/api/actions").status_code == 400
    # when another process revokes the key (a database write; this process's snapshot is not told)
    ApiKey.objects.filter(pk=obj.pk).update(revoked_at=timezone.now())
    # then within the refresh interval this process still answers from its snapshot, with no query for the key
    clock.now += 0.4
    with django_assert_num_queries(0):
        assert auth.api_keys()[obj.key_hash][0].key_id == obj.pk
    # and one second after it read the keys (twice the refresh interval) it reads them again and refuses the key
    clock.now += 0.6
    response = call(client, "post", "/api/actions")
    assert response.status_code == 401
    assert response.json()["message"] == "Unknown or revoked API key."


@override_settings(API_KEY_REFRESH_SECONDS=0.5)
def test_between_half_a_second_and_a_second_a_request_starts_a_reload_and_does_not_wait(monkeypatch):
    # given a snapshot read at t=0, and the reload thread replaced by a recorder
    clock = FakeClock()
    monkeypatch.setattr(time, "monotonic", clock)
    _, key = factories.make_api_key()
    client = client_with_key(key)
    assert call(client, "post", "/api/actions").status_code == 400
    started: list[str] = []

    class Recorder:
        def __init__(self, *, target: Any, name: str, daemon: bool) -> None:
            started.append(name)

        def start(self) -> None:
            auth._keys._reloading.release()  # as the reload's own end would

    monkeypatch.setattr(caches.threading, "Thread", Recorder)
    # when a request comes at t=0.6
    clock.now += 0.6
    # then it is answered from the snapshot, and a reload was started on its own thread
    assert call(client, "post", "/api/actions").status_code == 400
    assert started == ["api-keys"]


def test_a_key_revoked_in_this_process_is_refused_at_once(django_capture_on_commit_callbacks):
    # given a process that keeps its key snapshot for an hour, and a key that worked
    with override_settings(API_KEY_REFRESH_SECONDS=3600.0):
        obj, key = factories.make_api_key()
        client = client_with_key(key)
        assert call(client, "post", "/api/actions").status_code == 400
        # when it revokes the key
        with django_capture_on_commit_callbacks(execute=True):
            assert auth.api_key_revoke(key_id=obj.pk) is True
        # then the key is refused on the next request, and revoking again changes nothing
        assert call(client, "post", "/api/actions").status_code == 401
        assert auth.api_key_revoke(key_id=obj.pk) is False


def test_an_unknown_key_costs_no_query_once_the_keys_are_read(django_assert_num_queries):
    with override_settings(API_KEY_REFRESH_SECONDS=3600.0):
        factories.make_api_key()
        auth.api_keys()
        with django_assert_num_queries(0):
            assert call(client_with_key("tl_not-a-key"), "post", "/api/actions").status_code == 401


# --- last used ------------------------------------------------------------------------------------


@override_settings(API_KEY_REFRESH_SECONDS=0.5, API_KEY_LAST_USED_SECONDS=60.0)
def test_last_used_is_written_by_the_key_reload_at_most_once_a_minute(monkeypatch, django_assert_num_queries):
    # given a frozen clock and a key never used
    clock = FakeClock()
    monkeypatch.setattr(time, "monotonic", clock)
    obj, key = factories.make_api_key()
    client = client_with_key(key)
    # when it is used at t=0, and again at t=1 s (the keys read again each time: twice the refresh interval)
    call(client, "post", "/api/actions")
    clock.now += 1
    with django_assert_num_queries(1):  # the key reload only: no write for the use
        call(client, "post", "/api/actions")
    obj.refresh_from_db()
    assert obj.last_used_at is None
    # when the keys are read a minute after the first use
    clock.now += 60
    with django_assert_num_queries(2):  # the reload writes the use (one UPDATE) and reads the keys
        call(client, "post", "/api/actions")
    # then last_used_at is set, and the next reloads do not write it again within the minute
    obj.refresh_from_db()
    assert obj.last_used_at is not None
    clock.now += 1
    with django_assert_num_queries(1):
        call(client, "post", "/api/actions")


def test_a_request_with_a_known_key_makes_no_statement_of_its_own():
    # given the key snapshot already read (refreshed on its own, not by requests)
    with override_settings(API_KEY_REFRESH_SECONDS=3600.0):
        _, key = factories.make_api_key()
        client = client_with_key(key)
        call(client, "get", "/api/users/1/segment")
        # when the key is used again
        with CaptureQueriesContext(connection) as queries:
            call(client, "get", "/api/users/1/segment")
    # then no statement touches the key table (neither a lookup nor a last-used write)
    assert not [q["sql"] for q in queries.captured_queries if "core_apikey" in q["sql"]]


# --- commands and admin ---------------------------------------------------------------------------


def test_create_api_key_takes_the_scopes_and_an_expiry():
    out, err = StringIO(), StringIO()
    call_command("create_api_key", "game-server", "--scope", "ingest", "--scope=wallet:spend", stdout=out, stderr=err)
    call_command("create_api_key", "demo", "--all-scopes", "--expires-in-days", "30", stdout=StringIO(), stderr=err)
    game, demo = ApiKey.objects.get(name="game-server"), ApiKey.objects.get(name="demo")
    assert game.scopes == ["ingest", "wallet:spend"] and game.expires_at is None
    assert sorted(demo.scopes) == sorted(ALL_SCOPES)
    assert demo.expires_at is not None and demo.expires_at > timezone.now() + dt.timedelta(days=29)
    assert "scopes ingest, wallet:spend" in err.getvalue()
    # and the key made works for its scope only
    client = client_with_key(out.getvalue().strip().splitlines()[-1])
    assert call(client, "post", "/api/actions").status_code == 400
    assert call(client, "post", "/api/wallet/purchase").status_code == 403


@pytest.mark.parametrize("args", [[], ["--scope", "everything"], ["--all-scopes", "--expires-in-days", "0"]])
def test_create_api_key_refuses_no_scope_an_unknown_one_or_a_past_expiry(args):
    with pytest.raises(CommandError):
        call_command("create_api_key", "svc", *args, stdout=StringIO(), stderr=StringIO())
    assert not ApiKey.objects.exists()


@pytest.mark.parametrize("by", ["id", "prefix", "prefix…"])
def test_revoke_api_key_by_id_or_prefix(by, django_capture_on_commit_callbacks):
    # given a key that works, and another
    obj, key = factories.make_api_key("game-server")
    _, other_key = factories.make_api_key("analytics")
    assert call(client_with_key(key), "post", "/api/actions").status_code == 400
    given = {"id": str(obj.pk), "prefix": obj.prefix, "prefix…": f"{obj.prefix}…"}[by]
    # when it is revoked by command
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("revoke_api_key", given, stdout=out)
    # then it is revoked and refused; the other key is not
    assert "Revoked API key" in out.getvalue() and "game-server" in out.getvalue()
    obj.refresh_from_db()
    assert obj.revoked_at is not None
    assert call(client_with_key(key), "post", "/api/actions").status_code == 401
    assert call(client_with_key(other_key), "post", "/api/actions").status_code == 400
    # and again: nothing more to do
    again = StringIO()
    call_command("revoke_api_key", given, stdout=again)
    assert "revoked already" in again.getvalue()


def test_revoke_api_key_refuses_an_unknown_or_ambiguous_key():
    a, _ = factories.make_api_key()
    b, _ = factories.make_api_key()
    ApiKey.objects.filter(pk=b.pk).update(prefix=a.prefix)
    with pytest.raises(CommandError, match="No API key"):
        call_command("revoke_api_key", "tl_nothing", stdout=StringIO())
    with pytest.raises(CommandError, match="Several API keys"):
        call_command("revoke_api_key", a.prefix, stdout=StringIO())
    assert not ApiKey.objects.filter(revoked_at__isnull=False).exists()


def test_list_api_keys_shows_scopes_and_state():
    obj, _ = factories.make_api_key("game-server", scopes=["ingest"])
    auth.api_key_revoke(key_id=obj.pk)
    out = StringIO()
    call_command("list_api_keys", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("id\tprefix\tname\tscopes")
    row = lines[1].split("\t")
    assert row[:4] == [str(obj.pk), obj.prefix, "game-server", "ingest"] and row[-1] != "-"


def test_the_admin_lists_keys_and_revokes_them(django_capture_on_commit_callbacks):
    # given staff, a key in use and another
    obj, key = factories.make_api_key("game-server", scopes=["ingest", "wallet:spend"])
    factories.make_api_key("analytics", scopes=["analytics:read"])
    staff = APIClient()
    staff.force_login(factories.make_staff_user())
    url = reverse("admin:core_apikey_changelist")
    # when staff open the list
    listing = staff.get(url)
    # then it shows each key with its scopes, and offers no way to add or delete one
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "game-server" in page and "ingest, wallet:spend" in page and "analytics:read" in page
    assert reverse("admin:core_apikey_add") not in page
    # when they revoke the first with the action
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(url, {"action": "revoke", "_selected_action": [obj.pk]}, follow=True)
    # then it is revoked, said so, and refused
    assert response.status_code == 200
    assert "Revoked: game-server." in response.content.decode()
    obj.refresh_from_db()
    assert obj.revoked_at is not None
    assert call(client_with_key(key), "post", "/api/actions").status_code == 401
    # and the change page shows the key read-only
    assert staff.get(reverse("admin:core_apikey_change", args=[obj.pk])).status_code == 200


# Scopes made after core.0003 gave the keys of that time every scope: no key held them before, so none is given them.
SCOPES_ADDED_SINCE = {Scope.WALLET_REFUND, Scope.PREDICTIONS_READ}


def test_the_migration_gives_existing_keys_every_scope():
    from importlib import import_module

    from django.apps import apps

    migration = import_module("core.migrations.0003_api_keys_get_every_scope")
    obj = ApiKey.objects.create(name="old", prefix="tl_old", key_hash="0" * 64)
    kept, _ = factories.make_api_key(scopes=["ingest"])
    migration.give_every_scope(apps, None)
    obj.refresh_from_db()
    kept.refresh_from_db()
    assert obj.scopes == migration.EVERY_SCOPE and set(migration.EVERY_SCOPE) == set(ALL_SCOPES) - SCOPES_ADDED_SINCE
    assert kept.scopes == ["ingest"]
