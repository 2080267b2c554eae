"""Per-process caches behind one small interface.

A ``LocalCache`` is a bounded dict whose entries expire: what a process may keep for a short while without asking
the database again (a verified API key, a verified player token, the compiled message texts). Each one must be
harmless when stale for its time to live, so no writer ever has to remember it (conventions item 16). Every cache
made here is registered, and ``local_caches_clear()`` empties them all: tests call it between tests instead of
reaching into a module's private state.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

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
