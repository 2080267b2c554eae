"""core.caches: per-process caches with a time to live, a bound, and one way for tests to empty them all."""

from __future__ import annotations

import time

from core.caches import LocalCache, local_caches_clear


def test_an_entry_is_kept_for_its_time_to_live_only():
    # given an entry kept for 50 ms
    cache: LocalCache[str, int] = LocalCache("test-ttl")
    cache.set("a", 1, ttl=0.05)
    # when it is read at once and after its time
    first = cache.get("a")
    time.sleep(0.06)
    # then it is there, then gone
    assert first == 1
    assert cache.get("a") is None


def test_nothing_is_kept_without_a_time_to_live():
    # given a cache told to keep an entry for 0 seconds (a setting that turns caching off)
    cache: LocalCache[str, int] = LocalCache("test-zero")
    cache.set("a", 1, ttl=0)
    # then nothing is kept
    assert cache.get("a") is None and len(cache) == 0


def test_a_full_cache_starts_over_instead_of_growing():
    # given a cache bounded at 2 entries, full
    cache: LocalCache[int, int] = LocalCache("test-bound", max_entries=2)
    cache.set(1, 1, ttl=60)
    cache.set(2, 2, ttl=60)
    # when a third arrives
    cache.set(3, 3, ttl=60)
    # then the cache never holds more than 2, and keeps the newest
    assert len(cache) <= 2 and cache.get(3) == 3


def test_get_or_set_makes_the_value_once_while_it_lives():
    # given a maker that counts its calls
    cache: LocalCache[str, int] = LocalCache("test-make")
    calls = []

    def make() -> int:
        calls.append(1)
        return 7

    # when the value is asked for twice
    values = [cache.get_or_set("k", make, ttl=60) for _ in range(2)]
    # then it was made once
    assert values == [7, 7] and len(calls) == 1


def test_local_caches_clear_empties_every_cache():
    # given two caches with entries
    one: LocalCache[str, int] = LocalCache("test-one")
    two: LocalCache[str, int] = LocalCache("test-two")
    one.set("a", 1, ttl=60)
    two.set("b", 2, ttl=60)
    # when every cache is cleared
    local_caches_clear()
    # then both are empty
    assert one.get("a") is None and two.get("b") is None
