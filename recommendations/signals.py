"""Invalidation: an operator's template edit drops this process's compiled templates."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from recommendations.messages import templates_invalidate
from recommendations.models import RecommendationTemplate


@receiver(post_save, sender=RecommendationTemplate, dispatch_uid="rec_template_saved")
@receiver(post_delete, sender=RecommendationTemplate, dispatch_uid="rec_template_deleted")
def _templates_changed(sender: Any, **kwargs: Any) -> None:
    templates_invalidate()  # this request sees its own change at once
    transaction.on_commit(templates_invalidate)  # and a reload before the commit (blind to it) is dropped
