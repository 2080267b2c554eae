"""Signals between apps.

``player_data_changed``: rows that a read model copies (``recommendations.context_cache``'s snapshots) were written
in bulk (raw SQL, ``bulk_create``, ``update()``), which Django's model signals do not announce. Sent once the
transaction that wrote them has committed, with ``user_ids``: the players concerned, or None for "any player" (a
nightly job, a bulk load).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.dispatch import Signal

player_data_changed = Signal()


def player_data_changed_after_commit(*, sender: object, user_ids: Iterable[int] | None) -> None:
    """Send ``player_data_changed`` after the current transaction commits (at once outside one)."""
    ids = None if user_ids is None else sorted({int(u) for u in user_ids})
    transaction.on_commit(lambda: player_data_changed.send(sender=sender, user_ids=ids))
