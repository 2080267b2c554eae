"""Action validation (design brief section 3), on ``parse_action`` itself and through ``POST /api/actions``.

The tables below cover every type in ``activity.registry.REGISTRY``; a type added without
examples here fails ``test_every_registered_type_has_examples``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from activity.models import UserAction
from activity.registry import REGISTRY
from activity.validation import ParsedAction, parse_action, parse_batch

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
MAX_FUTURE = dt.timedelta(hours=1)

# A valid metadata example for every registered type.
VALID_METADATA: dict[str, dict[str, Any]] = {
    "GAME_PLAY": {"game": "SlotMachine", "bet": 10, "payout": 0, "result": "loss"},
    "FAIL_GAME": {"game": "Roulette"},
    "CLAIM_REWARD": {"reward_type": "daily_bonus", "reward_value": 100},
    "VIEW_CONTENT": {"content_id": 3},
    "UNLOCK_CONTENT": {"content_id": "stage-2", "stage": 2, "spent_tokens": 500},
    "BUY_ITEM": {"item_id": "sword-1", "price": 120},
    "QUIZ_ANSWER": {"question": "q1", "answer": "b"},
    "CORPORATE_VISIT": {"dwell_seconds": 90, "actions": ["view", "click"]},
    "SESSION_START": {},
    "EARN_CYBER_TOKENS": {"earned_tokens": 50, "source": "corporate"},
    "SPEND_CYBER_TOKENS": {"spent_tokens": 30, "game": "SlotMachine"},
    "PURCHASE_CYBER_TOKENS": {"tokens": 1000, "amount_paid": 9900, "currency": "KRW", "payment_id": "pay-1"},
}

# Values at the edge of what a required key allows: each must be accepted.
EDGE_VALUES: list[tuple[str, str, Any]] = [
    ("GAME_PLAY", "bet", 0),
    ("GAME_PLAY", "payout", 2**53),
    ("GAME_PLAY", "game", "RPSGame"),
    ("GAME_PLAY", "result", "win"),
    ("CLAIM_REWARD", "reward_type", "x" * 50),
    ("CLAIM_REWARD", "reward_value", "gold"),
    ("VIEW_CONTENT", "content_id", 0),
    ("VIEW_CONTENT", "content_id", "x" * 100),
    ("UNLOCK_CONTENT", "stage", 1),
    ("UNLOCK_CONTENT", "stage", 100),
    ("QUIZ_ANSWER", "question", "x" * 100),
    ("QUIZ_ANSWER", "answer", 4),
    ("CORPORATE_VISIT", "dwell_seconds", 7 * 86400),
    ("CORPORATE_VISIT", "actions", 0),
    ("CORPORATE_VISIT", "actions", []),
    ("PURCHASE_CYBER_TOKENS", "amount_paid", 9.99),
]

# Ill-typed or out-of-range values of required keys: each must be refused on metadata.<key>.
BAD_VALUES: list[tuple[str, str, Any]] = [
    ("GAME_PLAY", "game", "Poker"),
    ("GAME_PLAY", "game", "slotmachine"),
    ("GAME_PLAY", "game", 1),
    ("GAME_PLAY", "game", None),
    ("GAME_PLAY", "bet", True),
    ("GAME_PLAY", "bet", -1),
    ("GAME_PLAY", "bet", 1.5),
    ("GAME_PLAY", "bet", "10"),
    ("GAME_PLAY", "bet", 2**53 + 1),
    ("GAME_PLAY", "payout", False),
    ("GAME_PLAY", "payout", -5),
    ("GAME_PLAY", "result", "draw"),
    ("GAME_PLAY", "result", "WIN"),
    ("GAME_PLAY", "result", True),
    ("FAIL_GAME", "game", "Poker"),
    ("FAIL_GAME", "game", ""),
    ("CLAIM_REWARD", "reward_type", ""),
    ("CLAIM_REWARD", "reward_type", "x" * 51),
    ("CLAIM_REWARD", "reward_type", 5),
    ("CLAIM_REWARD", "reward_value", None),
    ("CLAIM_REWARD", "reward_value", [1]),
    ("CLAIM_REWARD", "reward_value", {"a": 1}),
    ("VIEW_CONTENT", "content_id", -1),
    ("VIEW_CONTENT", "content_id", ""),
    ("VIEW_CONTENT", "content_id", "x" * 101),
    ("VIEW_CONTENT", "content_id", True),
    ("VIEW_CONTENT", "content_id", None),
    ("VIEW_CONTENT", "content_id", 1.5),
    ("UNLOCK_CONTENT", "content_id", []),
    ("UNLOCK_CONTENT", "stage", 0),
    ("UNLOCK_CONTENT", "stage", 101),
    ("UNLOCK_CONTENT", "stage", True),
    ("UNLOCK_CONTENT", "spent_tokens", -1),
    ("UNLOCK_CONTENT", "spent_tokens", 0),  # an unlock is a spend: a ledger row of at least one token
    ("UNLOCK_CONTENT", "spent_tokens", "500"),
    ("BUY_ITEM", "item_id", False),
    ("BUY_ITEM", "price", -1),
    ("BUY_ITEM", "price", True),
    ("BUY_ITEM", "price", 9.99),
    ("QUIZ_ANSWER", "question", ""),
    ("QUIZ_ANSWER", "question", "x" * 101),
    ("QUIZ_ANSWER", "answer", None),
    ("QUIZ_ANSWER", "answer", {"a": 1}),
    ("CORPORATE_VISIT", "dwell_seconds", -1),
    ("CORPORATE_VISIT", "dwell_seconds", 7 * 86400 + 1),
    ("CORPORATE_VISIT", "dwell_seconds", True),
    ("CORPORATE_VISIT", "actions", -1),
    ("CORPORATE_VISIT", "actions", True),
    ("CORPORATE_VISIT", "actions", "click"),
    ("CORPORATE_VISIT", "actions", ["ok", ""]),
    ("CORPORATE_VISIT", "actions", [1]),
    ("EARN_CYBER_TOKENS", "earned_tokens", 0),
    ("EARN_CYBER_TOKENS", "earned_tokens", True),
    ("EARN_CYBER_TOKENS", "source", "bank"),
    ("SPEND_CYBER_TOKENS", "spent_tokens", 0),
    ("SPEND_CYBER_TOKENS", "game", "x" * 51),
    ("PURCHASE_CYBER_TOKENS", "tokens", 0),
    ("PURCHASE_CYBER_TOKENS", "amount_paid", -1),
    ("PURCHASE_CYBER_TOKENS", "amount_paid", True),
    ("PURCHASE_CYBER_TOKENS", "amount_paid", "9900"),
    ("PURCHASE_CYBER_TOKENS", "currency", "krw"),
    ("PURCHASE_CYBER_TOKENS", "currency", "KRWW"),
    ("PURCHASE_CYBER_TOKENS", "currency", "12A"),
    ("PURCHASE_CYBER_TOKENS", "payment_id", ""),
]

TOKEN_MOVING_ENDPOINTS = {
    "EARN_CYBER_TOKENS": "POST /api/corporate/webhook",
    "SPEND_CYBER_TOKENS": "POST /api/wallet/spend",
    "PURCHASE_CYBER_TOKENS": "POST /api/wallet/purchase",
    "UNLOCK_CONTENT": "POST /api/me/content/{id}/unlock",
}
LIVE_TYPES = sorted(n for n in VALID_METADATA if n not in TOKEN_MOVING_ENDPOINTS)
REQUIRED_KEYS = [(name, key) for name in sorted(VALID_METADATA) for key in VALID_METADATA[name]]


def item(action_type: str = "SESSION_START", metadata: Any = None, **fields: Any) -> dict[str, Any]:
    """A raw action dict as a sender would post it (valid unless fields say otherwise)."""
    out: dict[str, Any] = {
        "event_id": "evt-1",
        "user_id": 42,
        "action_type": action_type,
        "action_timestamp": "2026-11-20T11:00:00+00:00",
        "metadata": dict(VALID_METADATA[action_type]) if metadata is None else metadata,
    }
    out.update(fields)
    return out


def parse(raw: Any, *, allow_token_moving: bool = False) -> tuple[ParsedAction | None, dict[str, str]]:
    return parse_action(raw, now=NOW, max_future=MAX_FUTURE, allow_token_moving=allow_token_moving)


def with_value(action_type: str, key: str, value: Any) -> dict[str, Any]:
    return {**VALID_METADATA[action_type], key: value}


def without(action_type: str, key: str) -> dict[str, Any]:
    return {k: v for k, v in VALID_METADATA[action_type].items() if k != key}


def test_every_registered_type_has_examples():
    # given the registry and the example tables of this module
    # when they are compared
    registered = set(REGISTRY)
    # then every registered type has a valid example and the token-moving ones are exactly the registry's
    assert set(VALID_METADATA) == registered
    assert {n for n, t in REGISTRY.items() if t.moves_tokens} == set(TOKEN_MOVING_ENDPOINTS)
    assert {(n, k) for n, k in REQUIRED_KEYS} == {(n, k) for n, t in REGISTRY.items() for k in t.required}
    # and every required key has at least one ill-typed example
    assert {(n, k) for n, k, _ in BAD_VALUES} == set(REQUIRED_KEYS)


# --- parse_action, one type at a time -----------------------------------------------------------


@pytest.mark.parametrize("action_type", LIVE_TYPES)
def test_valid_example_is_accepted(action_type):
    # given a valid action of this type
    raw = item(action_type)
    # when it is parsed
    parsed, errors = parse(raw)
    # then it comes out as a ParsedAction with the same values and no error
    assert errors == {}
    assert parsed == ParsedAction(
        "evt-1", 42, action_type, dt.datetime(2026, 11, 20, 11, tzinfo=dt.UTC), VALID_METADATA[action_type]
    )


@pytest.mark.parametrize("action_type", sorted(TOKEN_MOVING_ENDPOINTS))
def test_token_moving_example_is_accepted_where_allowed(action_type):
    # given a valid token-moving action (the import path allows them as history)
    raw = item(action_type)
    # when it is parsed with token-moving types allowed
    parsed, errors = parse(raw, allow_token_moving=True)
    # then it is accepted
    assert errors == {}
    assert parsed is not None and parsed.metadata == VALID_METADATA[action_type]


@pytest.mark.parametrize(("action_type", "key"), REQUIRED_KEYS)
def test_missing_required_key_is_an_error_on_that_key(action_type, key):
    # given an otherwise valid action without one required metadata key
    raw = item(action_type, without(action_type, key))
    # when it is parsed (token-moving types through the path that allows them)
    parsed, errors = parse(raw, allow_token_moving=True)
    # then the only error names metadata.<key>
    assert parsed is None
    assert errors == {f"metadata.{key}": "This field is required."}


@pytest.mark.parametrize(("action_type", "key", "value"), BAD_VALUES)
def test_ill_typed_required_key_is_an_error_on_that_key(action_type, key, value):
    # given an otherwise valid action with one bad required value
    raw = item(action_type, with_value(action_type, key, value))
    # when it is parsed
    parsed, errors = parse(raw, allow_token_moving=True)
    # then the only error names metadata.<key>
    assert parsed is None
    assert list(errors) == [f"metadata.{key}"]
    assert errors[f"metadata.{key}"]


@pytest.mark.parametrize(("action_type", "key", "value"), EDGE_VALUES)
def test_edge_value_is_accepted(action_type, key, value):
    # given a value at the edge of what the key allows
    raw = item(action_type, with_value(action_type, key, value))
    # when it is parsed
    parsed, errors = parse(raw, allow_token_moving=True)
    # then it is accepted as given
    assert errors == {}
    assert parsed is not None and parsed.metadata[key] == value


@pytest.mark.parametrize("action_type", sorted(VALID_METADATA))
def test_extra_metadata_keys_are_kept(action_type):
    # given a valid action with keys its type does not require
    metadata = {**VALID_METADATA[action_type], "client": {"os": "ios", "build": 812}, "note": "x"}
    # when it is parsed
    parsed, errors = parse(item(action_type, metadata), allow_token_moving=True)
    # then the extra keys are kept untouched
    assert errors == {}
    assert parsed is not None
    assert parsed.metadata["client"] == {"os": "ios", "build": 812}
    assert parsed.metadata["note"] == "x"


@pytest.mark.parametrize(("action_type", "endpoint"), sorted(TOKEN_MOVING_ENDPOINTS.items()))
def test_token_moving_type_is_refused_naming_the_right_endpoint(action_type, endpoint):
    # given a valid token-moving action
    raw = item(action_type)
    # when it is parsed on the live ingest path
    parsed, errors = parse(raw, allow_token_moving=False)
    # then it is refused on action_type, naming the endpoint that writes it
    assert parsed is None
    assert list(errors) == ["action_type"]
    assert endpoint in errors["action_type"]


# --- the envelope: event_id, user_id, action_type, action_timestamp, metadata ----------------------


@pytest.mark.parametrize("event_id", ["", "x" * 65, 123, None, ["e"]])
def test_bad_event_id_is_an_error(event_id):
    # given an action with a bad event_id
    raw = item(event_id=event_id)
    # when it is parsed
    parsed, errors = parse(raw)
    # then the error names event_id
    assert parsed is None and list(errors) == ["event_id"]


def test_missing_event_id_is_an_error():
    # given an action without event_id
    raw = item()
    del raw["event_id"]
    # when it is parsed
    parsed, errors = parse(raw)
    # then the error names event_id
    assert parsed is None and list(errors) == ["event_id"]


def test_event_id_of_64_characters_is_accepted():
    # given the longest allowed event_id
    raw = item(event_id="e" * 64)
    # when it is parsed
    parsed, errors = parse(raw)
    # then it is kept
    assert errors == {} and parsed is not None and parsed.event_id == "e" * 64


@pytest.mark.parametrize("user_id", [0, -1, "5", True, False, 1.5, 5.0, None, 2**63, [5]])
def test_bad_user_id_is_an_error(user_id):
    # given an action whose user_id is not a positive 64-bit integer
    raw = item(user_id=user_id)
    # when it is parsed
    parsed, errors = parse(raw)
    # then the error names user_id
    assert parsed is None and list(errors) == ["user_id"]


@pytest.mark.parametrize("user_id", [1, 2**63 - 1])
def test_user_id_bounds_are_accepted(user_id):
    # given the smallest and largest user ids a bigint holds
    raw = item(user_id=user_id)
    # when it is parsed
    parsed, errors = parse(raw)
    # then they are accepted
    assert errors == {} and parsed is not None and parsed.player_id == user_id


@pytest.mark.parametrize("action_type", ["NOPE", "game_play", "", None, 5])
def test_unknown_action_type_is_an_error_listing_known_types(action_type):
    # given an action of an unknown type
    raw = item(action_type="SESSION_START")
    raw["action_type"] = action_type
    # when it is parsed
    parsed, errors = parse(raw)
    # then the error names action_type and lists the known types
    assert parsed is None and list(errors) == ["action_type"]
    assert "GAME_PLAY" in errors["action_type"] and "SESSION_START" in errors["action_type"]


@pytest.mark.parametrize(
    "timestamp",
    [
        "2026-11-20T11:00:00",  # naive: no UTC offset
        "2026-11-20",  # a date, not a date-time
        "yesterday",
        "",
        1763636400,  # Unix seconds are not ISO 8601
        None,
    ],
)
def test_bad_action_timestamp_is_an_error(timestamp):
    # given an action whose timestamp is not an ISO 8601 date-time with an offset
    raw = item(action_timestamp=timestamp)
    # when it is parsed
    parsed, errors = parse(raw)
    # then the error names action_timestamp
    assert parsed is None and list(errors) == ["action_timestamp"]


def test_naive_timestamp_error_asks_for_an_offset():
    # given a timestamp without UTC offset
    raw = item(action_timestamp="2026-11-20T11:00:00")
    # when it is parsed
    _, errors = parse(raw)
    # then the message says an offset is needed
    assert "UTC offset" in errors["action_timestamp"]


def test_missing_action_timestamp_is_an_error():
    # given an action without a timestamp
    raw = item()
    del raw["action_timestamp"]
    # when it is parsed
    parsed, errors = parse(raw)
    # then the error says it is required
    assert parsed is None and errors["action_timestamp"].startswith("Required")


def test_timestamp_far_in_the_future_is_an_error():
    # given an action two hours ahead of the server clock (max skew: one hour)
    raw = item(action_timestamp=(NOW + dt.timedelta(hours=2)).isoformat())
    # when it is parsed
    parsed, errors = parse(raw)
    # then it is refused as in the future
    assert parsed is None and "future" in errors["action_timestamp"]


def test_timestamp_slightly_ahead_is_accepted():
    # given an action 59 minutes ahead (within the allowed clock skew)
    raw = item(action_timestamp=(NOW + dt.timedelta(minutes=59)).isoformat())
    # when it is parsed
    parsed, errors = parse(raw)
    # then it is accepted
    assert errors == {} and parsed is not None


@pytest.mark.parametrize(
    "timestamp", ["2026-11-20T20:00:00+09:00", "2026-11-20T11:00:00Z", "2026-11-20T06:00:00-05:00"]
)
def test_timestamp_is_converted_to_utc(timestamp):
    # given the same instant written with different offsets
    raw = item(action_timestamp=timestamp)
    # when it is parsed
    parsed, _ = parse(raw)
    # then it comes out as the same UTC time
    assert parsed is not None
    assert parsed.action_timestamp == dt.datetime(2026, 11, 20, 11, tzinfo=dt.UTC)
    assert parsed.action_timestamp.utcoffset() == dt.timedelta(0)


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"])
def test_timestamp_at_the_ends_of_the_calendar_is_an_error_not_a_crash(timestamp):
    # given a timestamp whose UTC equivalent falls outside the datetime range
    raw = item(action_timestamp=timestamp)
    # when it is parsed
    parsed, errors = parse(raw)
    # then it is a field error on action_timestamp
    assert parsed is None and list(errors) == ["action_timestamp"]


@pytest.mark.parametrize(
    "timestamp",
    ["1999-12-31T23:59:59.999999Z", "2000-01-01T08:59:59+09:00", "1970-01-01T00:00:00Z", "0001-01-01T00:00:00+00:00"],
)
def test_timestamp_before_2000_is_refused_naming_the_bound(timestamp):
    # given a timestamp before 2000-01-01 UTC (the lower bound), in UTC or with an offset
    raw = item(action_timestamp=timestamp)
    # when it is parsed
    parsed, errors = parse(raw)
    # then it is refused on action_timestamp, and the message names the bound
    assert parsed is None and list(errors) == ["action_timestamp"]
    assert "2000-01-01" in errors["action_timestamp"]


@pytest.mark.parametrize("timestamp", ["2000-01-01T00:00:00Z", "2000-01-01T09:00:00+09:00"])
def test_timestamp_at_the_lower_bound_is_accepted(timestamp):
    # given the lower bound itself, written in UTC or with an offset
    raw = item(action_timestamp=timestamp)
    # when it is parsed
    parsed, errors = parse(raw)
    # then it is accepted
    assert errors == {} and parsed is not None
    assert parsed.action_timestamp == dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize("metadata", [[], ["game"], "x", 5, True])
def test_metadata_that_is_not_an_object_is_an_error(metadata):
    # given an action whose metadata is not a JSON object
    raw = item("GAME_PLAY", metadata)
    # when it is parsed
    parsed, errors = parse(raw)
    # then the error names metadata (and not its keys)
    assert parsed is None and errors == {"metadata": "Must be an object."}


@pytest.mark.parametrize("present", [True, False])
def test_absent_or_null_metadata_is_an_empty_object(present):
    # given a SESSION_START (no required keys) with metadata null or left out
    raw = item("SESSION_START")
    if present:
        raw["metadata"] = None
    else:
        del raw["metadata"]
    # when it is parsed
    parsed, errors = parse(raw)
    # then it is accepted with empty metadata
    assert errors == {} and parsed is not None and parsed.metadata == {}


def test_absent_metadata_on_a_type_with_required_keys_names_every_key():
    # given a GAME_PLAY without metadata
    raw = item("GAME_PLAY")
    del raw["metadata"]
    # when it is parsed
    _, errors = parse(raw)
    # then every required key is named
    assert set(errors) == {"metadata.game", "metadata.bet", "metadata.payout", "metadata.result"}


def test_every_problem_of_an_item_is_reported_at_once():
    # given an action wrong in several places
    raw = item("GAME_PLAY", {"game": "Poker", "bet": -1, "payout": 0, "result": "win"}, user_id=0, event_id="")
    # when it is parsed
    _, errors = parse(raw)
    # then each problem has its own entry
    assert set(errors) == {"event_id", "user_id", "metadata.game", "metadata.bet"}


@pytest.mark.parametrize("raw", ["x", None, [], 5])
def test_item_that_is_not_an_object_is_an_error_on_the_item(raw):
    # given an item that is not an object
    # when it is parsed
    parsed, errors = parse(raw)
    # then the error is on the item itself (empty path)
    assert parsed is None and list(errors) == [""]


NUL_CASES = [
    ("event_id", item(event_id="evt\u00001")),
    ("metadata.note", item("SESSION_START", {"note": "a\u0000b"})),
    ("metadata.content_id", item("VIEW_CONTENT", {"content_id": "c\u0000"})),
    ("metadata.client.os", item("SESSION_START", {"client": {"build": 1, "os": "ios\u0000"}})),
    ("metadata.actions[1]", item("CORPORATE_VISIT", {"dwell_seconds": 5, "actions": ["view", "\u0000"]})),
    ("metadata.client", item("SESSION_START", {"client": {"o\u0000s": "ios"}})),  # in a key: its object
    ("metadata", item("SESSION_START", {"\u0000": 1})),
    ("action_type", {**item(), "action_type": "SESSION\u0000START"}),
]


@pytest.mark.parametrize(("field", "raw"), NUL_CASES)
def test_nul_character_is_refused(field, raw):
    # given an action with a NUL character in a string
    # when it is parsed
    parsed, errors = parse(raw)
    # then it is refused on that field
    assert parsed is None and field in errors


def test_nul_check_can_be_skipped_by_a_caller_that_scanned_the_body():
    # given a valid action (the API skips the walk when the raw body holds no \u0000 escape)
    raw = item("SESSION_START", {"note": "plain"})
    # when it is parsed with and without the NUL check
    # then both accept it alike
    assert parse_action(raw, now=NOW, max_future=MAX_FUTURE, allow_token_moving=False, check_nul=False) == parse(raw)


def test_parse_batch_names_item_index_and_field():
    # given a batch whose items 1 and 3 are bad
    items = [item(), item("GAME_PLAY", with_value("GAME_PLAY", "bet", -1), event_id="e2"), item(event_id="e3"), "junk"]
    # when it is parsed
    parsed, errors = parse_batch(items, now=NOW, max_future=MAX_FUTURE, allow_token_moving=False)
    # then the good items are parsed and each error path names actions[<index>].<field>
    assert [p.event_id for p in parsed] == ["evt-1", "e3"]
    assert set(errors) == {"actions[1].metadata.bet", "actions[3]"}
    assert all(isinstance(v, list) and len(v) == 1 for v in errors.values())


# --- the same rules through POST /api/actions --------------------------------------------------


def post_with_bad_item_at(client: Any, bad: Any, index: int = 1) -> Any:
    """Post a batch of three where item ``index`` is ``bad`` and the others are valid."""
    batch: list[Any] = [item(event_id=f"ok-{i}", user_id=500 + i) for i in range(3)]
    batch[index] = bad
    return client.post("/api/actions", {"actions": batch}, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("action_type", LIVE_TYPES)
def test_api_accepts_valid_example_and_keeps_extra_keys(service_client, action_type):
    # given a valid action of this type with an extra metadata key
    metadata = {**VALID_METADATA[action_type], "extra": {"kept": True}}
    raw = item(action_type, metadata, event_id=f"api-{action_type}")
    # when it is posted
    response = service_client.post("/api/actions", {"actions": [raw]}, format="json")
    # then it is stored with its metadata, extra key included
    assert response.status_code == 200, response.content
    row = UserAction.objects.get(event_id=f"api-{action_type}")
    assert row.action_type == action_type
    assert row.metadata == metadata


@pytest.mark.django_db
@pytest.mark.parametrize(("action_type", "key"), [(n, k) for n, k in REQUIRED_KEYS if n in LIVE_TYPES])
def test_api_missing_required_key_names_item_and_key(service_client, action_type, key):
    # given a batch whose item 1 lacks a required metadata key
    bad = item(action_type, without(action_type, key), event_id="bad")
    # when it is posted
    response = post_with_bad_item_at(service_client, bad)
    # then the answer is 400 naming actions[1].metadata.<key>, and nothing is stored
    assert response.status_code == 400
    assert response.json()["fields"] == {f"actions[1].metadata.{key}": ["This field is required."]}
    assert UserAction.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("action_type", "key", "value"), [b for b in BAD_VALUES if b[0] in LIVE_TYPES])
def test_api_ill_typed_key_names_item_and_key(service_client, action_type, key, value):
    # given a batch whose item 2 has an ill-typed required value
    bad = item(action_type, with_value(action_type, key, value), event_id="bad")
    # when it is posted
    response = post_with_bad_item_at(service_client, bad, index=2)
    # then the answer is 400 naming actions[2].metadata.<key>, and nothing is stored
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [f"actions[2].metadata.{key}"]
    assert UserAction.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(("action_type", "endpoint"), sorted(TOKEN_MOVING_ENDPOINTS.items()))
def test_api_refuses_token_moving_types_naming_the_endpoint(service_client, action_type, endpoint):
    # given a valid token-moving action at index 0
    bad = item(action_type, event_id="tok")
    # when it is posted to the live ingest API
    response = post_with_bad_item_at(service_client, bad, index=0)
    # then it is refused, naming the endpoint that writes such actions
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert list(fields) == ["actions[0].action_type"]
    assert endpoint in fields["actions[0].action_type"][0]
    assert UserAction.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"event_id": ""}, "event_id"),
        ({"event_id": "x" * 65}, "event_id"),
        ({"user_id": 0}, "user_id"),
        ({"user_id": -1}, "user_id"),
        ({"user_id": "5"}, "user_id"),
        ({"user_id": True}, "user_id"),
        ({"action_type": "NOPE"}, "action_type"),
        ({"action_timestamp": "2026-11-20T11:00:00"}, "action_timestamp"),
        ({"action_timestamp": "2999-01-01T00:00:00+00:00"}, "action_timestamp"),
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"metadata": "x"}, "metadata"),
    ],
)
def test_api_envelope_problems_name_item_and_field(service_client, overrides, field):
    # given a batch whose item 1 has a bad envelope field
    bad = {**item(event_id="bad"), **overrides}
    # when it is posted
    response = post_with_bad_item_at(service_client, bad)
    # then the answer is 400 naming actions[1].<field>
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert list(body["fields"]) == [f"actions[1].{field}"]


@pytest.mark.django_db
@pytest.mark.parametrize(("field", "raw"), NUL_CASES)
def test_api_refuses_nul_characters_naming_item_and_field(service_client, field, raw):
    # given a batch whose item 1 holds a NUL character (sent as the JSON escape \u0000)
    bad = {**raw, "event_id": raw["event_id"] if field == "event_id" else "bad"}
    # when it is posted
    response = post_with_bad_item_at(service_client, bad)
    # then the answer is 400 naming actions[1].<field>, and nothing is stored
    assert response.status_code == 400, response.content
    assert f"actions[1].{field}" in response.json()["fields"]
    assert UserAction.objects.count() == 0


@pytest.mark.django_db
def test_api_stores_an_escaped_backslash_followed_by_u0000_as_text(service_client):
    # given a string holding a backslash then "u0000" (the raw body holds \\u0000: not a NUL)
    raw = item("SESSION_START", {"note": "\\u0000"}, event_id="backslash")
    # when it is posted
    response = service_client.post("/api/actions", {"actions": [raw]}, format="json")
    # then it is stored as given
    assert response.status_code == 200, response.content
    assert UserAction.objects.get(event_id="backslash").metadata == {"note": "\\u0000"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "timestamp", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00", "1999-12-31T23:00:00Z"]
)
def test_api_refuses_timestamps_out_of_range_with_a_field_error(service_client, timestamp):
    # given a batch whose item 1 has a timestamp outside the accepted range
    bad = item(event_id="bad", action_timestamp=timestamp)
    # when it is posted
    response = post_with_bad_item_at(service_client, bad)
    # then the answer is a 400 naming actions[1].action_timestamp (not a 500)
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == ["actions[1].action_timestamp"]


@pytest.mark.django_db
def test_api_item_that_is_not_an_object_is_named_by_index(service_client):
    # given a batch whose item 1 is a string
    # when it is posted
    response = post_with_bad_item_at(service_client, "not an action")
    # then the error names actions[1]
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["actions[1]"]
