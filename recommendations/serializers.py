"""Output of the recommendation API (spec 2.3.4's object plus the design brief's additions).

The GET answer is built as a plain dict by ``recommendation_data`` (the hot path: no DRF serializer runs per
request); the serializer classes below describe exactly that dict for the OpenAPI document, and a test holds
the two together (tests/recommendations/test_api.py).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from recommendations import engine
from recommendations.services import Click, Served

_REASON_HELP = (
    "Machine-readable reason (design brief section 6): `rule` names the rule that fired, the other keys are its "
    'inputs, e.g. `{"rule": "token_balance", "token_balance": 250}`, `{"rule": "risk_profile", '
    '"risk_profile": "Low-Risk"}`, `{"rule": "corporate_tokens_month", "corporate_tokens_month": 150, '
    '"days_since_visit": 2}`, `{"rule": "harm_markers", "harm_markers": ["LOSS_CHASING"]}`, '
    '`{"rule": "self_exclusion", "until": "..."}`, `{"rule": "content_next_stage", "verified_adult": true, '
    '"content_id": 7, "stage": 2, "price": 300, "token_balance": 320, "segment_level": 1, '
    '"required_segment_level": 0}`.'
)


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "required": ["rule"],
        "properties": {"rule": {"type": "string"}},
        "description": _REASON_HELP,
    }
)
class ReasonField(serializers.DictField):
    pass


class ProposalOutput(serializers.Serializer):
    id = serializers.UUIDField(help_text="This proposal's id: send it to POST /api/recommendations/{id}/click.")
    type = serializers.ChoiceField(choices=engine.PROPOSAL_TYPES)
    message = serializers.CharField(
        help_text="In the player's locale; facts only. The message's text, or an operator's variant of it chosen for "
        "the player (the same all business day; docs/decisions/0034)."
    )
    game = serializers.CharField(required=False, help_text="Play proposals only: the game to open.")
    action = serializers.CharField(
        required=False,
        help_text="Missions, the limit suggestion and the content proposal only: the button's target, e.g. "
        "VISIT_CORPORATE_SITE, SET_SPEND_LIMIT, OPEN_CONTENT.",
    )
    reward_tokens = serializers.IntegerField(
        required=False, help_text="Missions only: the tokens the mission pays (settings.MISSION_REWARDS)."
    )
    content_id = serializers.IntegerField(
        required=False, help_text="CONTENT_STAGE only (verified adults): the stage to open, GET /api/me/content."
    )
    reason = ReasonField()


class SuppressedOutput(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=engine.PROPOSAL_TYPES, help_text="A proposal a rule produced and player protection removed."
    )
    reason = ReasonField()


class UsageWindowOutput(serializers.Serializer):
    start = serializers.CharField(help_text="HH:00 on the player's clock.")
    end = serializers.CharField(help_text="HH:00, one hour after start.")
    timezone = serializers.CharField(help_text="The player's IANA timezone.")
    source = serializers.ChoiceField(  # type: ignore[assignment]  # the field is named "source"
        choices=["player", "corporate_visit", "population"], help_text="Whose pattern chose the hour."
    )


class RecommendationOutput(serializers.Serializer):
    user_id = serializers.IntegerField()
    recommended_game = serializers.CharField(
        allow_null=True, help_text="Roulette, SlotMachine, RPSGame or Quiz; null during a cool-off or self-exclusion."
    )
    recommended_game_reason = ReasonField()
    reward_level = serializers.IntegerField(help_text="Spec 2.3.4's base reward level (0-3) of the segment.")
    proposals = ProposalOutput(many=True)
    usage_window = UsageWindowOutput(
        allow_null=True, help_text="Spec 2.3.3's best hour to open the app; null when none may be suggested."
    )
    suppressed = SuppressedOutput(many=True, help_text="What player protection removed, and why.")


class ClickOutput(serializers.Serializer):
    id = serializers.UUIDField()
    clicked_at = serializers.DateTimeField(help_text="The first click's time; a repeated click answers it again.")
    first_click = serializers.BooleanField(help_text="False for a repeated click (nothing changed).")


def recommendation_data(served: Served) -> dict[str, Any]:
    """The GET answer as a plain dict (the shape ``RecommendationOutput`` documents). Keys a proposal does not
    have are left out, as in spec 2.3.4's example (a play proposal has ``game``, a mission ``action``)."""
    rec = served.recommendation
    proposals = []
    for pid, p in zip(served.proposal_ids, rec.proposals, strict=True):
        item: dict[str, Any] = {"id": pid, "type": p.type, "message": p.message}
        if p.game is not None:
            item["game"] = p.game
        if p.action is not None:
            item["action"] = p.action
        if p.reward_tokens is not None:
            item["reward_tokens"] = p.reward_tokens
        if p.content_id is not None:
            item["content_id"] = p.content_id
        item["reason"] = p.reason
        proposals.append(item)
    window = rec.usage_window
    return {
        "user_id": served.player_id,
        "recommended_game": rec.recommended_game,
        "recommended_game_reason": rec.game_reason,
        "reward_level": rec.reward_level,
        "proposals": proposals,
        "usage_window": None
        if window is None
        else {"start": window.start, "end": window.end, "timezone": window.timezone, "source": window.source},
        "suppressed": [{"type": s.type, "reason": s.reason} for s in rec.suppressed],
    }


def click_data(click: Click) -> dict[str, Any]:
    return ClickOutput({"id": click.proposal_id, "clicked_at": click.clicked_at, "first_click": click.first_click}).data
