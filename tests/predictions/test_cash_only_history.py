"""A history that holds only cash purchases (a shop's log, CDNOW's shape), brought in with ``import_actions``: the
players made on first sight with their ledgers, then both models trained, everyone scored and exported from it."""

from __future__ import annotations

import csv
import datetime as dt
import json
import zoneinfo
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command

from activity.models import UserAction
from players.models import Player
from predictions.services import models_train, players_score, predictions_export
from wallet.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db

KST = zoneinfo.ZoneInfo("Asia/Seoul")
START = dt.date(2025, 1, 1)
AS_OF = dt.date(2026, 1, 1)  # a year of purchases before it
PLAYERS = 60
FIRST_ID = 7_000_000


def cash_log(seed: int = 3) -> tuple[list[dict[str, Any]], dict[int, dt.date]]:
    """Purchases only: each player starts in the first two months, buys at their own weekly rate (lognormal), and
    40 % of them stop for good on a random day; a few buy twice on one day. Returns the lines, in time order, and
    each player's last purchase day."""
    rng = np.random.default_rng(seed)
    lines: list[tuple[dt.date, int, float]] = []
    for k in range(PLAYERS):
        user_id = FIRST_ID + k
        first = int(rng.integers(0, 60))
        stop = int(rng.integers(first + 30, 365)) if rng.random() < 0.4 else 365
        per_day = float(rng.lognormal(np.log(0.9), 0.6)) / 7
        days = [first] + [d for d in range(first + 1, stop) if rng.random() < per_day]
        for d in days:
            for _ in range(1 + int(rng.random() < 0.05)):
                lines.append((START + dt.timedelta(days=d), user_id, round(float(rng.uniform(5, 50)), 2)))
    lines.sort()
    items = [
        {
            "event_id": f"cash-{n}",
            "user_id": user_id,
            "action_type": "PURCHASE_CYBER_TOKENS",
            "action_timestamp": dt.datetime.combine(day, dt.time(12), tzinfo=KST).isoformat(),
            "metadata": {
                "tokens": max(1, round(dollars * 10)),
                "amount_paid": dollars,
                "currency": "USD",
                "payment_id": f"cash-{n}",
            },
        }
        for n, (day, user_id, dollars) in enumerate(lines, start=1)
    ]
    last: dict[int, dt.date] = {}
    for day, user_id, _ in lines:
        last[user_id] = day
    return items, last


def test_a_cash_purchase_only_history_is_imported_trained_on_scored_and_exported(tmp_path: Path) -> None:
    # given a year of cash purchases only, of players never seen before, as a JSON Lines file
    items, last = cash_log()
    path = tmp_path / "cash.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in items))

    # when it is imported
    out = StringIO()
    call_command("import_actions", str(path), stdout=out)

    # then every line is a purchase action with its PURCHASE ledger row, every player made, every wallet its ledger's
    assert f"stored {len(items)}, duplicates 0" in out.getvalue()
    assert UserAction.objects.filter(action_type="PURCHASE_CYBER_TOKENS").count() == len(items)
    assert LedgerEntry.objects.filter(kind="PURCHASE", source="cash").count() == len(items)
    assert Player.objects.filter(id__gte=FIRST_ID).count() == PLAYERS
    tokens = {item["user_id"]: 0 for item in items}
    for item in items:
        tokens[item["user_id"]] += item["metadata"]["tokens"]
    assert dict(Wallet.objects.values_list("player_id", "balance")) == tokens

    # when both models are trained on it, everyone is scored and the scores exported
    trained = models_train(as_of=AS_OF, churn_horizon_days=28, ltv_horizon_days=28)
    scored = players_score(as_of=AS_OF)
    exported = tmp_path / "scores.csv"
    rows = predictions_export(as_of=AS_OF, out=exported)

    # then the training validated both models on its own latest period, and every player is scored once
    assert trained.figures["churn"]["rows"]["validation"] > 0 and trained.figures["ltv"]["rows"]["validation"] > 0
    assert scored.players == rows == PLAYERS
    with exported.open() as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == ["user_id", "churn_probability", "ltv"]
    churn = {int(r["user_id"]): float(r["churn_probability"]) for r in table}
    ltv = {int(r["user_id"]): float(r["ltv"]) for r in table}
    assert set(churn) == set(tokens)
    assert all(0.0 <= p <= 1.0 for p in churn.values()) and all(v >= 0.0 for v in ltv.values())
    # and the scores follow the purchases: those who stopped months ago churn more and are worth less than those who
    # bought in the last two weeks
    gone = [u for u, d in last.items() if (AS_OF - d).days > 90]
    recent = [u for u, d in last.items() if (AS_OF - d).days <= 14]
    assert len(gone) >= 5 and len(recent) >= 5, (len(gone), len(recent))
    assert np.mean([churn[u] for u in gone]) > np.mean([churn[u] for u in recent]) + 0.2
    assert np.mean([ltv[u] for u in gone]) < np.mean([ltv[u] for u in recent])
