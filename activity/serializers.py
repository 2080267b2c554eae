"""Schemas of the ingest API, for the OpenAPI document.

The request itself is validated by ``activity.validation`` (the same rules as
``import_actions``), which is many times faster than a serializer per item.
"""

from __future__ import annotations

from rest_framework import serializers

from activity.registry import REGISTRY


class ActionItem(serializers.Serializer):
    event_id = serializers.CharField(max_length=64, help_text="Sender's id of the event; a replay is a duplicate.")
    user_id = serializers.IntegerField(min_value=1)
    action_type = serializers.ChoiceField(choices=sorted(n for n, t in REGISTRY.items() if not t.moves_tokens))
    action_timestamp = serializers.DateTimeField(help_text="ISO 8601 with a UTC offset.")
    metadata = serializers.DictField(required=False, help_text="Required keys depend on action_type (see docs).")


class ActionBatchInput(serializers.Serializer):
    actions = ActionItem(many=True, help_text="1 to ACTIONS_MAX_BATCH (5,000) actions; all-or-nothing.")


class ActionBatchOutput(serializers.Serializer):
    stored = serializers.IntegerField()
    duplicates = serializers.IntegerField()
