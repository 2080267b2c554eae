"""The engine's ``Templates``: the compiled texts (``texts.catalog``, with the operators' overrides) and the mission
rewards (``recommendations.missions``), put together where they are used.

Nothing is cached here: the texts are cached once, by ``texts``, and the rewards are read from settings on each
call (a few dictionary reads), so a change of ``settings.MISSION_REWARDS`` (a test's override) applies at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from recommendations.engine import Templates
from recommendations.missions import mission_rewards
from texts.catalog import Catalog, catalog


def templates_build(*, texts: Catalog | None = None, rewards: Mapping[str, int] | None = None) -> Templates:
    """``Templates`` from ``texts`` (default: the current catalog) and ``rewards`` (default: the configured
    mission rewards)."""
    texts = texts if texts is not None else catalog()
    return Templates(
        by_locale=texts.by_locale,
        rewards=dict(rewards) if rewards is not None else mission_rewards(),
        fallback_locale=texts.fallback_locale,
    )
