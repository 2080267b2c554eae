"""Writes for texts: an operator's decisions about message variants (the admin's actions).

Each row is saved through the model (its check, and the signal that drops this process's variants:
``texts.catalog``), never by a bulk update that would pass around both.
"""

from __future__ import annotations

from django.db import transaction

from texts.models import MessageVariant


def variant_pin(*, variant_id: int) -> MessageVariant:
    """Make the variant its message's winner in its locale: served to every player of that message and locale (no
    more exploring). A variant pinned before for the same message and locale goes back to ``active``, in the same
    transaction (the partial unique constraint allows one pinned at a time)."""
    with transaction.atomic():
        variant = MessageVariant.objects.select_for_update().get(id=variant_id)
        for other in (
            MessageVariant.objects.select_for_update()
            .filter(key=variant.key, locale=variant.locale, state=MessageVariant.State.PINNED)
            .exclude(id=variant.id)
        ):
            other.state = MessageVariant.State.ACTIVE
            other.save(update_fields=["state", "updated_at"])
        if variant.state != MessageVariant.State.PINNED:
            variant.state = MessageVariant.State.PINNED
            variant.save(update_fields=["state", "updated_at"])
    return variant


def variants_stop(*, variant_ids: list[int]) -> int:
    """Stop the variants: never served again (a pinned one too: its message goes back to the default and the other
    active variants). Returns how many changed."""
    changed = 0
    with transaction.atomic():
        for variant in MessageVariant.objects.select_for_update().filter(id__in=variant_ids).order_by("id"):
            if variant.state != MessageVariant.State.STOPPED:
                variant.state = MessageVariant.State.STOPPED
                variant.save(update_fields=["state", "updated_at"])
                changed += 1
    return changed
