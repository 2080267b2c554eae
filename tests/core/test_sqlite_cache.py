"""The embedded default's hot store: a SQLite file shared by every process."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from core.sqlite_cache import SQLiteCache

ROOT = Path(__file__).resolve().parents[2]


def make_cache(tmp_path: Path) -> SQLiteCache:
    return SQLiteCache(str(tmp_path / "hot.sqlite3"), {"KEY_FUNCTION": "core.hotstore.raw_cache_key"})


def test_values_round_trip_under_their_exact_key_names(tmp_path):
    # given an empty cache
    cache = make_cache(tmp_path)
    # when values are stored one by one and in bulk
    cache.set("user:7:streak_count", 3, timeout=None)
    cache.set_many({"user:7:last_action_ts": 1_700_000_000, "user:8:streak_wins": {"e1": 1.5}}, timeout=None)
    # then they read back unchanged, under exactly those keys
    assert cache.get_many(["user:7:streak_count", "user:7:last_action_ts", "user:8:streak_wins", "missing"]) == {
        "user:7:streak_count": 3,
        "user:7:last_action_ts": 1_700_000_000,
        "user:8:streak_wins": {"e1": 1.5},
    }
    keys = {row[0] for row in sqlite3.connect(tmp_path / "hot.sqlite3").execute("SELECT key FROM kv")}
    assert keys == {"user:7:streak_count", "user:7:last_action_ts", "user:8:streak_wins"}


def test_expired_values_are_gone_and_add_only_fills_absent_keys(tmp_path):
    # given one key that expires at once and one that lives
    cache = make_cache(tmp_path)
    cache.set("short", 1, timeout=0.01)
    cache.set("long", 1, timeout=None)
    time.sleep(0.05)
    # when both are added again
    added_short, added_long = cache.add("short", 2), cache.add("long", 2)
    # then only the expired one is replaced
    assert (added_short, added_long) == (True, False)
    assert cache.get_many(["short", "long"]) == {"short": 2, "long": 1}


def test_delete_many_and_clear_remove_values(tmp_path):
    cache = make_cache(tmp_path)
    cache.set_many({"a": 1, "b": 2, "c": 3}, timeout=None)
    # when two keys are deleted, then everything is cleared
    cache.delete_many(["a", "b"])
    assert cache.get_many(["a", "b", "c"]) == {"c": 3}
    cache.clear()
    assert cache.get("c") is None


def test_another_process_sees_what_this_one_wrote(tmp_path):
    # given a value written in this process (as a management command would)
    cache = make_cache(tmp_path)
    cache.set("user:42:cyber_token_balance", 900, timeout=None)
    # when another process opens the same file and reads it, and writes one back
    script = (
        "import sys; sys.path.insert(0, sys.argv[2]); from core.sqlite_cache import SQLiteCache; "
        "c = SQLiteCache(sys.argv[1], {'KEY_FUNCTION': 'core.hotstore.raw_cache_key'}); "
        "print(c.get('user:42:cyber_token_balance')); c.set('user:42:streak_count', 5, timeout=None)"
    )
    env = {"DJANGO_SETTINGS_MODULE": "config.settings.test", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "hot.sqlite3"), str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    # then it read this process's value, and this process reads its write
    assert out.stdout.strip() == "900"
    assert cache.get("user:42:streak_count") == 5
