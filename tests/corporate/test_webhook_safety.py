"""Company A's webhook, safe to expose (issue 13, item 4; docs/decisions/0017): an unknown event type is accepted,
logged, counted and ignored; a webhook-id reused for a different event is a 409, never a second event; an event's own
time is bounded. (Oversize bodies: tests/core/test_limits.py; a malformed secret:
tests/core/test_secure_defaults.py.)"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from django.apps import apps
from django.utils import timezone
from prometheus_client import REGISTRY

from corporate import metrics
from corporate.models import WebhookReceipt
from tests import factories
from wallet.models import Wallet

pytestmark = pytest.mark.django_db

URL = "/api/corporate/webhook"
PLAYER = 4321


def deliver(client: Any, body: bytes, **sign_kwargs: Any) -> Any:
    hdrs = factories.webhook_headers(body, **sign_kwargs)
    return client.post(URL, data=body, content_type="application/json", **factories.as_meta(hdrs))


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def counted(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def iso(at: dt.datetime) -> str:
    return at.isoformat()


# --- an unknown event type -------------------------------------------------------------------------------------


def test_an_unknown_event_type_is_accepted_logged_counted_and_writes_nothing(client, caplog):
    # given a player, and a correctly signed event of a type we do not handle
    factories.make_player(id=PLAYER)
    body = factories.webhook_body("token.refunded", {"user_id": PLAYER, "tokens": 500})
    before, ignored = row_counts(), counted("tokenloop_webhook_events_ignored_total", type="token.refunded")
    # when it is delivered
    with caplog.at_level(logging.INFO, logger="corporate.services"):
        response = deliver(client, body, msg_id="msg_unknown_1")
    # then it is accepted and ignored (so Company A does not retry it), logged and counted, and nothing is written
    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "webhook_id": "msg_unknown_1", "type": "token.refunded"}
    assert "token.refunded" in caplog.text and "msg_unknown_1" in caplog.text
    assert counted("tokenloop_webhook_events_ignored_total", type="token.refunded") == ignored + 1
    assert row_counts() == before


@pytest.mark.parametrize("data", [None, [1, 2], "x", {"user_id": "nobody"}])
def test_an_unknown_event_type_is_ignored_whatever_its_data_and_envelope(client, data):
    # given an event of an unknown type whose data we could not read anyway, and no envelope timestamp
    body = orjson.dumps({"type": "account.closed", "data": data})
    before = row_counts()
    # when it is delivered twice under one id
    first, again = deliver(client, body, msg_id="msg_unknown_2"), deliver(client, body, msg_id="msg_unknown_2")
    # then both are ignored with a 200 and nothing is written
    assert [first.status_code, again.status_code] == [200, 200]
    assert first.json()["status"] == again.json()["status"] == "ignored"
    assert row_counts() == before


def test_the_ignored_types_label_is_bounded_in_number_length_and_alphabet(monkeypatch):
    # given a process that has counted no ignored type yet
    monkeypatch.setattr(metrics, "_labels", set())
    # when 500 distinct types arrive, some long and with characters a label should not carry
    types = [f"Event {i}/ü" + "x" * (i % 90) for i in range(500)]
    labels = {metrics.ignored_type_label(t) for t in types}
    # then at most IGNORED_TYPE_LABELS_MAX labels are made, plus "other"; each short and of a safe alphabet
    assert len(labels) == metrics.IGNORED_TYPE_LABELS_MAX + 1
    assert metrics.OTHER_LABEL in labels
    assert all(re.fullmatch(r"[a-z0-9._-]{1,40}", label) for label in labels)
    # and a type seen before keeps its label
    assert metrics.ignored_type_label(types[0]) == metrics.ignored_type_label(types[0]) != metrics.OTHER_LABEL


# --- a webhook-id reused ---------------------------------------------------------------------------------------

EARNED = {
    "user_id": PLAYER,
    "earned_tokens": 500,
    "reward_type": "MISSION_COMPLETE",
    "issued_at": "2026-11-20T11:59:00+00:00",
}
VISIT = {"user_id": PLAYER, "visit_timestamp": "2026-11-20T11:58:00+00:00", "dwell_seconds": 95, "actions": ["claim"]}
QUIZ = {"user_id": PLAYER, "quiz_id": "brand-quiz-7", "completed_at": "2026-11-20T11:57:00+00:00"}


def _event(event_type: str, data: dict[str, Any], **changes: Any) -> bytes:
    return factories.webhook_body(event_type, {**data, **changes})


# (first event, the different event delivered under the same id)
CONFLICTS: dict[str, tuple[bytes, bytes]] = {
    "other tokens": (_event("token.earned", EARNED), _event("token.earned", EARNED, earned_tokens=5000)),
    "other player": (_event("token.earned", EARNED), _event("token.earned", EARNED, user_id=PLAYER + 1)),
    "other reward type": (_event("token.earned", EARNED), _event("token.earned", EARNED, reward_type="BONUS")),
    "other issue time": (
        _event("token.earned", EARNED),
        _event("token.earned", EARNED, issued_at="2026-11-21T11:59:00+00:00"),
    ),
    "a visit after a grant": (_event("token.earned", EARNED), _event("site.visit", VISIT)),
    "a grant after a visit": (_event("site.visit", VISIT), _event("token.earned", EARNED)),
    "a quiz after a visit": (_event("site.visit", VISIT), _event("quiz.completed", QUIZ)),
    "other visit length": (_event("site.visit", VISIT), _event("site.visit", VISIT, dwell_seconds=96)),
    "other visit actions": (_event("site.visit", VISIT), _event("site.visit", VISIT, actions=["claim", "x"])),
    "other quiz": (_event("quiz.completed", QUIZ), _event("quiz.completed", QUIZ, quiz_id="brand-quiz-8")),
    "other quiz time": (
        _event("quiz.completed", QUIZ),
        _event("quiz.completed", QUIZ, completed_at="2026-11-20T11:58:00+00:00"),
    ),
}


@pytest.mark.parametrize("case", list(CONFLICTS))
def test_a_webhook_id_reused_for_a_different_event_is_409_logged_and_writes_nothing(client, case, caplog):
    # given an event applied under an id
    first, second = CONFLICTS[case]
    factories.make_player(id=PLAYER)
    assert deliver(client, first, msg_id="msg_reused").json()["status"] == "processed"
    before = row_counts()
    conflicts = counted("tokenloop_webhook_id_conflicts_total", type=orjson.loads(second)["type"])
    # when a different event comes under the same id
    with caplog.at_level(logging.WARNING, logger="corporate.services"):
        response = deliver(client, second, msg_id="msg_reused")
    # then it is refused with a 409 naming the webhook-id, logged and counted, and nothing is written
    assert response.status_code == 409
    assert response.json()["error"] == "webhook_id_reused"
    assert list(response.json()["fields"]) == ["webhook-id"]
    assert "msg_reused" in caplog.text
    assert counted("tokenloop_webhook_id_conflicts_total", type=orjson.loads(second)["type"]) == conflicts + 1
    assert row_counts() == before
    # and a redelivery of the first event is still a duplicate
    assert deliver(client, first, msg_id="msg_reused").json()["status"] == "duplicate"


def test_the_same_event_resent_otherwise_serialised_or_with_a_new_envelope_time_is_a_duplicate(client):
    # given a grant applied under an id
    assert deliver(client, _event("token.earned", EARNED), msg_id="msg_again").json()["status"] == "processed"
    before = row_counts()
    # when the same event comes again, its keys in another order, its time in another offset, a new envelope time
    data = {**EARNED, "issued_at": "2026-11-20T20:59:00+09:00"}
    body = orjson.dumps(
        {"timestamp": "2026-11-22T00:00:00+00:00", "data": dict(reversed(data.items())), "type": "token.earned"}
    )
    response = deliver(client, body, msg_id="msg_again")
    # then it is the same event: a duplicate, and nothing more is written
    assert (response.status_code, response.json()["status"]) == (200, "duplicate")
    assert row_counts() == before
    assert Wallet.objects.get(player_id=PLAYER).balance == 500


def test_each_applied_event_keeps_one_receipt_and_a_refused_one_keeps_the_first(client):
    # given three events under three ids, and a different one reusing the first id
    for msg_id, body in [
        ("r1", _event("token.earned", EARNED)),
        ("r2", _event("site.visit", VISIT)),
        ("r3", _event("quiz.completed", QUIZ)),
    ]:
        deliver(client, body, msg_id=msg_id)
    deliver(client, _event("site.visit", VISIT), msg_id="r1")
    # then there is one receipt per id, with the first event's type
    assert dict(WebhookReceipt.objects.values_list("webhook_id", "type")) == {
        "r1": "token.earned",
        "r2": "site.visit",
        "r3": "quiz.completed",
    }


# --- event times bounded ---------------------------------------------------------------------------------------

TIMED: dict[str, tuple[str, Callable[[dt.datetime], bytes]]] = {
    "token.earned": ("issued_at", lambda at: _event("token.earned", EARNED, issued_at=iso(at))),
    "site.visit": ("visit_timestamp", lambda at: _event("site.visit", VISIT, visit_timestamp=iso(at))),
    "quiz.completed": ("completed_at", lambda at: _event("quiz.completed", QUIZ, completed_at=iso(at))),
}


@pytest.fixture
def production_bounds(settings):
    settings.CORPORATE_WEBHOOK_EVENT_MAX_FUTURE_SECONDS = 300
    settings.CORPORATE_WEBHOOK_EVENT_MAX_AGE_DAYS = 30
    return settings


@pytest.mark.parametrize("event_type", list(TIMED))
@pytest.mark.parametrize(
    ("offset", "problem"),
    [(dt.timedelta(seconds=301), "ahead"), (dt.timedelta(days=2), "ahead"), (-dt.timedelta(days=30, seconds=1), "old")],
    ids=["just past the skew", "two days ahead", "just over 30 days old"],
)
def test_an_event_time_out_of_bounds_is_400_naming_the_field_and_writes_nothing(
    client, production_bounds, event_type, offset, problem
):
    # given an event whose own time is too far ahead of our clock, or too old
    field, body_at = TIMED[event_type]
    factories.make_player(id=PLAYER)
    before = row_counts()
    # when it is delivered
    response = deliver(client, body_at(timezone.now() + offset))
    # then the answer is 400 naming that field, and nothing is written
    assert response.status_code == 400
    assert response.json()["fields"].keys() == {f"data.{field}"}
    assert problem in response.json()["fields"][f"data.{field}"][0]
    assert row_counts() == before


@pytest.mark.parametrize("event_type", list(TIMED))
@pytest.mark.parametrize(
    "offset", [dt.timedelta(seconds=240), -dt.timedelta(days=29, hours=23)], ids=["within the skew", "29 days old"]
)
def test_an_event_time_just_inside_the_bounds_is_processed(client, production_bounds, event_type, offset):
    # given an event whose own time is a little ahead of our clock, or nearly 30 days old
    _, body_at = TIMED[event_type]
    # when it is delivered
    response = deliver(client, body_at(timezone.now() + offset))
    # then it is processed
    assert (response.status_code, response.json()["status"]) == (200, "processed")
