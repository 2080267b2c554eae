"""Faults (issue 13, item 7; docs/decisions/0023): a hung Redis never stalls a request, every caller falls back as
the design brief says, and a PostgreSQL connection the server closed costs no 500.

The hung Redis is real at the socket level: a listener on 127.0.0.1 that accepts every connection and never answers,
so each test runs in both passes (SQLite and PostgreSQL) with no Redis of its own. A request's duration is asserted
only against a second, far above the 250 ms bar, to show it did not hang: how fast the routes are with Redis hung is
for bench/faults.py to measure, not a test.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import psycopg
import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import RequestFactory, override_settings
from redis.exceptions import TimeoutError as RedisTimeoutError

from config.settings.base import redis_caches
from core import metrics
from core.hotstore import hot_store
from core.redis_faults import FailFastConnectionPool, RedisPaused, redis_failure_record
from tests import factories
from tests.faults import HungRedis
from tests.wallet.helpers import db_balance, fund
from wallet.models import LedgerEntry

PLAYER = 4900
PRODUCTION_THROTTLES = {"player": "300/min", "service": "60000/min"}  # throttled requests ask Redis too
HANG_LIMIT_SECONDS = 1.0  # a request that took longer hung (with no Redis timeout it takes HungRedis.hold per call)


@pytest.fixture
def hung_redis() -> Iterator[HungRedis]:
    """Both Redis caches (the hot store and the default cache behind the throttles) on a Redis that never answers,
    with the settings' timeouts and production's throttle rates."""
    with HungRedis() as hung, override_settings(CACHES=redis_caches(hung.url), THROTTLE_RATES=PRODUCTION_THROTTLES):
        yield hung


def redis_errors() -> float:
    return float(metrics.DEPENDENCY_ERRORS.labels("redis")._value.get())


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


@pytest.mark.django_db
def test_every_redis_client_times_out_as_the_settings_say():
    # given the caches on a Redis URL no other test uses (django-redis keeps one pool per URL; nothing needs to
    # listen: no call is made)
    with override_settings(CACHES=redis_caches("redis://127.0.0.1:1/13")):
        # when the clients the project builds are made: the hot store's, its bulk one, the default cache's
        clients = {
            "hot": hot_store.redis(),
            "default": cast(Any, caches["default"]).client.get_client(write=True),
            "bulk": hot_store.redis(bulk=True),
        }
        kwargs = {name: client.connection_pool.connection_kwargs for name, client in clients.items()}
    # then each gives up connecting after REDIS_CONNECT_TIMEOUT_SECONDS, and reading after the short timeout (the
    # bulk one: its own, longer), and each fails fast while Redis does not answer
    for name in ("hot", "default", "bulk"):
        assert kwargs[name]["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT_SECONDS
        assert isinstance(clients[name].connection_pool, FailFastConnectionPool)
    short = settings.REDIS_SOCKET_TIMEOUT_SECONDS
    assert kwargs["hot"]["socket_timeout"] == kwargs["default"]["socket_timeout"] == short
    assert kwargs["bulk"]["socket_timeout"] == settings.REDIS_BULK_SOCKET_TIMEOUT_SECONDS
    assert settings.REDIS_CONNECT_TIMEOUT_SECONDS < 0.1 and settings.REDIS_SOCKET_TIMEOUT_SECONDS < 0.1


@pytest.mark.django_db
@override_settings(REDIS_RETRY_AFTER_SECONDS=0.3)
def test_after_a_redis_timeout_calls_fail_at_once_for_a_while_and_then_ask_redis_again(hung_redis):
    # given a call that timed out on the hung Redis
    with pytest.raises(RedisTimeoutError):
        hot_store.get_many(["user:1:streak_count"])
    asked = hung_redis.connections
    # when the next calls come at once, and one more after REDIS_RETRY_AFTER_SECONDS
    with pytest.raises(RedisPaused):
        hot_store.get_many(["user:1:streak_count"])
    with pytest.raises(RedisPaused):
        caches["default"].get("anything")
    paused_calls_asked = hung_redis.connections - asked
    time.sleep(0.35)
    with pytest.raises(RedisTimeoutError):
        hot_store.get_many(["user:1:streak_count"])
    # then the calls in the pause never reached Redis (both caches alike), and the one after it did
    assert paused_calls_asked == 0
    assert hung_redis.connections > asked


@pytest.mark.django_db
def test_with_redis_hung_a_recommendation_is_served_without_the_live_state(hung_redis, player_client_factory, caplog):
    # given a player with a balance (in the database), and Redis hung
    factories.make_player(id=PLAYER)
    fund(PLAYER, 250)
    client = player_client_factory(PLAYER)
    errors_before = redis_errors()
    # when the player asks for a recommendation
    with caplog.at_level(logging.WARNING):
        response, seconds = timed(lambda: client.get("/api/me/recommendations"))
    # then it is served from the database (balance 250, no win streak: the live state is the hot part), did not
    # hang, and the throttle's and the live state's timeouts are logged and counted
    assert response.status_code == 200, response.content
    assert response.json()["user_id"] == PLAYER
    assert {p["reason"].get("token_balance") for p in response.json()["proposals"]} >= {250}
    assert seconds < HANG_LIMIT_SECONDS
    assert "hot store unreachable: no live state" in caplog.text
    assert "the cache failed; the request goes through" in caplog.text
    assert redis_errors() - errors_before == 2
    assert hung_redis.connections >= 1  # Redis was asked: the fallback is what answered


@pytest.mark.django_db
def test_with_redis_hung_a_spend_is_recorded_and_its_redis_write_skipped(
    hung_redis, service_client, django_capture_on_commit_callbacks, caplog
):
    # given a player with 100 tokens, and Redis hung
    factories.make_player(id=PLAYER)
    fund(PLAYER, 100)
    errors_before = redis_errors()
    body = {"user_id": PLAYER, "amount": 30, "game": "Roulette", "idempotency_key": "hung-1"}
    # when a spend of 30 arrives (its after-commit work run as a real commit would)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        response, seconds = timed(lambda: service_client.post("/api/wallet/spend", body, format="json"))
    # then it is decided and recorded by the database, did not hang, and the Redis writes it could not make (the
    # balance, the hot metrics) and the throttle's count are logged and counted
    assert response.status_code == 201, response.content
    assert response.json()["balance"] == 70
    assert db_balance(PLAYER) == 70
    assert LedgerEntry.objects.filter(player_id=PLAYER, kind="SPEND").count() == 1  # the key is scoped to the caller
    assert seconds < HANG_LIMIT_SECONDS
    assert "balance cache update failed" in caplog.text
    assert "hot metrics update failed" in caplog.text
    assert redis_errors() - errors_before == 3


@pytest.mark.django_db
def test_with_redis_hung_a_balance_is_read_from_the_database_and_no_rebuild_is_tried(
    hung_redis, player_client_factory, caplog
):
    # given a player with 100 tokens, and Redis hung
    factories.make_player(id=PLAYER)
    fund(PLAYER, 100)
    client = player_client_factory(PLAYER)
    errors_before = redis_errors()
    # when the player reads their wallet
    with caplog.at_level(logging.WARNING):
        response, seconds = timed(lambda: client.get("/api/me/wallet"))
    # then the database's balance is served, the request did not hang, and Redis was tried twice only (the
    # throttle's count, the cached balance's read: no rebuild of the key, which would wait as long again)
    assert response.status_code == 200, response.content
    assert response.json()["balance"] == 100
    assert seconds < HANG_LIMIT_SECONDS
    assert "balance cache unreachable" in caplog.text
    assert "balance cache update failed" not in caplog.text
    assert redis_errors() - errors_before == 2


@pytest.mark.django_db
def test_an_outage_is_logged_as_one_line_a_call_without_tracebacks(hung_redis, player_client_factory, caplog):
    # given Redis hung, and a player reading their wallet three times (the first Redis call, the throttle's, times
    # out and pauses Redis; the calls after it fail at once)
    factories.make_player(id=PLAYER)
    fund(PLAYER, 100)
    client = player_client_factory(PLAYER)
    # when the requests are served
    with caplog.at_level(logging.WARNING):
        statuses = [client.get("/api/me/wallet").status_code for _ in range(3)]
    # then each is answered, and each failed call is one warning line naming the error, with no traceback
    assert statuses == [200, 200, 200]
    failures = [r for r in caplog.records if "balance cache unreachable" in r.getMessage()]
    assert len(failures) == 3
    assert all(r.levelno == logging.WARNING and r.exc_info is None for r in failures)
    assert all("RedisPaused" in r.getMessage() for r in failures)
    assert any("(TimeoutError: " in r.getMessage() for r in caplog.records)
    assert "Traceback" not in caplog.text


def test_an_error_that_is_not_redis_silence_keeps_its_traceback(caplog):
    # given an error that is not Redis failing to answer (a bug in the caller's own code)
    try:
        raise KeyError("live")
    except KeyError as exc:
        bug = exc
    # when it is recorded as a failed Redis call
    with caplog.at_level(logging.WARNING):
        redis_failure_record(logging.getLogger("tests.faults"), bug, "hot metrics update failed for %d players", 3)
    # then it is an error with its traceback
    (record,) = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info is not None
    assert record.getMessage() == "hot metrics update failed for 3 players"


# --- PostgreSQL: a connection the server closed ---------------------------------------------------------------


def wsgi_call(method: str, path: str, body: bytes = b"", *, authorization: str) -> tuple[int, bytes]:
    """One request through Django's WSGI handler in this thread, as granian's thread runs it: the request's start
    and end signals included (Django's test client leaves out the connection checks they make)."""
    environ = (
        RequestFactory()
        .generic(method, path, body, content_type="application/json", HTTP_AUTHORIZATION=authorization)
        .environ
    )
    status: list[str] = []

    def start_response(
        status_line: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        status.append(status_line)
        return lambda data: None

    response = WSGIHandler()(environ, start_response)
    try:
        content = b"".join(response)
    finally:
        response.close()
    return int(status[0].split()[0]), content


def backend_gone(pid: int) -> bool:
    with psycopg.connect(**admin_params(), autocommit=True) as admin:
        return admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() == (0,)


def admin_params() -> dict[str, Any]:
    s = connection.settings_dict
    return {
        "dbname": s["NAME"],
        "user": s["USER"],
        "password": s["PASSWORD"] or None,
        "host": s["HOST"] or "127.0.0.1",
        "port": s["PORT"] or 5432,
    }


@pytest.mark.django_db(transaction=True)
def test_a_database_connection_the_server_closed_costs_the_next_request_no_server_error():
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs a database server that can close a connection (pg_terminate_backend); SQLite has none "
            "(runs in the PostgreSQL + Redis pass)"
        )
    # given a player with 100 tokens, a service key, and a request served on this thread's kept connection
    factories.make_player(id=PLAYER)
    fund(PLAYER, 100)
    _, key = factories.make_api_key()
    auth = f"Api-Key {key}"
    assert wsgi_call("GET", f"/api/users/{PLAYER}/wallet", authorization=auth)[0] == 200
    assert connection.connection is not None  # kept for the next request (CONN_MAX_AGE)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    # when the server closes that connection (as a restart or a failover does), and the next request spends 30
    with psycopg.connect(**admin_params(), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
    deadline = time.monotonic() + 10
    while not backend_gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    body = b'{"user_id": %d, "amount": 30, "game": "Roulette", "idempotency_key": "after-restart"}' % PLAYER
    status, content = wsgi_call("POST", "/api/wallet/spend", body, authorization=auth)
    # then the request found the connection dead before using it, opened another and was served
    assert status == 201, content
    assert db_balance(PLAYER) == 70
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid
