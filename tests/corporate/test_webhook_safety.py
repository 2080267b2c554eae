"""Company A's webhook, safe to expose (issue 13, item 4; docs/decisions/0029): an unknown event type is accepted,
logged, counted and ignored; a webhook-id reused for a different event is a 409, never a silent duplicate nor a second
event; an event's own time is bounded; an oversize body is a 413 before any work. (The statements each delivery
takes: test_query_count.py; concurrent deliveries: test_concurrency.py; a malformed secret:
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

from core.metrics import BoundedLabels
from corporate.models import SiteQuizCompletion, SiteReward, SiteVisit
from corporate.services import event_fingerprint
from tests import factories
from wallet.models import LedgerEntry, Wallet
from wallet.services import wallet_earn

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


def test_the_ignored_types_label_is_bounded_in_number_length_and_alphabet():
    # given a process that has counted no ignored type yet
    label_of = BoundedLabels(max_values=20, max_length=40)
    # when 500 distinct types arrive, some long and with characters a label should not carry
    types = [f"Event {i}/ü" + "x" * (i % 90) for i in range(500)]
    labels = {label_of(t) for t in types}
    # then at most 20 labels are made, plus "other"; each short and of a safe alphabet
    assert len(labels) == 20 + 1
    assert BoundedLabels.OTHER in labels
    assert all(re.fullmatch(r"[a-z0-9._-]{1,40}", label) for label in labels)
    # and a type seen before keeps its label
    assert label_of(types[0]) == label_of(types[0]) != BoundedLabels.OTHER


# --- a webhook-id reused ---------------------------------------------------------------------------------------

EARNED: dict[str, Any] = {
    "user_id": PLAYER,
    "earned_tokens": 500,
    "reward_type": "MISSION_COMPLETE",
    "issued_at": "2026-11-20T11:59:00+00:00",
}
VISIT: dict[str, Any] = {
    "user_id": PLAYER,
    "visit_timestamp": "2026-11-20T11:58:00+00:00",
    "dwell_seconds": 95,
    "actions": ["claim"],
}
QUIZ: dict[str, Any] = {"user_id": PLAYER, "quiz_id": "brand-quiz-7", "completed_at": "2026-11-20T11:57:00+00:00"}


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
    "a grant after a quiz": (_event("quiz.completed", QUIZ), _event("token.earned", EARNED)),
    "a quiz after a visit": (_event("site.visit", VISIT), _event("quiz.completed", QUIZ)),
    "a visit after a quiz": (_event("quiz.completed", QUIZ), _event("site.visit", VISIT)),
    "other visit player": (_event("site.visit", VISIT), _event("site.visit", VISIT, user_id=PLAYER + 1)),
    "other visit length": (_event("site.visit", VISIT), _event("site.visit", VISIT, dwell_seconds=96)),
    "other visit actions": (_event("site.visit", VISIT), _event("site.visit", VISIT, actions=["claim", "x"])),
    "other visit time": (
        _event("site.visit", VISIT),
        _event("site.visit", VISIT, visit_timestamp="2026-11-20T11:58:01+00:00"),
    ),
    "other quiz": (_event("quiz.completed", QUIZ), _event("quiz.completed", QUIZ, quiz_id="brand-quiz-8")),
    "other quiz player": (_event("quiz.completed", QUIZ), _event("quiz.completed", QUIZ, user_id=PLAYER + 1)),
    "other quiz time": (
        _event("quiz.completed", QUIZ),
        _event("quiz.completed", QUIZ, completed_at="2026-11-20T11:58:00+00:00"),
    ),
}


@pytest.mark.parametrize("case", list(CONFLICTS))
def test_a_webhook_id_reused_for_a_different_event_is_409_logged_counted_and_writes_nothing(client, case, caplog):
    # given an event applied under an id
    first, second = CONFLICTS[case]
    factories.make_player(id=PLAYER)
    assert deliver(client, first, msg_id="msg_reused").json()["status"] == "processed"
    before = row_counts()
    second_type = orjson.loads(second)["type"]
    conflicts = counted("tokenloop_webhook_id_conflicts_total", type=second_type)
    # when a different event comes under the same id
    with caplog.at_level(logging.WARNING, logger="corporate.services"):
        response = deliver(client, second, msg_id="msg_reused")
    # then it is refused with a 409 naming the webhook-id, logged and counted, and nothing is written
    assert response.status_code == 409
    assert response.json()["error"] == "webhook_id_reused"
    assert list(response.json()["fields"]) == ["webhook-id"]
    assert "msg_reused" in caplog.text
    assert counted("tokenloop_webhook_id_conflicts_total", type=second_type) == conflicts + 1
    assert row_counts() == before
    # and a redelivery of the first event is still a duplicate
    assert deliver(client, first, msg_id="msg_reused").json()["status"] == "duplicate"


SAME_EVENT_OTHERWISE: dict[str, tuple[bytes, dict[str, Any]]] = {
    "token.earned": (_event("token.earned", EARNED), {**EARNED, "issued_at": "2026-11-20T20:59:00+09:00"}),
    "site.visit": (_event("site.visit", VISIT), {**VISIT, "visit_timestamp": "2026-11-20T12:58:00+01:00"}),
    "quiz.completed": (_event("quiz.completed", QUIZ), {**QUIZ, "completed_at": "2026-11-20T11:57:00Z"}),
}


@pytest.mark.parametrize("event_type", list(SAME_EVENT_OTHERWISE))
def test_the_same_event_resent_otherwise_serialised_or_with_a_new_envelope_time_is_a_duplicate(client, event_type):
    # given an event applied under an id
    first, data = SAME_EVENT_OTHERWISE[event_type]
    assert deliver(client, first, msg_id="msg_again").json()["status"] == "processed"
    before = row_counts()
    # when the same event comes again: its keys in another order, its time in another offset, a new envelope time
    body = orjson.dumps(
        {"timestamp": "2026-11-22T00:00:00+00:00", "data": dict(reversed(data.items())), "type": event_type}
    )
    response = deliver(client, body, msg_id="msg_again")
    # then it is the same event: a duplicate, and nothing more is written
    assert (response.status_code, response.json()["status"]) == (200, "duplicate")
    assert row_counts() == before


# --- events stored before their fingerprints were kept (docs/decisions/0029) -----------------------------------


def _legacy_grant(webhook_id: str) -> None:
    """A grant as stored before the ledger's request hash covered the issue time (its details without it)."""
    wallet_earn(
        player_id=PLAYER,
        amount=EARNED["earned_tokens"],
        source="corporate",
        idempotency_key=f"corporate:{webhook_id}",
        details={"webhook_id": webhook_id, "reward_type": EARNED["reward_type"]},
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [({}, (200, "duplicate")), ({"issued_at": "2026-11-21T00:00:00+00:00"}, (200, "duplicate"))],
    ids=["the same event", "another issue time, which the old hash did not cover"],
)
def test_a_grant_stored_before_the_issue_time_was_hashed_answers_its_redelivery_as_a_duplicate(
    client, changes, expected
):
    # given a grant stored under an id by the code before this change
    _legacy_grant("msg_legacy_grant")
    before = row_counts()
    # when Company A redelivers it after the change
    response = deliver(client, _event("token.earned", EARNED, **changes), msg_id="msg_legacy_grant")
    # then it is a duplicate, and nothing is written
    assert (response.status_code, response.json().get("status")) == expected
    assert row_counts() == before
    assert Wallet.objects.get(player_id=PLAYER).balance == 500


@pytest.mark.parametrize("changes", [{"earned_tokens": 5000}, {"reward_type": "BONUS"}], ids=["tokens", "reward type"])
def test_a_grant_stored_before_the_issue_time_was_hashed_still_refuses_a_different_event(client, changes):
    # given a grant stored under an id by the code before this change
    _legacy_grant("msg_legacy_grant")
    before = row_counts()
    # when a different grant comes under that id
    response = deliver(client, _event("token.earned", EARNED, **changes), msg_id="msg_legacy_grant")
    # then it is a 409, and nothing is written
    assert (response.status_code, response.json()["error"]) == (409, "webhook_id_reused")
    assert row_counts() == before


LEGACY_ROWS: dict[str, tuple[type[SiteVisit] | type[SiteQuizCompletion], bytes, bytes]] = {
    "site.visit": (SiteVisit, _event("site.visit", VISIT), _event("site.visit", VISIT, dwell_seconds=1)),
    "quiz.completed": (
        SiteQuizCompletion,
        _event("quiz.completed", QUIZ),
        _event("quiz.completed", QUIZ, quiz_id="brand-quiz-8"),
    ),
}


@pytest.mark.parametrize("event_type", list(LEGACY_ROWS))
def test_an_event_stored_without_a_fingerprint_is_compared_by_its_fields(client, event_type):
    # given an event stored before fingerprints were kept (its column empty)
    model, same, other = LEGACY_ROWS[event_type]
    assert deliver(client, same, msg_id="msg_legacy").json()["status"] == "processed"
    model._default_manager.update(fingerprint=None)
    # when the same event and then a different one come under its id
    again, different = deliver(client, same, msg_id="msg_legacy"), deliver(client, other, msg_id="msg_legacy")
    # then the same is a duplicate and the different one a 409
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert (different.status_code, different.json()["error"]) == (409, "webhook_id_reused")


def test_each_event_keeps_the_fingerprint_it_is_compared_by(client):
    # given a grant, a visit and a quiz completion, each under its own id
    for msg_id, body in [
        ("f1", _event("token.earned", EARNED)),
        ("f2", _event("site.visit", VISIT)),
        ("f3", _event("quiz.completed", QUIZ)),
    ]:
        deliver(client, body, msg_id=msg_id)
    # then the visit and the completion keep their event's fingerprint, and the grant's ledger row the issue time
    # its request hash covers
    at = dt.datetime.fromisoformat
    assert SiteVisit.objects.get().fingerprint == event_fingerprint(
        "site.visit", user_id=PLAYER, visit_timestamp=at(VISIT["visit_timestamp"]), dwell_seconds=95, actions=["claim"]
    )
    assert SiteQuizCompletion.objects.get().fingerprint == event_fingerprint(
        "quiz.completed", user_id=PLAYER, quiz_id="brand-quiz-7", completed_at=at(QUIZ["completed_at"])
    )
    assert LedgerEntry.objects.get(idempotency_key="corporate:f1").details == {
        "webhook_id": "f1",
        "reward_type": "MISSION_COMPLETE",
        "issued_at": "2026-11-20T11:59:00+00:00",
    }
    assert SiteReward.objects.get().webhook_id == "f1"


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


# --- oversize bodies -------------------------------------------------------------------------------------------


def test_a_signed_grant_one_byte_past_the_body_limit_is_413_and_writes_nothing_at_the_limit_processed(client, settings):
    # given a correctly signed grant, and a body limit one byte short of it
    body = _event("token.earned", EARNED)
    settings.REQUEST_BODY_MAX_BYTES = len(body) - 1
    before = row_counts()
    # when it is delivered, then it is refused for its size alone, and nothing is written
    response = deliver(client, body, msg_id="msg_big")
    assert (response.status_code, response.json()["error"]) == (413, "request_too_large")
    assert row_counts() == before
    # and with the limit at its exact size it is processed
    settings.REQUEST_BODY_MAX_BYTES = len(body)
    assert deliver(client, body, msg_id="msg_big").json()["status"] == "processed"
