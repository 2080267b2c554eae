"""A rule of shape for the recommendation-context snapshots (docs/decisions/0011), enforced by a test: a module that
writes in bulk to a table a snapshot copies (raw SQL, ``COPY``, ``bulk_create``, ``update()``, ``delete()``:
writes Django's model signals do not announce) must announce them (``core.signals.player_data_changed_after_commit``,
or the recommendations app's own ``generation_bump`` / ``snapshot_invalidate``). A new players row needs nothing (a
player without one has no snapshot), so inserting players is allowed.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
SKIP_DIRS = {".venv", "tests", "bench", "migrations", "node_modules", "staticfiles", ".git"}

TABLES = (
    "player_protection",
    "user_segments",
    "site_visits",
    "site_rewards",
    "player_harm_markers",
    "player_play_hours",
    "play_hours_population",
)
MODELS = (
    "PlayerProtection",
    "UserSegment",
    "SiteVisit",
    "SiteReward",
    "PlayerHarmMarker",
    "PlayerPlayHours",
    "PopulationPlayHours",
)
_TABLES = "|".join(TABLES)
_MODELS = "|".join(MODELS)
BULK_WRITE = re.compile(
    rf"(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|COPY)\s+(?:{_TABLES})\b"
    r"|(?:UPDATE|DELETE\s+FROM)\s+players\b"
    rf"|\b(?:{_MODELS})\.objects\b[^\n]*\.(?:bulk_create|bulk_update|update|delete)\("
    r"|\bPlayer\.objects\b[^\n]*\.(?:bulk_update|update|delete)\(",
)  # SQL keywords in capitals, as this code base writes them (prose such as "update user_segments" is not a write)
# Modules that only build statements another module runs (and announces).
STATEMENTS_ONLY = {"segments/rfm_sql.py": "segments.services.segment_range_apply runs its statements and announces"}
ANNOUNCES = re.compile(r"\b(?:player_data_changed_after_commit|generation_bump|snapshot_invalidate)\(")


def unannounced(source: str) -> list[str]:
    """Each bulk write of ``source`` (as "line N: text") when the module announces none."""
    if ANNOUNCES.search(source):
        return []
    return [f"line {source.count(chr(10), 0, m.start()) + 1}: {m.group(0)}" for m in BULK_WRITE.finditer(source)]


def product_modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if not set(p.relative_to(ROOT).parts) & SKIP_DIRS)


def test_the_checker_finds_bulk_writes_and_accepts_announced_ones():
    # given modules that write in bulk, with and without an announcement, and one that only creates players
    silent = (
        'cursor.execute("UPDATE user_segments SET rfm_group = %s")\n'
        "SiteVisit.objects.filter(user_id=1).delete()\n"
        'cursor.execute("COPY site_rewards (user_id) FROM STDIN")\n'
        "Player.objects.filter(id=1).update(locale='en')\n"
    )
    announced = silent + "player_data_changed_after_commit(sender=None, user_ids=None)\n"
    creation = 'Player.objects.bulk_create(rows)\ncursor.execute("INSERT INTO players (id) VALUES (1)")\n'
    # when each is checked
    # then the silent one is named line by line, the others pass
    assert unannounced(silent) == [
        "line 1: UPDATE user_segments",
        "line 2: SiteVisit.objects.filter(user_id=1).delete(",
        "line 3: COPY site_rewards",
        "line 4: Player.objects.filter(id=1).update(",
    ]
    assert unannounced(announced) == []
    assert unannounced(creation) == []


def test_the_statements_only_modules_are_run_by_a_module_that_announces():
    # given the modules exempted because another runs their statements
    for name, why in STATEMENTS_ONLY.items():
        runner = why.split()[0].rsplit(".", 1)[0].replace(".", "/") + ".py"
        # then that module exists and announces
        assert ANNOUNCES.search((ROOT / runner).read_text()), f"{name}: {runner} does not announce"


def test_every_bulk_write_to_what_a_snapshot_copies_is_announced():
    # given every product module
    modules = product_modules()
    assert len(modules) > 50
    # when each is checked
    offences = {
        name: found
        for p in modules
        if (name := str(p.relative_to(ROOT))) not in STATEMENTS_ONLY and (found := unannounced(p.read_text()))
    }
    # then none writes in bulk without announcing it
    assert offences == {}
