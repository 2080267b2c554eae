"""The dispatcher (Celery task, run eagerly in tests) and the webhook transport, against a real HTTP receiver on
loopback: exact payloads, retries with attempts and last error recorded, final failure, nothing sent on rollback."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import orjson
import pytest
from django.db import transaction

from core.hotstore import hot_store
from corporate.services import corporate_token_earned
from notifications import services
from notifications.models import Notification
from notifications.transports import LogTransport, TransportError, WebhookTransport, get_transport
from tests import factories

PLAYER = 123
PAYLOAD = {
    "type": "NEW_TOKEN_ARRIVAL",
    "user_id": PLAYER,
    "earned_tokens": 500,
    "message": "A 업체에서 500 사이버 토큰을 획득했습니다! 바로 게임에서 사용해보세요.",
}


class Boom(Exception):
    pass


def create(**overrides: Any) -> Notification:
    fields: dict[str, Any] = {
        "player_id": PLAYER,
        "type": "NEW_TOKEN_ARRIVAL",
        "kind": "transactional",
        "message": PAYLOAD["message"],
        "payload": PAYLOAD,
    }
    fields.update(overrides)
    return services.notification_create(**fields)


def create_committed(**overrides: Any) -> Notification:
    """Create in a transaction of its own that commits (its on-commit dispatch runs, Celery eager)."""
    with transaction.atomic():
        notification = create(**overrides)
    notification.refresh_from_db()
    return notification


# --- delivery ------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_push_reaches_the_receiver_with_the_exact_json(webhook_transport):
    # given the webhook transport pointed at a receiver on loopback
    # when a notification is created and its transaction commits
    notification = create_committed()
    # then the receiver got one POST whose body is exactly the payload, as JSON
    assert len(webhook_transport.requests) == 1
    received = webhook_transport.requests[0]
    assert received.path == "/push"
    assert orjson.loads(received.body) == PAYLOAD
    assert received.headers["content-type"] == "application/json"
    assert received.headers["idempotency-key"] == f"notification-{notification.id}"
    # and the row is sent after one attempt
    assert (notification.status, notification.is_sent, notification.attempts, notification.last_error) == (
        "sent",
        True,
        1,
        "",
    )
    assert notification.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_company_a_grant_pushes_the_spec_object_to_the_receiver(client, webhook_transport):
    # given the webhook transport pointed at a receiver on loopback, and a Korean-speaking player 123
    factories.make_player(id=PLAYER)
    body = factories.token_earned_body(user_id=PLAYER, earned_tokens=500)
    hdrs = factories.webhook_headers(body, msg_id="msg_e2e")
    # when Company A reports 500 tokens, and then redelivers the same webhook
    first = client.post("/api/corporate/webhook", data=body, content_type="application/json", **factories.as_meta(hdrs))
    again = client.post("/api/corporate/webhook", data=body, content_type="application/json", **factories.as_meta(hdrs))
    # then the receiver got the spec's NEW_TOKEN_ARRIVAL object exactly once
    assert (first.json()["status"], again.json()["status"]) == ("processed", "duplicate")
    assert [orjson.loads(r.body) for r in webhook_transport.requests] == [PAYLOAD]
    # and in the spec's key order on the wire, whatever order the database keeps
    assert list(orjson.loads(webhook_transport.requests[0].body)) == ["type", "user_id", "earned_tokens", "message"]
    assert Notification.objects.get().status == "sent"


@pytest.mark.django_db(transaction=True)
def test_a_receiver_answering_500_is_retried_until_it_accepts(webhook_transport, settings):
    # given a receiver that answers 500 to its first two requests, and up to 6 attempts
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 6
    webhook_transport.fail_first = 2
    # when a notification is created and committed
    notification = create_committed()
    # then it was sent on the third attempt, the same body and idempotency key each time
    assert len(webhook_transport.requests) == 3
    assert [orjson.loads(r.body) for r in webhook_transport.requests] == [PAYLOAD] * 3
    assert {r.headers["idempotency-key"] for r in webhook_transport.requests} == {f"notification-{notification.id}"}
    assert (notification.status, notification.is_sent, notification.attempts) == ("sent", True, 3)


@pytest.mark.django_db
def test_each_failed_attempt_records_attempts_and_last_error(webhook_transport):
    # given a pending notification and a receiver that answers 500
    webhook_transport.fail_first = 10
    notification = create()
    # when the sender tries twice
    for expected_attempts in (1, 2):
        with pytest.raises(TransportError):
            services.notification_send(notification_id=notification.id)
        # then each attempt is recorded with its error, and the row stays pending for the retry
        notification.refresh_from_db()
        assert (notification.status, notification.attempts, notification.last_error) == (
            "pending",
            expected_attempts,
            "push gateway answered 500",
        )
    assert len(webhook_transport.requests) == 2


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_keeps_failing_ends_failed_after_max_attempts(webhook_transport, settings):
    # given a receiver that always answers 503, and at most 4 attempts
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 4
    webhook_transport.fail_first = 1000
    webhook_transport.fail_status = 503
    # when a notification is created and committed
    notification = create_committed()
    # then exactly 4 requests were made and the row is failed with the last error
    assert len(webhook_transport.requests) == 4
    assert (notification.status, notification.is_sent, notification.attempts, notification.last_error) == (
        "failed",
        False,
        4,
        "push gateway answered 503",
    )
    assert notification.sent_at is None


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_receiver_ends_failed_after_max_attempts(unreachable_url, settings):
    # given the webhook transport pointed at a loopback port where nothing listens, and at most 3 attempts
    settings.NOTIFICATIONS_TRANSPORT = "webhook"
    settings.NOTIFICATIONS_WEBHOOK_URL = unreachable_url
    settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    # when a notification is created and committed
    notification = create_committed()
    # then it is failed after 3 attempts, the last error saying the gateway was unreachable
    assert (notification.status, notification.is_sent, notification.attempts) == ("failed", False, 3)
    assert notification.last_error.startswith("push gateway unreachable")


@pytest.mark.django_db
def test_a_sent_notification_is_not_sent_again(webhook_transport, django_capture_on_commit_callbacks):
    # given a notification already sent
    with django_capture_on_commit_callbacks(execute=True):
        notification = create()
    assert len(webhook_transport.requests) == 1
    # when the sender is asked to send it again (a duplicate task, the periodic sweep)
    status = services.notification_send(notification_id=notification.id)
    # then nothing more is sent
    assert status == "sent"
    assert len(webhook_transport.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_a_push_that_cannot_be_handed_over_does_not_fail_the_committed_grant(client, settings):
    # given a transport that cannot even be built (a configuration error)
    settings.NOTIFICATIONS_TRANSPORT = "carrier-pigeon"
    body = factories.token_earned_body(user_id=PLAYER, earned_tokens=500)
    # when Company A reports 500 tokens
    response = client.post(
        "/api/corporate/webhook",
        data=body,
        content_type="application/json",
        **factories.as_meta(factories.webhook_headers(body)),
    )
    # then the grant committed and is answered 200 (a 500 would only make Company A redeliver it)
    assert response.status_code == 200
    assert response.json()["status"] == "processed"
    # and the push stays pending for the periodic sweep once the configuration is fixed
    assert Notification.objects.get().status == "pending"


@pytest.mark.django_db
def test_a_repeated_dedupe_key_creates_and_sends_nothing_new(webhook_transport, django_capture_on_commit_callbacks):
    # given a notification created and sent under a dedupe key
    with django_capture_on_commit_callbacks(execute=True):
        first = create(dedupe_key="corporate:msg_1")
    # when the same key is used again
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = create(dedupe_key="corporate:msg_1")
    # then the first notification comes back, nothing new is stored or scheduled, and one push was made
    assert again.id == first.id
    assert callbacks == []
    assert Notification.objects.count() == 1
    assert len(webhook_transport.requests) == 1


# --- rollback ------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_sends_nothing(webhook_transport):
    # given the webhook transport pointed at a receiver
    # when a transaction creates a notification and then rolls back
    with pytest.raises(Boom), transaction.atomic():
        create()
        raise Boom
    # then the receiver got no request and no notification exists
    assert webhook_transport.requests == []
    assert Notification.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_company_a_grant_sends_no_push_and_caches_no_balance(webhook_transport):
    # given the webhook transport pointed at a receiver
    # when a Company A grant runs inside a transaction that then rolls back
    with pytest.raises(Boom), transaction.atomic():
        corporate_token_earned(
            webhook_id="msg_rollback",
            player_id=PLAYER,
            earned_tokens=500,
            reward_type="MISSION_COMPLETE",
            issued_at=dt.datetime.now(dt.UTC),
        )
        raise Boom
    # then nothing was pushed, no balance was cached, and no notification exists
    assert webhook_transport.requests == []
    assert hot_store.get_many([f"user:{PLAYER}:cyber_token_balance"]) == {}
    assert Notification.objects.count() == 0
    # and the same webhook delivered afterwards is processed normally and pushed once
    with transaction.atomic():
        outcome = corporate_token_earned(
            webhook_id="msg_rollback",
            player_id=PLAYER,
            earned_tokens=500,
            reward_type="MISSION_COMPLETE",
            issued_at=dt.datetime.now(dt.UTC),
        )
    assert outcome.duplicate is False
    assert [orjson.loads(r.body) for r in webhook_transport.requests] == [PAYLOAD]


# --- transports ------------------------------------------------------------------------------------------


def test_the_transport_is_chosen_by_setting(settings):
    # given each supported setting
    settings.NOTIFICATIONS_WEBHOOK_URL = "http://127.0.0.1:9/push"
    # when the transport is asked for
    # then "log" gives the log transport and "webhook" the HTTP one at the configured URL
    settings.NOTIFICATIONS_TRANSPORT = "log"
    assert isinstance(get_transport(), LogTransport)
    settings.NOTIFICATIONS_TRANSPORT = "webhook"
    transport = get_transport()
    assert isinstance(transport, WebhookTransport)
    assert transport.url == "http://127.0.0.1:9/push"
    # and anything else is a configuration error
    settings.NOTIFICATIONS_TRANSPORT = "sms"
    with pytest.raises(ValueError, match="NOTIFICATIONS_TRANSPORT"):
        get_transport()


@pytest.mark.django_db
def test_log_transport_writes_the_payload_to_the_log(settings, caplog, django_capture_on_commit_callbacks):
    # given the log transport (the embedded default)
    settings.NOTIFICATIONS_TRANSPORT = "log"
    # when a notification is created and committed
    with caplog.at_level(logging.INFO, logger="notifications.push"), django_capture_on_commit_callbacks(execute=True):
        notification = create()
    # then the payload was logged as JSON and the row is sent
    [record] = [r for r in caplog.records if r.name == "notifications.push"]
    logged = record.getMessage()
    assert logged.startswith(f"push {notification.id} ")
    assert orjson.loads(logged.split(" ", 2)[2]) == PAYLOAD
    notification.refresh_from_db()
    assert notification.status == "sent"


@pytest.mark.django_db(transaction=True)
def test_pushes_sent_in_the_request_are_recorded_as_sent_when_the_request_ends(webhook_transport):
    # given no broker: each grant's request sends its push right after its commit
    # when three grants commit
    for n in range(3):
        corporate_token_earned(
            webhook_id=f"wb-{n}",
            player_id=PLAYER + n,
            earned_tokens=10,
            reward_type="EARN_CYBER_TOKENS",
            issued_at=dt.datetime(2026, 11, 20, tzinfo=dt.UTC),
        )
    # then the receiver has all three, and their rows are already recorded sent, one attempt each
    assert len(webhook_transport.requests) == 3
    assert (
        list(Notification.objects.order_by("id").values_list("status", "is_sent", "attempts"))
        == [("sent", True, 1)] * 3
    )
