"""Serializer pieces shared by the apps' APIs."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class StrictSerializer(serializers.Serializer):
    """An input serializer that refuses fields it does not know (a typo, or a value the caller may not set, such as
    a self-declared age), naming them beside the fields' own errors, all in one 400 answer."""

    def to_internal_value(self, data: Any) -> Any:
        unknown = (
            {k: ["Unknown field."] for k in sorted(set(data) - set(self.fields))} if isinstance(data, dict) else {}
        )
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if isinstance(exc.detail, dict):
                exc.detail.update(unknown)
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value
