"""Input and output of the adult content endpoints. A player who is not a verified adult never reaches these outputs:
the views refuse them first (403, only that verification is needed)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from content.selectors import ContentOverview, StageView
from content.services import MAX_KEY_LENGTH, UnlockResult
from core.serializers import StrictSerializer
from wallet.serializers import LedgerEntryOutput


class UnlockInput(StrictSerializer):
    idempotency_key = serializers.CharField(
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        help_text="The client's key for this unlock: a retry with it answers the first result and debits nothing.",
    )


class PreviousStageMissing(serializers.Serializer):
    id = serializers.IntegerField()
    stage = serializers.IntegerField()


class SegmentLevelMissing(serializers.Serializer):
    required = serializers.IntegerField()  # type: ignore[assignment]  # the field is named "required"
    current = serializers.IntegerField()


class BalanceMissing(serializers.Serializer):
    price = serializers.IntegerField()
    balance = serializers.IntegerField()
    short = serializers.IntegerField()


class ProtectionMissing(serializers.Serializer):
    rule = serializers.ChoiceField(choices=["self_exclusion", "cool_off", "daily_spend_limit", "weekly_spend_limit"])
    until = serializers.DateTimeField(required=False, help_text="A cool-off's or self-exclusion's end.")
    limit = serializers.IntegerField(required=False)
    left = serializers.IntegerField(required=False, help_text="Tokens the limit still allows.")


class MissingOutput(serializers.Serializer):
    """What stands between the player and an unlock; empty when the stage can be unlocked now."""

    previous_stage = PreviousStageMissing(required=False, help_text="The previous stage, not unlocked yet.")
    segment_level = SegmentLevelMissing(required=False)
    balance = BalanceMissing(required=False)
    protection = ProtectionMissing(required=False, help_text="The player's own safeguards (they stay in force).")


class StageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    stage = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    thumbnail_url = serializers.CharField()
    price = serializers.IntegerField(help_text="Tokens.")
    required_segment_level = serializers.IntegerField(help_text="0 Low, 1 Medium, 2 High Engaged, 3 Whale.")
    active = serializers.BooleanField(help_text="False for a stage no longer offered that the player unlocked.")
    unlocked = serializers.BooleanField()
    unlocked_at = serializers.DateTimeField(allow_null=True)
    media_url = serializers.CharField(required=False, help_text="Only for an unlocked stage.")
    missing = MissingOutput()


class ContentOverviewOutput(serializers.Serializer):
    user_id = serializers.IntegerField()
    balance = serializers.IntegerField()
    segment_level = serializers.IntegerField()
    stages = StageOutput(many=True)


class UnlockedStageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    stage = serializers.IntegerField()
    name = serializers.CharField()
    description = serializers.CharField()
    thumbnail_url = serializers.CharField()
    media_url = serializers.CharField()


class UnlockOutput(serializers.Serializer):
    user_id = serializers.IntegerField()
    content = UnlockedStageOutput()
    unlocked_at = serializers.DateTimeField()
    spent_tokens = serializers.IntegerField()
    balance = serializers.IntegerField(help_text="The balance right after the unlock's debit.")
    entry = LedgerEntryOutput(help_text="The unlock's ledger row (a SPEND).")
    reward_id = serializers.IntegerField(allow_null=True, help_text="Its user_rewards row (content_unlock).")


def stage_data(view: StageView) -> dict[str, Any]:
    item, unlock = view.content, view.unlock
    data: dict[str, Any] = {
        "id": item.id,
        "stage": item.stage,
        "name": item.name,
        "description": item.description,
        "thumbnail_url": item.thumbnail_url,
        "price": item.token_price,
        "required_segment_level": item.required_segment_level,
        "active": item.is_active,
        "unlocked": unlock is not None,
        "unlocked_at": None if unlock is None else unlock.unlocked_at,
        "missing": view.missing,
    }
    if unlock is not None:
        data["media_url"] = item.media_url
    return data


def overview_data(overview: ContentOverview) -> dict[str, Any]:
    return {
        "user_id": overview.player_id,
        "balance": overview.balance,
        "segment_level": overview.segment_level,
        "stages": [stage_data(v) for v in overview.stages],
    }


def unlock_data(result: UnlockResult) -> dict[str, Any]:
    unlock = result.unlock
    item, entry = unlock.content, unlock.ledger_entry
    return {
        "user_id": unlock.user_id,
        "content": {
            "id": item.id,
            "stage": item.stage,
            "name": item.name,
            "description": item.description,
            "thumbnail_url": item.thumbnail_url,
            "media_url": item.media_url,
        },
        "unlocked_at": unlock.unlocked_at,
        "spent_tokens": unlock.spent_tokens,
        "balance": entry.balance_after,
        "entry": LedgerEntryOutput(entry).data,
        "reward_id": unlock.reward_id,
    }
