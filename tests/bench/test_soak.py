"""bench/soak.py's pure parts: the mix, the checks of each kind, the memory report; the fault scripts' helpers."""

from __future__ import annotations

from collections import Counter

import orjson

from bench.common import process_memory_kib
from bench.soak import (
    SHARES,
    MemorySampler,
    check_any,
    click_request,
    grant_request,
    plan_kinds,
    purchase_request,
    spend_request,
)
from scripts.faults.common import ledger_key, outcome_by_time, resign, wallet_check


def test_the_mix_has_each_kinds_share_in_a_seeded_order():
    # given the soak's shares
    # when 10,001 requests are planned twice with one seed and once with another
    first, again, other = plan_kinds(10_001, SHARES, 1), plan_kinds(10_001, SHARES, 1), plan_kinds(10_001, SHARES, 2)
    # then every request has a kind, each kind its share (the largest takes the rounding), in a seeded order
    counts = Counter(first)
    assert len(first) == 10_001
    assert all(abs(counts[kind] - share * 10_001) <= 1 for kind, share in SHARES.items())
    assert first == again and first != other
    assert first[:50] != sorted(first[:50])


def test_each_kind_is_checked_by_its_own_rule_and_a_5xx_is_named():
    spend = spend_request("key", 7, "k-1")
    good_spend = orjson.dumps({"entry": {"kind": "SPEND", "amount": -10}, "balance": 90})
    assert check_any(201, good_spend, spend) is None
    assert check_any(201, orjson.dumps({"entry": {"kind": "SPEND", "amount": -20}}), spend) is not None
    assert (check_any(500, b'{"error": "server_error"}', spend) or "").startswith("server error:")
    assert (check_any(502, b"<html>bad gateway</html>", spend) or "").startswith("server error:")  # not JSON
    click = click_request("token", "abc")
    assert check_any(200, orjson.dumps({"id": "abc", "first_click": True}), click) is None
    assert check_any(200, orjson.dumps({"id": "abc", "first_click": False}), click) is not None


def test_a_retried_delivery_is_signed_again_with_the_same_id_and_body():
    # given a delivery signed at a time long past
    first = grant_request(3, 300, "msg-1", 1_000_000_000)
    # when it is signed again for a retry
    again = resign(first, at=2_000_000_000)
    # then only its timestamp and signature changed, and its ledger key is the webhook id's
    assert again.body == first.body and again.headers["webhook-id"] == "msg-1"
    assert again.headers["webhook-timestamp"] == "2000000000"
    assert again.headers["webhook-signature"] != first.headers["webhook-signature"]
    assert ledger_key(again) == "corporate:msg-1"
    assert ledger_key(spend_request("k", 1, "s-1")) == "spend:s-1"
    assert ledger_key(purchase_request("k", 1, "p-1")) == "purchase:p-1"


def test_a_retry_may_find_its_delivery_applied_already():
    grant = grant_request(3, 300, "msg-1", 1_000_000_000)
    duplicate = orjson.dumps({"status": "duplicate", "webhook_id": "msg-1"})
    assert wallet_check()(200, duplicate, grant) is not None
    assert wallet_check(retry=True)(200, duplicate, grant) is None


def test_failures_are_grouped_by_the_second_they_were_scheduled_in():
    found = outcome_by_time([0.1, 0.5, 1.2, 1.4, 2.0], [200, 500, 0, 200, 201], [0, 1, 1, 0, 0])
    assert found == [
        {"second": 0.0, "requests": 2, "failed": 1, "status_500": 1},
        {"second": 1.0, "requests": 2, "failed": 1, "status_0": 1},
    ]


def test_memory_growth_is_measured_from_the_warm_sample_and_backends_as_a_mean():
    # given samples of a worker that grows 5%, PostgreSQL backends replaced between samples, and Redis
    sampler = MemorySampler.__new__(MemorySampler)
    sampler.samples = [
        (0.0, {1: ("server worker", {"VmRSS": 50_000})}),
        (60.0, {1: ("server worker", {"VmRSS": 100_000}), 5: ("postgres backend", {"VmRSS": 9, "RssAnon": 4_000})}),
        (600.0, {1: ("server worker", {"VmRSS": 105_000}), 6: ("postgres backend", {"VmRSS": 9, "RssAnon": 4_400})}),
    ]
    sampler.redis_samples = [(0.0, 1000, 10), (60.0, 1100, 20), (600.0, 1150, 25)]
    # when the growth from the first minute on is reported
    report = sampler.report(warm_s=60.0)
    # then the worker grew 5% (not 110% from the cold start), the backends 10% by their private memory
    growth = {p["process"]: p["growth_pct"] for p in report["processes"]}
    assert growth == {"server worker": 5.0, "postgres backends (mean)": 10.0}
    assert report["growth_max_pct"] == 10.0
    assert report["redis_bench_db_keys_warm_end"] == [20, 25]


def test_a_process_memory_is_read_from_proc():
    import os

    memory = process_memory_kib(os.getpid())
    assert memory is not None and memory["VmRSS"] > 0 and "RssAnon" in memory
    assert process_memory_kib(2**22 + 7) is None  # no such process


def test_rows_are_exact_for_answered_requests_and_at_most_once_for_unanswered_ones():
    from bench.soak import counts_exact

    counts = {
        "grant_rows": 11,
        "site_rewards": 11,
        "grant_keys_twice": 0,
        "spend_rows": 5,
        "purchase_rows": 3,
        "stored_actions": 40,
        "quiz_submissions": 2,
        "quiz_players": 2,
        "quiz_mission_grants": 2,
        "clicks": 1,
        "impressions": 9,
    }
    ok = Counter({"grant": 10, "spend": 5, "purchase": 3, "ingest": 4, "quiz": 2, "click": 1})
    # given one grant that got no answer and was applied: allowed; none unanswered: the extra row is not
    assert all(counts_exact(counts, ok, Counter({"grant": 1}), proposals_served=9).values())
    assert not counts_exact(counts, ok, Counter(), proposals_served=9)["grants"]
    # and a spend answered but missing its row is never allowed
    assert not counts_exact({**counts, "spend_rows": 4}, ok, Counter({"spend": 3}), proposals_served=9)["spends"]
