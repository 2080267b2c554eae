"""Rule thresholds kept as a frozen dataclass with defaults and set from a settings dict (harm markers, live harm
signals): a misspelt key is a configuration error, not a silently ignored one."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


def thresholds_from_settings(cls: type[T], setting: str) -> T:
    """``cls`` with the values of ``settings.<setting>`` (a dict; missing keys keep their defaults). Raises ValueError
    naming any key ``cls`` does not have."""
    from django.conf import settings

    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    configured: dict[str, Any] = dict(getattr(settings, setting, {}))
    unknown = set(configured) - known
    if unknown:
        raise ValueError(f"settings.{setting} has unknown keys: {sorted(unknown)}")
    return cls(**configured)
