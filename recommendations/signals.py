"""Invalidations: an operator's template edit drops this process's compiled templates; a write to anything a
recommendation-context snapshot holds drops the player's snapshot (``recommendations.context_cache``).

Model signals catch every ORM save and delete (services, the admin); bulk writes announce themselves with
``core.signals.player_data_changed``.
"""

from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from core.signals import player_data_changed
from corporate.models import SiteReward, SiteVisit
from players.models import Player, PlayerProtection
from recommendations import context_cache, selectors
from recommendations.messages import templates_invalidate
from recommendations.models import RecommendationTemplate
from segments.models import UserSegment


@receiver(post_save, sender=RecommendationTemplate, dispatch_uid="rec_template_saved")
@receiver(post_delete, sender=RecommendationTemplate, dispatch_uid="rec_template_deleted")
def _templates_changed(sender: Any, **kwargs: Any) -> None:
    templates_invalidate()  # this request sees its own change at once
    transaction.on_commit(templates_invalidate)  # and a reload before the commit (blind to it) is dropped


# The models a snapshot copies from, and the field naming their player. (A new players row needs nothing: a player
# without one never has a snapshot.)
_PLAYER_FIELD = {
    Player: "id",
    PlayerProtection: "player_id",
    UserSegment: "user_id",
    SiteVisit: "user_id",
    SiteReward: "user_id",
}


def _row_changed(sender: Any, instance: Any, created: bool = False, **kwargs: Any) -> None:
    if sender is Player and created:
        return
    context_cache.snapshot_invalidate([getattr(instance, _PLAYER_FIELD[sender])])


for _model in _PLAYER_FIELD:
    post_save.connect(_row_changed, sender=_model, dispatch_uid=f"rec_snapshot_saved_{_model.__name__}")
    post_delete.connect(_row_changed, sender=_model, dispatch_uid=f"rec_snapshot_deleted_{_model.__name__}")


@receiver(player_data_changed, dispatch_uid="rec_snapshot_bulk")
def _bulk_changed(sender: Any, user_ids: list[int] | None, **kwargs: Any) -> None:
    if user_ids is None:
        context_cache.generation_bump()
    else:
        context_cache.snapshot_invalidate(user_ids)


@receiver(setting_changed, dispatch_uid="rec_snapshot_setting")
def _snapshot_setting_changed(setting: str, **kwargs: Any) -> None:
    if setting in ("RECOMMENDATION_CONTEXT_SNAPSHOTS", "CACHES"):
        selectors._snapshots = None  # decided again on the next read
