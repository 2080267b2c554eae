"""Action types and what their metadata must hold (design brief section 3).

Each type lists its required metadata keys with a check; extra keys are kept.
Add a type with ``register(ActionType(...))``. Checks are plain functions, not
serializers: ingest validates thousands of items per request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Check = Callable[[Any], "str | None"]  # returns a problem, or None when the value is fine

GAMES = ("SlotMachine", "Roulette", "RPSGame")
EARN_SOURCES = ("corporate", "in_app", "reward")


def int_at_least(minimum: int, maximum: int = 2**53) -> Check:
    message = f"Must be an integer from {minimum} to {maximum}."

    def check(value: Any) -> str | None:
        return None if type(value) is int and minimum <= value <= maximum else message

    return check


def one_of(*options: str) -> Check:
    allowed = frozenset(options)
    message = "Must be one of: " + ", ".join(options) + "."

    def check(value: Any) -> str | None:
        return None if value in allowed and type(value) is str else message

    return check


def text(max_length: int = 200) -> Check:
    message = f"Must be a non-empty string of at most {max_length} characters."

    def check(value: Any) -> str | None:
        return None if type(value) is str and 0 < len(value) <= max_length else message

    return check


def identifier(value: Any) -> str | None:
    if type(value) is int and value >= 0:
        return None
    if type(value) is str and 0 < len(value) <= 100:
        return None
    return "Must be a non-negative integer or a non-empty string of at most 100 characters."


def scalar(value: Any) -> str | None:
    if type(value) in (int, str, bool, float):
        return None
    return "Must be a number, a string or a boolean."


def currency(value: Any) -> str | None:
    if type(value) is str and len(value) == 3 and value.isalpha() and value.isupper():
        return None
    return "Must be an ISO 4217 currency code such as KRW."


def non_negative_number(value: Any) -> str | None:
    if type(value) in (int, float) and value >= 0:
        return None
    return "Must be a number >= 0."


def actions_performed(value: Any) -> str | None:
    if type(value) is int and value >= 0:
        return None
    if type(value) is list and all(type(v) is str and v for v in value):
        return None
    return "Must be a count (integer >= 0) or a list of action names."


@dataclass(frozen=True)
class ActionType:
    name: str
    required: dict[str, Check] = field(default_factory=dict)
    description: str = ""
    # Token-moving types are written only by the wallet and Company A paths; this names the endpoint.
    live_endpoint: str | None = None
    # The player using the app (analytics' "active", docs/metrics.md): True for play, spends, purchases, unlocks,
    # views, quiz answers, session starts and claims; False for what arrives from elsewhere (Company A's visits, token
    # earns). Every type must say which: ``register`` refuses a type that does not.
    app_activity: bool | None = None

    @property
    def moves_tokens(self) -> bool:
        return self.live_endpoint is not None

    def check_metadata(self, metadata: dict[str, Any]) -> dict[str, str]:
        problems: dict[str, str] = {}
        for key, check in self.required.items():
            if key not in metadata:
                problems[key] = "This field is required."
            else:
                problem = check(metadata[key])
                if problem is not None:
                    problems[key] = problem
        return problems


REGISTRY: dict[str, ActionType] = {}


def register(action_type: ActionType) -> ActionType:
    if action_type.name in REGISTRY:
        raise ValueError(f"Action type {action_type.name} is registered already.")
    if action_type.app_activity is None:
        raise ValueError(f"Action type {action_type.name} must say whether it is app activity (app_activity).")
    REGISTRY[action_type.name] = action_type
    return action_type


GAME_PLAY = register(
    ActionType(
        "GAME_PLAY",
        {
            "game": one_of(*GAMES),
            "bet": int_at_least(0),
            "payout": int_at_least(0),
            "result": one_of("win", "loss"),
        },
        "A mini-game round: slots, roulette or rock-paper-scissors.",
        app_activity=True,
    )
)
FAIL_GAME = register(
    ActionType("FAIL_GAME", {"game": one_of(*GAMES)}, "A mini-game failed or was abandoned.", app_activity=True)
)
register(
    ActionType(
        "CLAIM_REWARD", {"reward_type": text(50), "reward_value": scalar}, "A reward claimed.", app_activity=True
    )
)
register(ActionType("VIEW_CONTENT", {"content_id": identifier}, "A content item viewed.", app_activity=True))
register(
    ActionType(
        "UNLOCK_CONTENT",
        {
            "content_id": identifier,
            "stage": int_at_least(1, 100),
            "spent_tokens": int_at_least(1),
        },
        "A staged content unlock and the tokens it took (with its ledger row: a SPEND).",
        live_endpoint="POST /api/me/content/{id}/unlock",
        app_activity=True,
    )
)
register(
    ActionType("BUY_ITEM", {"item_id": identifier, "price": int_at_least(0)}, "An item bought.", app_activity=True)
)
register(
    ActionType(
        "QUIZ_ANSWER", {"question": text(100), "answer": scalar}, "One quiz or survey answer.", app_activity=True
    )
)
register(
    ActionType(
        "CORPORATE_VISIT",
        {
            "dwell_seconds": int_at_least(0, 7 * 86400),
            "actions": actions_performed,
        },
        "A visit to Company A: dwell time and actions performed.",
        app_activity=False,
    )
)
register(ActionType("SESSION_START", {}, "The app came to the foreground.", app_activity=True))
register(
    ActionType(
        "EARN_CYBER_TOKENS",
        {
            "earned_tokens": int_at_least(1),
            "source": one_of(*EARN_SOURCES),
        },
        "Tokens earned.",
        live_endpoint="POST /api/corporate/webhook (Company A) or the wallet's grant path",
        app_activity=False,
    )
)
register(
    ActionType(
        "SPEND_CYBER_TOKENS",
        {
            "spent_tokens": int_at_least(1),
            "game": text(50),
        },
        "Tokens spent.",
        live_endpoint="POST /api/wallet/spend",
        app_activity=True,
    )
)
register(
    ActionType(
        "PURCHASE_CYBER_TOKENS",
        {
            "tokens": int_at_least(1),
            "amount_paid": non_negative_number,
            "currency": currency,
            "payment_id": text(100),
        },
        "Tokens bought for cash.",
        live_endpoint="POST /api/wallet/purchase",
        app_activity=True,
    )
)


# Actions that spend tokens, each with its ``spent_tokens``: a game's buy-in and a content unlock. RFM's M, the spend
# norms, spike markers and the live spend velocity count them all (the wallet's SPEND ledger rows are the same set).
SPENDING_TYPES = ("SPEND_CYBER_TOKENS", "UNLOCK_CONTENT")

# Actions that are not the player using the app: Company A's visits and every token arrival (Company A's webhook,
# reward grants). Sessions and harm signals leave them out.
NOT_IN_APP = frozenset({"CORPORATE_VISIT", "EARN_CYBER_TOKENS"})


def app_activity_types() -> tuple[str, ...]:
    """The registered types that count a player as active (``ActionType.app_activity``), sorted."""
    return tuple(sorted(name for name, t in REGISTRY.items() if t.app_activity))


# Mini-game outcomes that move the win streak: True is a win, False ends the streak.
def game_outcome(action_type: str, metadata: dict[str, Any]) -> bool | None:
    if action_type == "GAME_PLAY":
        return metadata.get("result") == "win"
    if action_type == "FAIL_GAME":
        return False
    return None
