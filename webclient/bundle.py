"""The built bundle of ``frontend/`` (``npm run build`` writes it here; it is committed, and ``make frontend-check``
fails when it differs from a fresh build): its entry's script and style sheets, by Vite's manifest."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

STATIC_PREFIX = "webclient/"  # the bundle's place among the static files
BUNDLE_DIR = Path(__file__).resolve().parent / "static" / "webclient"
MANIFEST = BUNDLE_DIR / ".vite" / "manifest.json"  # a dot directory: collectstatic leaves it out
ENTRY = "src/main.tsx"


@dataclass(frozen=True)
class Bundle:
    script: str  # static paths, for {% static %}
    styles: tuple[str, ...]


@functools.cache
def _bundle_cached() -> Bundle:
    return _bundle_load()


def _bundle_load() -> Bundle:
    entry = json.loads(MANIFEST.read_text(encoding="utf-8"))[ENTRY]
    return Bundle(
        script=STATIC_PREFIX + entry["file"],
        styles=tuple(STATIC_PREFIX + css for css in entry.get("css", [])),
    )


def bundle_get() -> Bundle:
    """The entry's files; read once per process, or on every call with DEBUG (a rebuild shows at once)."""
    return _bundle_load() if settings.DEBUG else _bundle_cached()
