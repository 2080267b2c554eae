"""While the database cannot be reached, API requests answer 503 with ``Retry-After`` (issue 13 item 7: a restart
costs no 500); a statement that is wrong is still a 500. The errors are the drivers' own: a real connection to a port
nothing listens on, a real SQLite file that cannot be opened, a real query of a table that does not exist."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

import django.db.utils
import psycopg
import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from bench.common import free_port  # bound and released: nothing listens there
from core.exceptions import database_unavailable
from tests import factories
from tests.wallet.helpers import db_balance, fund, ledger_sum

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (DATABASE_URL): the test database of the SQLite pass lives in memory, which cannot be "
    "made unreachable while the test runs",
)


def django_error(driver_error: BaseException) -> BaseException:
    """``driver_error`` as Django hands it to a view: Django's class of the same name, raised from the driver's
    (what ``django.db.utils.DatabaseErrorWrapper`` does; the wrapper itself converts only the errors of the
    connection's own driver, and these tests use both drivers in either pass)."""
    converted = getattr(django.db.utils, type(driver_error).__name__)(*driver_error.args)
    converted.__cause__ = driver_error
    return converted


def test_a_refused_postgresql_connection_is_unavailable():
    # given the error psycopg raises when no server listens
    with pytest.raises(psycopg.OperationalError) as refused:
        psycopg.connect(host="127.0.0.1", port=free_port(), user="nobody", dbname="nothing", connect_timeout=2)
    # when Django's wrapper has converted it
    error = django_error(refused.value)
    # then it says the database cannot be reached now
    assert type(error).__name__ == "OperationalError"
    assert database_unavailable(error)


def test_an_sqlite_file_that_cannot_be_opened_is_unavailable(tmp_path):
    # given the error sqlite3 raises for a file in a directory that does not exist
    with pytest.raises(sqlite3.OperationalError) as cannot_open:
        sqlite3.connect(tmp_path / "missing-directory" / "db.sqlite3")
    # when Django's wrapper has converted it
    error = django_error(cannot_open.value)
    # then it says the database cannot be reached now
    assert database_unavailable(error)


@pytest.mark.django_db
def test_a_wrong_statement_is_not_unavailable():
    # given a query of a table that does not exist, on the test database (either backend)
    # (ProgrammingError on PostgreSQL, OperationalError on SQLite)
    with pytest.raises(Exception) as wrong, connection.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table_here")
    # then it is the code's fault, not the database's availability (a 500, with its traceback logged)
    assert not database_unavailable(wrong.value)


def test_an_error_that_is_not_the_databases_is_not_unavailable():
    assert not database_unavailable(RuntimeError("connection refused"))


@contextlib.contextmanager
def database_unreachable() -> Iterator[None]:
    """Inside the block every new connection of the default database goes to a closed port (as while PostgreSQL
    restarts); afterwards to the real server again."""
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_player_request_while_postgresql_is_unreachable_answers_503_then_200():
    # given a player with a valid token, and PostgreSQL unreachable
    player = factories.make_player(id=7301)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {factories.player_token(player.id)}")
    with database_unreachable():
        # when the player reads their wallet
        response = client.get("/api/me/wallet")
        # then the answer is a 503 with Retry-After and the common error body, not a 500
        assert response.status_code == 503
        assert response["Retry-After"] == "2"
        assert response.json()["error"] == "service_unavailable"
    # and once PostgreSQL answers again, the same request is served
    assert client.get("/api/me/wallet").status_code == 200


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_spend_while_postgresql_is_unreachable_answers_503_and_its_retry_is_applied_once():
    # given a game server's key and a player holding 100 tokens, and PostgreSQL unreachable
    fund(7302, 100)
    _, key = factories.make_api_key("game-server")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    spend = {"user_id": 7302, "amount": 30, "game": "Roulette", "idempotency_key": "spin-during-restart"}
    with database_unreachable():
        # when the game server spends 30
        refused = client.post("/api/wallet/spend", spend, format="json")
        # then it is told to try again (503), not that the server failed (500)
        assert refused.status_code == 503
        assert refused["Retry-After"] == "2"
    # and nothing was written: the same request sent again once PostgreSQL is back is applied, once
    assert client.post("/api/wallet/spend", spend, format="json").status_code == 201
    assert client.post("/api/wallet/spend", spend, format="json").json()["balance"] == 70
    assert ledger_sum(7302) == db_balance(7302) == 70


@on_postgresql
@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("tests.core.urls_errors")
def test_a_plain_api_view_while_postgresql_is_unreachable_answers_503():
    # given a non-DRF view under /api/ that reads the database (handler500's path), and PostgreSQL unreachable
    client = Client(raise_request_exception=False)
    with database_unreachable():
        # when it is called
        response = client.get("/api/test-only/reads-the-database")
    # then the answer is the same JSON 503 with Retry-After
    assert response.status_code == 503
    assert response["Retry-After"] == "2"
    assert response.json()["error"] == "service_unavailable"
