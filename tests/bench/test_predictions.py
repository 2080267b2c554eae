"""bench/predictions.py's data: the log's layout before D, the generator's actions valid for the registry (cash
purchases only when asked for), the ledger of the log never below zero and ending at each player's sum; the phases'
results as JSON."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from typing import Any

import numpy as np
import pytest
from django.db import connection
from django.utils import timezone

from activity.registry import REGISTRY
from activity.validation import parse_action
from bench.predictions import _GRANTS_SQL, _MOVES_SQL, GRANT_BASE, _jsonable, layout
from bench.rfm import _ACTIONS_SQL, _PLAYERS_SQL, Plan, load_params
from core.timezones import business_day_start

pytestmark = pytest.mark.django_db

D = dt.date(2026, 12, 6)


# The generator's statements are PostgreSQL's own (generate_series, jsonb): those tests run in the PostgreSQL pass.
postgresql_sql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the bench's generator is PostgreSQL SQL (generate_series, jsonb); runs in the PostgreSQL pass",
)


def write_log(plan: Plan) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_PLAYERS_SQL, {"signup": plan.first_start - dt.timedelta(days=90), "players": plan.players})
        cursor.execute(_ACTIONS_SQL, load_params(plan, 1, plan.total))


def actions() -> list[tuple[int, str, int, str, dict, dt.datetime]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, event_id, user_id, action_type, metadata, action_timestamp FROM user_actions ORDER BY id"
        )
        # Django's cursor hands jsonb over as its text
        return [(*row[:4], json.loads(row[4]), row[5]) for row in cursor.fetchall()]


def test_the_log_spans_the_days_before_d_and_every_action_is_before_d():
    # given a log of 1,500 actions over the 150 business days before D
    plan = layout(players=100, actions=1_500, days=150, as_of=D, purchase_share=0.01)
    # then it starts at the first of those days, is written at once, and its last action falls before D's start
    assert plan.first_start == business_day_start(D - dt.timedelta(days=150))
    assert plan.split == plan.total == 1_500 and plan.late == 0
    last = plan.first_start + (plan.total - 1) * plan.step
    assert business_day_start(D) - dt.timedelta(days=1) < last < business_day_start(D)
    assert plan.purchase_share == 0.01


@postgresql_sql
def test_the_generated_actions_pass_the_registry_and_a_share_are_cash_purchases():
    # given 300 players and 6,000 actions over 150 days, 5% of them asked to be cash purchases
    plan = layout(players=300, actions=6_000, days=150, as_of=D, purchase_share=0.05)
    # when the bench's generator writes them
    write_log(plan)
    rows = actions()
    # then every action is one the ingest would accept (token-moving types allowed, as imports allow them)
    now = timezone.now()
    for _, event_id, user_id, action_type, metadata, ts in rows:
        item = {
            "event_id": event_id,
            "user_id": user_id,
            "action_type": action_type,
            "metadata": metadata,
            "action_timestamp": ts.isoformat(),
        }
        parsed, errors = parse_action(item, now=now, max_future=dt.timedelta(0), allow_token_moving=True)
        assert errors == {} and parsed is not None, (item, errors)
    # and about 5% are purchases paid in won, a token for every 10, the players who play most buying the most
    purchases = [(uid, m) for _, _, uid, typ, m, _ in rows if typ == "PURCHASE_CYBER_TOKENS"]
    assert 0.03 < len(purchases) / len(rows) < 0.07
    assert all(
        m["amount_paid"] > 0 and m["tokens"] * 10 == m["amount_paid"] and m["currency"] == "KRW" for _, m in purchases
    )
    assert REGISTRY["PURCHASE_CYBER_TOKENS"].app_activity
    top = [m["amount_paid"] for uid, m in purchases if uid <= 10]
    rest = [m["amount_paid"] for uid, m in purchases if uid > 100]
    assert top and rest and np.mean(top) > 2 * np.mean(rest)


@postgresql_sql
def test_without_a_purchase_share_the_generator_writes_no_purchase_as_the_rfm_bench_had_it():
    # given rfm's plan as its benches make it (no purchase share named)
    plan = dataclasses.replace(
        layout(players=300, actions=6_000, days=31, as_of=D, purchase_share=0.05), purchase_share=Plan.purchase_share
    )
    # when the generator writes it
    write_log(plan)
    # then no action is a purchase, and the games keep their share
    types = [row[3] for row in actions()]
    assert "PURCHASE_CYBER_TOKENS" not in types
    assert 0.37 < types.count("GAME_PLAY") / len(types) < 0.47


@postgresql_sql
def test_the_ledger_of_the_log_never_goes_below_the_grant_base_and_ends_at_each_players_sum():
    # given a generated log with purchases, spends and earns
    plan = layout(players=300, actions=6_000, days=150, as_of=D, purchase_share=0.02)
    write_log(plan)
    # when the bench writes its ledger
    params: dict[str, Any] = {"base": GRANT_BASE, "at": plan.first_start - dt.timedelta(days=1)}
    with connection.cursor() as cursor:
        cursor.execute(_GRANTS_SQL, params)
        cursor.execute(_MOVES_SQL, params)
        cursor.execute(
            "SELECT count(*) FROM user_actions WHERE action_type IN "
            "('SPEND_CYBER_TOKENS', 'EARN_CYBER_TOKENS', 'PURCHASE_CYBER_TOKENS')"
        )
        moving = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FILTER (WHERE kind = 'GRANT'), count(*) FILTER (WHERE action_id IS NOT NULL), "
            "min(balance_after) FROM token_ledger"
        )
        grants, linked, lowest = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM (SELECT player_id, sum(amount) AS total, "
            "(array_agg(balance_after ORDER BY created_at, id))[count(*)] AS last FROM token_ledger "
            "GROUP BY player_id) t WHERE total <> last"
        )
        off = cursor.fetchone()[0]
        cursor.execute(
            "SELECT count(*) FROM token_ledger l JOIN user_actions a ON a.id = l.action_id "
            "WHERE l.created_at <> a.action_timestamp OR l.player_id <> a.user_id "
            "OR (a.action_type = 'PURCHASE_CYBER_TOKENS') <> (l.kind = 'PURCHASE' AND l.source = 'cash')"
        )
        mismatched = cursor.fetchone()[0]
    # then one grant a player and a row per token-moving action, at its time and for its player, the balance never
    # under the grant's base, and each player's last balance their rows' sum
    assert grants == plan.players and linked == moving > 0
    assert mismatched == 0
    assert lowest >= GRANT_BASE
    assert off == 0


def test_a_phases_result_becomes_json_with_arrays_by_their_shape():
    @dataclasses.dataclass
    class Result:
        version: str
        rows: np.int64
        frame: np.ndarray
        as_of: dt.date
        figures: dict

    result = Result("v1", np.int64(3), np.zeros((3, 2)), D, {"auc": np.float32(0.5), "bins": list(range(60))})
    assert _jsonable(result) == {
        "version": "v1",
        "rows": 3,
        "frame": "<array (3, 2)>",
        "as_of": "2026-12-06",
        "figures": {"auc": 0.5, "bins": "<60 items>"},
    }
