"""Company A's webhook under concurrent delivery, over real HTTP against the threaded live server
(PostgreSQL and Redis): one webhook delivered 1,000 times at once grants once; 1,000 distinct ones all grant."""

from __future__ import annotations

import http.client
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from django.db import connection
from django.db.models import Sum

from activity.models import UserAction
from corporate.models import SiteReward, SiteVisit
from notifications.models import Notification
from players.models import Player
from tests import factories
from wallet.balance_cache import balance_cache_get
from wallet.models import LedgerEntry, Wallet

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL (DATABASE_URL): SQLite serializes every write, so nothing can race",
    ),
]

CONNECTIONS = 32
DELIVERIES = 1000
PATH = "/api/corporate/webhook"


def post_concurrently(base_url: str, deliveries: list[tuple[bytes, dict[str, str]]]) -> list[tuple[int, Any]]:
    """POST every (body, headers) over a pool of keep-alive HTTP connections, all released at once."""
    url = urlsplit(base_url)
    assert url.hostname is not None and url.port is not None
    pool = [http.client.HTTPConnection(url.hostname, url.port, timeout=120) for _ in range(CONNECTIONS)]
    for conn in pool:  # connect one by one: the dev server's listen backlog is short
        conn.connect()
    start = threading.Barrier(CONNECTIONS)

    def worker(k: int) -> list[tuple[int, Any]]:
        conn = pool[k]
        start.wait()
        answers = []
        for body, hdrs in deliveries[k::CONNECTIONS]:
            conn.request("POST", PATH, body=body, headers={"Content-Type": "application/json", **hdrs})
            response = conn.getresponse()
            answers.append((response.status, orjson.loads(response.read())))
        return answers

    try:
        with ThreadPoolExecutor(max_workers=CONNECTIONS) as executor:
            return [answer for part in executor.map(worker, range(CONNECTIONS)) for answer in part]
    finally:
        for conn in pool:
            conn.close()


def test_one_webhook_delivered_1000_times_at_once_grants_once(live_server):
    # given one token.earned event for a player nobody has seen yet, signed once
    player = 9_100_001
    body = factories.token_earned_body(user_id=player, earned_tokens=500)
    hdrs = factories.webhook_headers(body, msg_id="msg_storm")
    # when Company A delivers it 1,000 times concurrently
    answers = post_concurrently(live_server.url, [(body, hdrs)] * DELIVERIES)
    # then every delivery answers 200: exactly one processed it, the rest are duplicates
    assert Counter(status for status, _ in answers) == {200: DELIVERIES}
    assert Counter(body["status"] for _, body in answers) == {"processed": 1, "duplicate": DELIVERIES - 1}
    # and exactly one of each row exists, and the balance is the amount once
    assert SiteReward.objects.count() == 1
    assert LedgerEntry.objects.count() == 1
    assert UserAction.objects.filter(action_type="EARN_CYBER_TOKENS").count() == 1
    assert Notification.objects.count() == 1
    assert Player.objects.filter(id=player).count() == 1
    assert Wallet.objects.get(player_id=player).balance == 500
    assert balance_cache_get(player).balance == 500


def test_1000_distinct_webhooks_at_once_all_grant(live_server):
    # given 1,000 distinct token.earned events spread over 10 players nobody has seen yet
    players = [9_200_001 + p for p in range(10)]
    deliveries = []
    expected: Counter[int] = Counter()
    for i in range(DELIVERIES):
        player, amount = players[i % len(players)], 1 + i % 97
        expected[player] += amount
        body = factories.token_earned_body(user_id=player, earned_tokens=amount)
        deliveries.append((body, factories.webhook_headers(body, msg_id=f"msg_distinct_{i}")))
    # when Company A delivers them all concurrently
    answers = post_concurrently(live_server.url, deliveries)
    # then every one is processed
    assert Counter((status, body["status"]) for status, body in answers) == {(200, "processed"): DELIVERIES}
    # and there are exactly 1,000 of each row
    assert SiteReward.objects.count() == DELIVERIES
    assert LedgerEntry.objects.count() == DELIVERIES
    assert UserAction.objects.filter(action_type="EARN_CYBER_TOKENS").count() == DELIVERIES
    assert Notification.objects.count() == DELIVERIES
    # and each player's balance is the sum of their grants, in the wallet, the ledger and the cached copy
    for player in players:
        assert Wallet.objects.get(player_id=player).balance == expected[player]
        assert LedgerEntry.objects.filter(player_id=player).aggregate(s=Sum("amount"))["s"] == expected[player]
        assert balance_cache_get(player).balance == expected[player]
        # and no update was lost: each ledger row's balance_after is the running sum before it plus its amount
        running = 0
        for amount, balance_after in (
            LedgerEntry.objects.filter(player_id=player).order_by("id").values_list("amount", "balance_after")
        ):
            running += amount
            assert balance_after == running
    assert Wallet.objects.aggregate(s=Sum("balance"))["s"] == sum(expected.values())


def test_one_site_visit_delivered_200_times_at_once_is_stored_once(live_server):
    # given one site.visit event, signed once
    player = 9_300_001
    body = factories.site_visit_body(user_id=player, dwell_seconds=42)
    hdrs = factories.webhook_headers(body, msg_id="msg_visit_storm")
    # when Company A delivers it 200 times concurrently
    answers = post_concurrently(live_server.url, [(body, hdrs)] * 200)
    # then one delivery processed it, the rest are duplicates, and one visit row and one action exist
    assert Counter((status, body["status"]) for status, body in answers) == {
        (200, "processed"): 1,
        (200, "duplicate"): 199,
    }
    assert SiteVisit.objects.count() == 1
    assert UserAction.objects.filter(action_type="CORPORATE_VISIT").count() == 1
    assert SiteVisit.objects.get().action_id == UserAction.objects.get().id


COPIES = 50


@pytest.mark.parametrize(
    "other",
    [{"user_id": 9_400_002}, {"earned_tokens": 700}],
    ids=["another player (two wallets, one key)", "other tokens (one wallet)"],
)
def test_one_webhook_id_carrying_two_different_grants_at_once_pays_one_once_and_refuses_the_other(
    live_server, other: dict[str, Any]
):
    # given one webhook-id signed over two different grants: 500 tokens to a player, and the same but for `other`
    first: dict[str, Any] = {"user_id": 9_400_001, "earned_tokens": 500}
    bodies = [factories.token_earned_body(**first), factories.token_earned_body(**{**first, **other})]
    deliveries = [(body, factories.webhook_headers(body, msg_id="msg_two_grants")) for body in bodies * COPIES]
    # when each is delivered 50 times, all at once
    answers = post_concurrently(live_server.url, deliveries)
    # then one of them was granted once, its other copies are duplicates, and every copy of the other is a 409
    outcomes = Counter((status, body.get("status") or body.get("error")) for status, body in answers)
    assert outcomes == {(200, "processed"): 1, (200, "duplicate"): COPIES - 1, (409, "webhook_id_reused"): COPIES}
    # and only that grant's rows exist
    entry = LedgerEntry.objects.get()
    assert SiteReward.objects.get().ledger_entry_id == entry.id
    assert Notification.objects.count() == 1
    assert UserAction.objects.filter(action_type="EARN_CYBER_TOKENS").count() == 1
    assert Wallet.objects.get(player_id=entry.player_id).balance == entry.amount
    assert Wallet.objects.exclude(player_id=entry.player_id).filter(balance__gt=0).count() == 0
    assert balance_cache_get(entry.player_id).balance == entry.amount


def test_one_webhook_id_carrying_two_different_visits_at_once_stores_one_and_refuses_the_other(live_server):
    # given one webhook-id signed over two visits of one player that differ in length
    player = 9_500_001
    bodies = [factories.site_visit_body(user_id=player, dwell_seconds=s) for s in (42, 43)]
    deliveries = [(body, factories.webhook_headers(body, msg_id="msg_two_visits")) for body in bodies * COPIES]
    # when each is delivered 50 times, all at once
    answers = post_concurrently(live_server.url, deliveries)
    # then one is stored once, its other copies are duplicates, and every copy of the other is a 409
    outcomes = Counter((status, body.get("status") or body.get("error")) for status, body in answers)
    assert outcomes == {(200, "processed"): 1, (200, "duplicate"): COPIES - 1, (409, "webhook_id_reused"): COPIES}
    visit = SiteVisit.objects.get()
    assert UserAction.objects.get(action_type="CORPORATE_VISIT").id == visit.action_id
    assert UserAction.objects.get().metadata["dwell_seconds"] == visit.dwell_seconds
