"""POST /api/corporate/webhook (spec 2.2.3 "event trigger", design brief sections 3 and 5): Company A's signed
events, each applied exactly once by its webhook-id."""

from __future__ import annotations

import base64
import datetime as dt
import math
import time
from typing import Any

import orjson
import pytest
from django.apps import apps
from django.utils import timezone

from activity.models import UserAction
from core.hotstore import hot_store
from corporate.models import SiteReward, SiteVisit
from notifications.models import Notification
from players.models import Player
from players.services import protection_update
from tests import factories
from wallet.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db

URL = "/api/corporate/webhook"
PLAYER = 123
BALANCE_KEY = f"user:{PLAYER}:cyber_token_balance"
OTHER_SECRET = "whsec_" + base64.b64encode(b"a-secret-company-a-never-gave-us").decode()

# Spec 2.2.3, the push object exactly as printed (Korean original and English translation).
SPEC_PUSH_KO = {
    "type": "NEW_TOKEN_ARRIVAL",
    "user_id": 123,
    "earned_tokens": 500,
    "message": "A 업체에서 500 사이버 토큰을 획득했습니다! 바로 게임에서 사용해보세요.",
}
SPEC_PUSH_EN = {
    "type": "NEW_TOKEN_ARRIVAL",
    "user_id": 123,
    "earned_tokens": 500,
    "message": "You have acquired 500 cyber tokens from Company A! Use them in the game now.",
}


def deliver(client: Any, body: bytes, hdrs: dict[str, str] | None = None, **sign_kwargs: Any) -> Any:
    """POST the raw bytes as Company A does, signed unless ``hdrs`` is given."""
    hdrs = factories.webhook_headers(body, **sign_kwargs) if hdrs is None else hdrs
    return client.post(URL, data=body, content_type="application/json", **factories.as_meta(hdrs))


def row_counts() -> dict[str, int]:
    """Rows in every table of the project."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def written_by_webhooks() -> dict[str, int]:
    return {
        "site_rewards": SiteReward.objects.count(),
        "site_visits": SiteVisit.objects.count(),
        "user_actions": UserAction.objects.count(),
        "token_ledger": LedgerEntry.objects.count(),
        "notifications": Notification.objects.count(),
    }


def assert_nothing_written(before: dict[str, int]) -> None:
    assert row_counts() == before
    assert hot_store.get_many([BALANCE_KEY]) == {}


# --- token.earned ------------------------------------------------------------------------------------


def test_token_earned_writes_one_reward_one_action_one_ledger_row_and_one_notification(client):
    # given a player Company A knows
    factories.make_player(id=PLAYER)
    # when Company A reports 500 tokens earned
    body = factories.token_earned_body(user_id=PLAYER, earned_tokens=500, reward_type="MISSION_COMPLETE")
    response = deliver(client, body, msg_id="msg_earn_1")
    # then it is processed
    assert response.status_code == 200
    assert response.json() == {"status": "processed", "webhook_id": "msg_earn_1"}
    assert written_by_webhooks() == {
        "site_rewards": 1,
        "site_visits": 0,
        "user_actions": 1,
        "token_ledger": 1,
        "notifications": 1,
    }
    # and the site_rewards row, the EARN_CYBER_TOKENS action and the ledger row describe the same grant
    reward = SiteReward.objects.get()
    action = UserAction.objects.get()
    entry = LedgerEntry.objects.get()
    assert (reward.user_id, reward.reward_type, reward.reward_value, reward.webhook_id) == (
        PLAYER,
        "MISSION_COMPLETE",
        500,
        "msg_earn_1",
    )
    assert reward.issued_at.isoformat() == "2026-11-20T11:59:00+00:00"
    assert (action.user_id, action.action_type) == (PLAYER, "EARN_CYBER_TOKENS")
    assert action.metadata["earned_tokens"] == 500
    assert action.metadata["source"] == "corporate"
    assert (entry.player_id, entry.kind, entry.source, entry.amount, entry.balance_after) == (
        PLAYER,
        "EARN",
        "corporate",
        500,
        500,
    )
    assert (reward.action_id, reward.ledger_entry_id, entry.action_id) == (action.id, entry.id, action.id)
    # and the notification is the transactional NEW_TOKEN_ARRIVAL push
    notification = Notification.objects.get()
    assert (notification.user_id, notification.type, notification.kind, notification.channel) == (
        PLAYER,
        "NEW_TOKEN_ARRIVAL",
        "transactional",
        "push",
    )


def test_push_payload_is_the_spec_object_in_korean_by_default(client):
    # given player 123 who never chose a locale (Korean is the default)
    factories.make_player(id=PLAYER)
    # when Company A reports 500 tokens
    deliver(client, factories.token_earned_body(user_id=PLAYER, earned_tokens=500))
    # then the stored push is exactly the spec's object, no key more or less
    notification = Notification.objects.get()
    assert notification.payload == SPEC_PUSH_KO
    assert notification.message == SPEC_PUSH_KO["message"]


def test_push_payload_for_a_player_first_seen_in_the_webhook_is_korean(client):
    # given no player 123 yet (Company A may report a player before the app sees them)
    assert not Player.objects.filter(id=PLAYER).exists()
    # when Company A reports 500 tokens
    response = deliver(client, factories.token_earned_body(user_id=PLAYER, earned_tokens=500))
    # then the player is created and the push is the Korean spec object
    assert response.status_code == 200
    assert Player.objects.get(id=PLAYER).locale == "ko"
    assert Notification.objects.get().payload == SPEC_PUSH_KO


def test_push_payload_is_in_english_for_an_english_player(client):
    # given player 123 whose locale is English
    factories.make_player(id=PLAYER, locale="en")
    # when Company A reports 500 tokens
    deliver(client, factories.token_earned_body(user_id=PLAYER, earned_tokens=500))
    # then the push is the spec's object with the English text
    notification = Notification.objects.get()
    assert notification.payload == SPEC_PUSH_EN
    assert notification.message == SPEC_PUSH_EN["message"]


def test_balance_rises_by_each_grant(client):
    # given a player with no tokens
    factories.make_player(id=PLAYER)
    # when Company A reports 500 and then 250 tokens
    deliver(client, factories.token_earned_body(user_id=PLAYER, earned_tokens=500))
    deliver(client, factories.token_earned_body(user_id=PLAYER, earned_tokens=250))
    # then the wallet holds 750 and the ledger's running balance says the same
    assert Wallet.objects.get(player_id=PLAYER).balance == 750
    assert list(LedgerEntry.objects.order_by("id").values_list("amount", "balance_after")) == [(500, 500), (250, 750)]


def test_balance_copy_and_push_follow_only_after_commit(client, django_capture_on_commit_callbacks):
    # given a player with no tokens
    factories.make_player(id=PLAYER)
    # when Company A reports 500 tokens and the transaction has not yet been followed by its commit hooks
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = deliver(client, factories.token_earned_body(user_id=PLAYER, earned_tokens=500))
    assert response.status_code == 200
    # then neither the cached balance nor the push has moved yet
    assert hot_store.get_many([BALANCE_KEY]) == {}
    assert Notification.objects.get().status == "pending"
    # and once the commit hooks run, the cached balance is 500 and the push is sent (log transport)
    for callback in callbacks:
        callback()
    assert hot_store.get_many([BALANCE_KEY]) == {BALANCE_KEY: 500}
    notification = Notification.objects.get()
    assert (notification.status, notification.is_sent, notification.attempts) == ("sent", True, 1)


def test_redis_balance_key_is_raised(client, redis_only, django_capture_on_commit_callbacks):
    # given a player holding 100 tokens from an earlier grant, committed
    factories.make_player(id=PLAYER)
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, factories.token_earned_body(user_id=PLAYER, earned_tokens=100))
    assert hot_store.redis().get(BALANCE_KEY) == b"100"
    # when Company A reports 500 more
    with django_capture_on_commit_callbacks(execute=True):
        deliver(client, factories.token_earned_body(user_id=PLAYER, earned_tokens=500))
    # then Redis' key user:123:cyber_token_balance holds 600, as the wallet does
    assert hot_store.redis().get(BALANCE_KEY) == b"600"
    assert Wallet.objects.get(player_id=PLAYER).balance == 600


# --- idempotency by webhook-id -------------------------------------------------------------------------


def test_redelivery_answers_duplicate_and_changes_nothing(client):
    # given a token.earned event already processed
    factories.make_player(id=PLAYER)
    body = factories.token_earned_body(user_id=PLAYER, earned_tokens=500)
    hdrs = factories.webhook_headers(body, msg_id="msg_again")
    assert deliver(client, body, hdrs).json()["status"] == "processed"
    before = row_counts()
    # when Company A delivers it again, as is, and once more re-signed with a fresh timestamp
    again = deliver(client, body, hdrs)
    re_signed = deliver(client, body, msg_id="msg_again", timestamp=int(time.time()) + 5)
    # then both answer 200 "duplicate" and nothing changed
    for response in (again, re_signed):
        assert response.status_code == 200
        assert response.json() == {"status": "duplicate", "webhook_id": "msg_again"}
    assert row_counts() == before
    assert Wallet.objects.get(player_id=PLAYER).balance == 500


def test_same_payload_under_a_new_webhook_id_is_a_new_grant(client):
    # given a processed event
    factories.make_player(id=PLAYER)
    body = factories.token_earned_body(user_id=PLAYER, earned_tokens=500)
    deliver(client, body, msg_id="msg_a")
    # when an identical body arrives under another webhook-id
    response = deliver(client, body, msg_id="msg_b")
    # then it is a second grant (the webhook-id, not the body, is the key)
    assert response.json()["status"] == "processed"
    assert SiteReward.objects.count() == 2
    assert Wallet.objects.get(player_id=PLAYER).balance == 1000


# --- 401: signature and timestamp ------------------------------------------------------------------------


def _unsigned(body: bytes) -> dict[str, str]:
    return factories.webhook_headers(body, msg_id="msg_401")


BAD_HEADERS = {
    "missing webhook-id": lambda body: {k: v for k, v in _unsigned(body).items() if k != "webhook-id"},
    "missing webhook-timestamp": lambda body: {k: v for k, v in _unsigned(body).items() if k != "webhook-timestamp"},
    "missing webhook-signature": lambda body: {k: v for k, v in _unsigned(body).items() if k != "webhook-signature"},
    "no headers at all": lambda body: {},
    "signature of another body": lambda body: factories.webhook_headers(
        body.replace(b"500", b"5000"), msg_id="msg_401"
    ),
    "signature for another id": lambda body: {**_unsigned(body), "webhook-id": "msg_other"},
    "garbage signature": lambda body: {**_unsigned(body), "webhook-signature": "v1,bm90IGEgbWFj"},
    "wrong secret": lambda body: factories.webhook_headers(body, msg_id="msg_401", secret=OTHER_SECRET),
    "timestamp 301 s old": lambda body: factories.webhook_headers(
        body, msg_id="msg_401", timestamp=int(time.time()) - 301
    ),
    "timestamp 301 s ahead": lambda body: factories.webhook_headers(
        body, msg_id="msg_401", timestamp=math.ceil(time.time()) + 301
    ),
    "timestamp not a number": lambda body: {**_unsigned(body), "webhook-timestamp": "yesterday"},
    "timestamp far too long": lambda body: {**_unsigned(body), "webhook-timestamp": "9" * 5000},
}


@pytest.mark.parametrize("case", list(BAD_HEADERS))
def test_bad_or_missing_signature_is_401_and_writes_nothing(client, case):
    # given a player and a token.earned event whose headers are wrong in one way
    factories.make_player(id=PLAYER)
    body = factories.token_earned_body(user_id=PLAYER, earned_tokens=500)
    hdrs = BAD_HEADERS[case](body)
    before = row_counts()
    # when it is delivered
    response = deliver(client, body, hdrs)
    # then the answer is 401 with a challenge, and no table has a new row
    assert response.status_code == 401
    assert response.json()["error"] == "authentication_failed"
    assert response["WWW-Authenticate"] == 'Webhook realm="corporate"'
    assert_nothing_written(before)


def test_timestamp_just_inside_the_tolerance_is_accepted(client):
    # given an event signed 290 seconds ago (the tolerance is 300)
    body = factories.token_earned_body(user_id=PLAYER)
    # when it is delivered
    response = deliver(client, body, timestamp=int(time.time()) - 290)
    # then it is processed
    assert response.status_code == 200


def test_non_ascii_header_bytes_are_401_not_500(client):
    # given a signature header carrying a byte outside ASCII (WSGI hands it over as latin-1 text)
    body = factories.token_earned_body(user_id=PLAYER)
    hdrs = {**_unsigned(body), "webhook-signature": "v1,\xe9t\xe9"}
    before = row_counts()
    # when it is delivered
    response = deliver(client, body, hdrs)
    # then it is refused as unauthenticated, and nothing is written
    assert response.status_code == 401
    assert_nothing_written(before)


def test_signature_is_checked_before_the_body_is_parsed(client):
    # given a body that is not JSON, with a wrong signature
    body = b"this is not json"
    hdrs = factories.webhook_headers(body, secret=OTHER_SECRET)
    # when it is delivered
    response = deliver(client, body, hdrs)
    # then the answer is 401 (the signature), not 400 (the body)
    assert response.status_code == 401


def test_signature_covers_the_exact_bytes_not_the_parsed_json(client):
    # given an event signed as compact JSON but delivered with different whitespace (same JSON value)
    signed = factories.token_earned_body(user_id=PLAYER)
    sent = orjson.dumps(orjson.loads(signed), option=orjson.OPT_INDENT_2)
    before = row_counts()
    # when it is delivered
    response = deliver(client, sent, factories.webhook_headers(signed))
    # then it is refused and nothing is written
    assert response.status_code == 401
    assert_nothing_written(before)


def test_during_a_rotation_both_secrets_are_accepted(client, settings):
    # given Company A rotating from the old secret to a new one, both configured (new first)
    old = settings.CORPORATE_WEBHOOK_SECRETS[0]
    settings.CORPORATE_WEBHOOK_SECRETS = [OTHER_SECRET, old]
    # when one event signed with each arrives
    by_new = deliver(client, factories.token_earned_body(user_id=PLAYER), secret=OTHER_SECRET)
    by_old = deliver(client, factories.token_earned_body(user_id=PLAYER), secret=old)
    # then both are processed
    assert (by_new.status_code, by_old.status_code) == (200, 200)
    assert SiteReward.objects.count() == 2


def test_a_rotated_away_secret_is_401_and_writes_nothing(client, settings):
    # given the rotation finished: only the new secret is configured
    old = settings.CORPORATE_WEBHOOK_SECRETS[0]
    settings.CORPORATE_WEBHOOK_SECRETS = [OTHER_SECRET]
    before = row_counts()
    # when an event signed with the old secret arrives
    response = deliver(client, factories.token_earned_body(user_id=PLAYER), secret=old)
    # then it is refused and nothing is written
    assert response.status_code == 401
    assert_nothing_written(before)


# --- 400: bad payloads ------------------------------------------------------------------------------------


def _earned(**changes: Any) -> bytes:
    data: dict[str, Any] = {
        "user_id": PLAYER,
        "earned_tokens": 500,
        "reward_type": "MISSION_COMPLETE",
        "issued_at": "2026-11-20T11:59:00+00:00",
    }
    data.update(changes)
    return factories.webhook_body("token.earned", {k: v for k, v in data.items() if v is not ...})


def _visit(**changes: Any) -> bytes:
    data: dict[str, Any] = {
        "user_id": PLAYER,
        "visit_timestamp": "2026-11-20T11:58:00+00:00",
        "dwell_seconds": 95,
        "actions": ["view_event"],
    }
    data.update(changes)
    return factories.webhook_body("site.visit", {k: v for k, v in data.items() if v is not ...})


BAD_PAYLOADS: dict[str, tuple[bytes, set[str]]] = {
    "earned_tokens missing": (_earned(earned_tokens=...), {"data.earned_tokens"}),
    "earned_tokens zero": (_earned(earned_tokens=0), {"data.earned_tokens"}),
    "earned_tokens negative": (_earned(earned_tokens=-500), {"data.earned_tokens"}),
    "earned_tokens a string": (_earned(earned_tokens="500"), {"data.earned_tokens"}),
    "earned_tokens a float": (_earned(earned_tokens=500.0), {"data.earned_tokens"}),
    "earned_tokens a boolean": (_earned(earned_tokens=True), {"data.earned_tokens"}),
    "earned_tokens too large": (_earned(earned_tokens=1_000_000_001), {"data.earned_tokens"}),
    "user_id missing": (_earned(user_id=...), {"data.user_id"}),
    "user_id zero": (_earned(user_id=0), {"data.user_id"}),
    "user_id a string": (_earned(user_id="123"), {"data.user_id"}),
    "user_id past bigint": (_earned(user_id=2**63), {"data.user_id"}),
    "issued_at missing": (_earned(issued_at=...), {"data.issued_at"}),
    "issued_at not a time": (_earned(issued_at="yesterday"), {"data.issued_at"}),
    "reward_type too long": (_earned(reward_type="x" * 51), {"data.reward_type"}),
    "reward_type with U+0000": (_earned(reward_type="MISSION\x00"), {"data.reward_type"}),
    "two bad fields": (_earned(earned_tokens=-1, issued_at="soon"), {"data.earned_tokens", "data.issued_at"}),
    "type empty": (factories.webhook_body("", {"user_id": PLAYER}), {"type"}),
    "type not a string": (orjson.dumps({"type": 7, "timestamp": "2026-11-20T12:00:00+00:00", "data": {}}), {"type"}),
    "type missing": (orjson.dumps({"timestamp": "2026-11-20T12:00:00+00:00", "data": {}}), {"type"}),
    "timestamp missing": (orjson.dumps({"type": "token.earned", "data": {}}), {"timestamp"}),
    "data not an object": (
        orjson.dumps({"type": "token.earned", "timestamp": "2026-11-20T12:00:00+00:00", "data": [PLAYER, 500]}),
        {"data"},
    ),
    "body a JSON list": (b"[1, 2, 3]", {"non_field_errors"}),
    "visit dwell negative": (_visit(dwell_seconds=-1), {"data.dwell_seconds"}),
    "visit actions not a list": (_visit(actions="view_event"), {"data.actions"}),
    "visit blank action name": (_visit(actions=["view_event", ""]), {"data.actions[1]"}),
    "visit action name with U+0000": (_visit(actions=["view\x00"]), {"data.actions[0]"}),
    "visit timestamp missing": (_visit(visit_timestamp=...), {"data.visit_timestamp"}),
}


@pytest.mark.parametrize("case", list(BAD_PAYLOADS))
def test_bad_payload_is_400_naming_each_field_and_writes_nothing(client, case):
    # given a correctly signed event whose payload is wrong
    body, fields = BAD_PAYLOADS[case]
    factories.make_player(id=PLAYER)
    before = row_counts()
    # when it is delivered
    response = deliver(client, body)
    # then the answer is 400 naming exactly the bad fields, and nothing is written
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert set(response.json()["fields"]) == fields
    assert all(response.json()["fields"][name] for name in fields)
    assert_nothing_written(before)


@pytest.mark.parametrize("body", [b"", b"not json", b'{"type": "token.earned",', b"\xff\xfe"])
def test_non_json_body_is_400_naming_the_body_and_writes_nothing(client, body):
    # given a correctly signed body that is not JSON
    before = row_counts()
    # when it is delivered
    response = deliver(client, body)
    # then the answer is 400 naming the body, and nothing is written
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["body"]
    assert_nothing_written(before)


def test_a_webhook_id_too_long_to_store_is_400_and_writes_nothing(client):
    # given a correctly signed event whose webhook-id is longer than the 190 characters we keep
    before = row_counts()
    # when it is delivered
    response = deliver(client, factories.token_earned_body(user_id=PLAYER), msg_id="m" * 191)
    # then the answer is 400 naming the header, and nothing is written
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["webhook-id"]
    assert_nothing_written(before)


def test_a_webhook_id_with_a_control_character_is_400_and_writes_nothing(client):
    # given a correctly signed event whose webhook-id holds U+0000 (PostgreSQL cannot store it)
    before = row_counts()
    # when it is delivered
    response = deliver(client, factories.token_earned_body(user_id=PLAYER), msg_id="msg_\x00_1")
    # then the answer is 400 naming the header, and nothing is written
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["webhook-id"]
    assert_nothing_written(before)


def test_a_webhook_id_of_190_characters_is_accepted(client):
    # given a correctly signed event whose webhook-id is exactly 190 characters
    msg_id = "m" * 190
    # when it is delivered
    response = deliver(client, factories.token_earned_body(user_id=PLAYER), msg_id=msg_id)
    # then it is processed and keyed by that id
    assert response.status_code == 200
    assert SiteReward.objects.get().webhook_id == msg_id


# --- site.visit ------------------------------------------------------------------------------------------


def test_site_visit_writes_a_visit_row_and_its_corporate_visit_action(client):
    # given a player
    factories.make_player(id=PLAYER)
    # when Company A reports a visit of 95 seconds with two actions
    body = factories.site_visit_body(
        user_id=PLAYER, dwell_seconds=95, actions=["view_event", "claim"], visit_timestamp="2026-11-20T11:58:00+00:00"
    )
    response = deliver(client, body, msg_id="msg_visit_1")
    # then it is processed: one site_visits row from the corporate site, and its CORPORATE_VISIT action
    assert response.status_code == 200
    assert response.json() == {"status": "processed", "webhook_id": "msg_visit_1"}
    visit = SiteVisit.objects.get()
    action = UserAction.objects.get()
    assert (visit.user_id, visit.source, visit.dwell_seconds, visit.actions, visit.webhook_id) == (
        PLAYER,
        "corporate_site",
        95,
        ["view_event", "claim"],
        "msg_visit_1",
    )
    assert visit.visit_timestamp.isoformat() == "2026-11-20T11:58:00+00:00"
    assert (action.user_id, action.action_type, action.metadata) == (
        PLAYER,
        "CORPORATE_VISIT",
        {"dwell_seconds": 95, "actions": ["view_event", "claim"]},
    )
    assert action.action_timestamp == visit.visit_timestamp
    assert visit.action_id == action.id
    # and no tokens move and nothing is pushed
    assert (LedgerEntry.objects.count(), SiteReward.objects.count(), Notification.objects.count()) == (0, 0, 0)


def test_site_visit_redelivery_is_a_duplicate_and_changes_nothing(client):
    # given a processed visit
    body = factories.site_visit_body(user_id=PLAYER)
    hdrs = factories.webhook_headers(body, msg_id="msg_visit_2")
    deliver(client, body, hdrs)
    before = row_counts()
    # when it is delivered again
    response = deliver(client, body, hdrs)
    # then it answers 200 "duplicate" and nothing changed
    assert response.status_code == 200
    assert response.json() == {"status": "duplicate", "webhook_id": "msg_visit_2"}
    assert row_counts() == before


def test_site_visits_with_long_ids_sharing_a_prefix_each_keep_their_action(client):
    # given two visits whose webhook-ids share their first 100 characters
    prefix = "msg_" + "p" * 96
    # when both are delivered
    for suffix in ("A", "B"):
        deliver(client, factories.site_visit_body(user_id=PLAYER), msg_id=prefix + suffix)
    # then each has its own site_visits row and its own CORPORATE_VISIT action
    assert SiteVisit.objects.count() == 2
    assert UserAction.objects.filter(action_type="CORPORATE_VISIT").count() == 2
    assert len(set(SiteVisit.objects.values_list("action_id", flat=True))) == 2


# --- protection -----------------------------------------------------------------------------------------


def test_grant_during_self_exclusion_credits_the_tokens_owed_but_tells_nothing(client):
    # given a self-excluded player
    factories.make_player(id=PLAYER)
    now = timezone.now()
    protection_update(player_id=PLAYER, changes={"self_excluded_until": now + dt.timedelta(days=200)}, now=now)
    # when Company A reports 500 tokens they earned
    response = deliver(client, factories.token_earned_body(user_id=PLAYER, earned_tokens=500))
    # then the tokens owed are credited, and the push inviting play is suppressed
    assert response.status_code == 200
    assert Wallet.objects.get(player_id=PLAYER).balance == 500
    notification = Notification.objects.get()
    assert (notification.status, notification.status_reason) == ("suppressed", "self_excluded")


def test_grant_during_cool_off_credits_tokens_but_suppresses_the_push(client):
    # given a player cooling off
    factories.make_player(id=PLAYER)
    protection_update(
        player_id=PLAYER, changes={"cool_off_until": timezone.now() + dt.timedelta(days=3)}, now=timezone.now()
    )
    # when Company A reports 500 tokens
    response = deliver(client, factories.token_earned_body(user_id=PLAYER, earned_tokens=500))
    # then the tokens are credited (they are the player's), but the play-inviting push is suppressed
    assert response.status_code == 200
    assert Wallet.objects.get(player_id=PLAYER).balance == 500
    notification = Notification.objects.get()
    assert (notification.status, notification.status_reason, notification.payload) == (
        "suppressed",
        "cooling_off",
        SPEC_PUSH_KO,
    )
