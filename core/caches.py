"""Per-process caches behind one small interface.

A ``LocalCache`` is a bounded dict whose entries expire: what a process may keep for a short while without asking
the database again (a verified API key, a verified player token, the compiled message texts). Each one must be
harmless when stale for its time to live, so no writer ever has to remember it (conventions item 16). Every cache
made here is registered, and ``local_caches_clear()`` empties them all: tests call it between tests instead of
reaching into a module's private state.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

logger = logging.getLogger(__name__)

_registry: weakref.WeakSet[LocalCache[object, object]] = weakref.WeakSet()


class LocalCache(Generic[K, V]):
    """Entries kept until their time to live runs out; at ``max_entries`` the cache is emptied (cheaper and simpler
    than an LRU, and the entries are cheap to rebuild)."""

    def __init__(self, name: str, *, max_entries: int = 10_000) -> None:
        self.name = name
        self.max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()
        _registry.add(self)  # type: ignore[arg-type]

    def get(self, key: K) -> V | None:
        """The value, or None when it is missing or expired."""
        entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def set(self, key: K, value: V, *, ttl: float) -> None:
        """Keep ``value`` for ``ttl`` seconds (nothing is kept when ``ttl <= 0``)."""
        if ttl <= 0 or self.max_entries <= 0:
            return
        with self._lock:
            if len(self._entries) >= self.max_entries and key not in self._entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + ttl, value)

    def get_or_set(self, key: K, make: Callable[[], V], *, ttl: float) -> V:
        value = self.get(key)
        if value is None:
            value = make()
            self.set(key, value, ttl=ttl)
        return value

    def delete(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def local_caches_clear() -> None:
    """Empty every ``LocalCache`` of this process (tests, and a settings change that invalidates them all)."""
    for cache in list(_registry):
        cache.clear()


class RefreshedSnapshot(Generic[V]):
    """A per-process copy of something read from the database, for a hot path that may make no round trip for it.

    ``get()`` answers from the copy. A call that finds it older than ``refresh_seconds()`` starts one reload on a
    thread of its own and still answers from the copy, so no request waits; a call that finds none, or one older
    than twice that (an idle process, the first request after start), loads it first and pays that one read. So a
    change in the database is seen by every process within about ``refresh_seconds()`` (twice at most), and at once
    by the process that calls ``forget()`` after its own change. ``load`` reads the truth every time: no writer has
    to remember the copy. A failed background reload is logged; the next call tries again.
    """

    def __init__(self, name: str, load: Callable[[], V], refresh_seconds: Callable[[], float]) -> None:
        self.name = name
        self._load = load
        self._refresh_seconds = refresh_seconds  # a function: settings may change (tests override them)
        self._copy: LocalCache[str, tuple[float, V]] = LocalCache(name, max_entries=1)
        self._reloading = threading.Lock()  # held while a thread reloads: one reload at a time

    def _read(self) -> V:
        started = time.monotonic()
        value = self._load()
        self._copy.set("copy", (started, value), ttl=2 * self._refresh_seconds())
        return value

    def _reload_in_background(self) -> None:
        from django.db import connections

        try:
            self._read()
        except Exception:  # the next call tries again (inline once the copy is too old)
            logger.exception("%s: reload failed", self.name)
        finally:
            connections.close_all()  # this thread's own connection
            self._reloading.release()

    def get(self) -> V:
        found = self._copy.get("copy")
        if found is None:
            return self._read()
        loaded_at, value = found
        if time.monotonic() - loaded_at >= self._refresh_seconds() and self._reloading.acquire(blocking=False):
            try:
                threading.Thread(target=self._reload_in_background, name=self.name, daemon=True).start()
            except Exception:
                self._reloading.release()
                raise
        return value

    def forget(self) -> None:
        """Drop this process's copy: the next call reads it again (after a change made here)."""
        self._copy.clear()
