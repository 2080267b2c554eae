"""A Django cache backend in a SQLite file: the embedded default's stand-in for Redis.

Django's local-memory cache lives inside one process, so on the embedded default the hot metrics
and balance copies written by a management command (``generate_demo_data``, ``import_actions``,
``reconcile_balances``) would never reach the server process. This backend keeps them in one
file every process shares (WAL mode), with the keys exactly as given. It is for one machine and
modest traffic; production uses Redis (``REDIS_URL``).
"""

from __future__ import annotations

import pickle
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache

_SCHEMA = "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, expires REAL)"
_CHUNK = 500  # keys per statement (SQLite's variable limit)


class SQLiteCache(BaseCache):
    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.path = Path(location)
        self._local = threading.local()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=True)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._local.conn = conn
        return conn

    def _expiry(self, timeout: Any) -> float | None:
        return self.get_backend_timeout(timeout)

    def get_many(self, keys: Iterable[str], version: int | None = None) -> dict[str, Any]:
        wanted = {self.make_and_validate_key(k, version): k for k in keys}
        names = list(wanted)
        now = time.time()
        found: dict[str, Any] = {}
        for start in range(0, len(names), _CHUNK):
            chunk = names[start : start + _CHUNK]
            rows = (
                self._conn()
                .execute(f"SELECT key, value, expires FROM kv WHERE key IN ({','.join('?' * len(chunk))})", chunk)  # noqa: S608 (names from code, values bound)
                .fetchall()
            )
            for key, value, expires in rows:
                if expires is None or expires > now:
                    found[wanted[key]] = pickle.loads(value)  # noqa: S301 - values we wrote ourselves
        return found

    def get(self, key: str, default: Any = None, version: int | None = None) -> Any:
        return self.get_many([key], version).get(key, default)

    def set_many(
        self, data: Mapping[str, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None
    ) -> list[str]:
        expires = self._expiry(timeout)
        rows = [(self.make_and_validate_key(k, version), pickle.dumps(v), expires) for k, v in data.items()]
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany(
                "INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
                rows,
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return []

    def set(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self.set_many({key: value}, timeout, version)

    def add(self, key: str, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        name = self.make_and_validate_key(key, version)
        conn = self._conn()
        conn.execute("DELETE FROM kv WHERE key = ? AND expires IS NOT NULL AND expires <= ?", (name, time.time()))
        cursor = conn.execute(
            "INSERT OR IGNORE INTO kv (key, value, expires) VALUES (?, ?, ?)",
            (name, pickle.dumps(value), self._expiry(timeout)),
        )
        return cursor.rowcount == 1

    def touch(self, key: str, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        cursor = self._conn().execute(
            "UPDATE kv SET expires = ? WHERE key = ?", (self._expiry(timeout), self.make_and_validate_key(key, version))
        )
        return cursor.rowcount == 1

    def delete_many(self, keys: Iterable[str], version: int | None = None) -> None:
        names = [self.make_and_validate_key(k, version) for k in keys]
        for start in range(0, len(names), _CHUNK):
            chunk = names[start : start + _CHUNK]
            self._conn().execute(f"DELETE FROM kv WHERE key IN ({','.join('?' * len(chunk))})", chunk)  # noqa: S608 (names from code, values bound)

    def delete(self, key: str, version: int | None = None) -> bool:
        name = self.make_and_validate_key(key, version)
        return self._conn().execute("DELETE FROM kv WHERE key = ?", (name,)).rowcount == 1

    def has_key(self, key: str, version: int | None = None) -> bool:
        return key in self.get_many([key], version)

    def clear(self) -> None:
        self._conn().execute("DELETE FROM kv")

    def close(self, **kwargs: Any) -> None:
        # Connections stay open per thread for the life of the process (one file, no server).
        return None
