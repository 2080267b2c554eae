from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import Counter, defaultdict
from io import StringIO
from itertools import pairwise
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from activity.models import UserAction
from activity.registry import REGISTRY
from activity.validation import ParsedAction, parse_action
from content.models import AdultContent, ContentUnlock
from core.hotstore import hot_store, key_last_action_ts
from corporate.models import SiteReward
from operations.demo import DemoSpec, demo_generate
from players.models import Player
from tests import factories
from tests.factories import make_player
from wallet.balance_cache import key_balance, key_balance_seq
from wallet.models import LedgerEntry, Wallet
from wallet.services import request_fingerprint, wallet_earn, wallet_record_history

pytestmark = pytest.mark.django_db

END = "2026-11-20T00:00:00+00:00"
END_AT = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)


def generate(*, players: int = 80, days: int = 14, seed: int = 5, **options: Any) -> str:
    out = StringIO()
    call_command("generate_demo_data", players=players, days=days, seed=seed, end=END, stdout=out, **options)
    return out.getvalue()


def action_rows() -> list[tuple[Any, ...]]:
    return list(
        UserAction.objects.order_by("event_id").values_list(
            "event_id", "user_id", "action_type", "metadata", "action_timestamp"
        )
    )


def player_rows() -> list[tuple[Any, ...]]:
    return list(
        Player.objects.order_by("id").values_list(
            "id", "signup_at", "locale", "timezone", "birth_date", "age_verified", "age_verified_at"
        )
    )


def economy_rows() -> tuple[list[tuple[Any, ...]], ...]:
    """Ledger, wallets, site_rewards and content unlocks with their rewards, with row ids replaced by what they point
    at (event ids, order)."""
    ledger = list(
        LedgerEntry.objects.order_by("player_id", "id").values_list(
            "player_id",
            "idempotency_key",
            "request_hash",
            "kind",
            "source",
            "amount",
            "balance_after",
            "created_at",
            "action__event_id",
            "actor",
        )
    )
    wallets = list(Wallet.objects.order_by("player_id").values_list("player_id", "balance"))
    rewards = list(
        SiteReward.objects.order_by("webhook_id").values_list(
            "webhook_id", "user_id", "reward_type", "reward_value", "issued_at", "action__event_id"
        )
    )
    unlocks = list(
        ContentUnlock.objects.order_by("action__event_id").values_list(
            "action__event_id",
            "user_id",
            "content__stage",
            "stage",
            "spent_tokens",
            "unlocked_at",
            "ledger_entry__idempotency_key",
            "reward__reward_type",
            "reward__reward_value",
        )
    )
    return ledger, wallets, rewards, unlocks


def empty_database(
    tables: tuple[str, ...] = (
        "content_unlocks",
        "user_rewards",
        "site_rewards",
        "token_ledger",
        "wallets",
        "user_actions",
        "players",
    ),
) -> None:
    """Remove what the generator wrote (or those of its tables). Ledger rows cannot be deleted through the ORM,
    nor by SQL without the purge marker on SQLite or at all on PostgreSQL (triggers): TRUNCATE is the way there."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Run the pending (deferred) foreign-key checks first: TRUNCATE refuses tables that have some.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {', '.join(tables)} CASCADE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            with factories.ledger_purge_allowed():
                for table in tables:
                    cursor.execute(f"DELETE FROM {table}")


def ledger_by_player() -> dict[int, list[tuple[Any, ...]]]:
    rows: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for row in LedgerEntry.objects.order_by("player_id", "id").values_list(
        "player_id", "id", "amount", "balance_after", "created_at", "kind", "source", "action_id"
    ):
        rows[row[0]].append(row[1:])
    return rows


def spent_by_player() -> Counter[int]:
    spent: Counter[int] = Counter()
    for player_id, amount in LedgerEntry.objects.filter(kind="SPEND").values_list("player_id", "amount"):
        spent[player_id] -= amount
    return spent


def test_same_seed_gives_the_same_rows():
    # given the rows of one run
    generate()
    first_actions, first_players, first_economy = action_rows(), player_rows(), economy_rows()
    # when the database is emptied and the same arguments run again
    empty_database()
    generate()
    # then every player, action, ledger row, wallet and site reward comes back identical
    assert first_actions
    assert all(first_economy)
    assert action_rows() == first_actions
    assert player_rows() == first_players
    assert economy_rows() == first_economy


def test_the_generated_economy_is_the_same_for_the_same_spec():
    # given one spec
    spec = DemoSpec(players=300, days=20, seed=3, end=END_AT)
    # when it is generated twice
    first, second = demo_generate(spec), demo_generate(spec)
    # then the token-moving actions are identical, column by column
    for name in ("player", "seq", "ts", "kind", "source", "amount", "balance_after", "game", "pack"):
        assert (getattr(first.tokens, name) == getattr(second.tokens, name)).all(), name
    assert len(first.tokens) > 100


def test_different_seed_gives_different_rows():
    # given the rows of seed 5
    generate(seed=5)
    seed5 = [row[1:] for row in action_rows()]
    # when seed 6 runs on an empty database
    empty_database()
    generate(seed=6)
    seed6 = [row[1:] for row in action_rows()]
    # then the actions differ, and so do their event ids
    assert seed5 != seed6
    assert len(seed5) != len(seed6) or sum(a == b for a, b in zip(seed5, seed6, strict=True)) < len(seed5) / 10
    assert all(row[0].startswith("demo-6-") for row in action_rows())


def test_rerun_stores_nothing_twice():
    # given a loaded data set
    generate()
    count = UserAction.objects.count()
    economy = economy_rows()
    tokens = LedgerEntry.objects.count()
    plain = count - tokens
    # when the same command runs again
    out = generate()
    # then nothing new is stored: every event id is there already, and every player has a wallet
    assert UserAction.objects.count() == count
    assert f"{plain} generated, 0 stored, {plain} already there" in out
    assert f"{tokens} token-moving actions generated, 0 stored with their ledger rows, {tokens} skipped" in out
    assert "wallets: 0 stored; site_rewards: 0 stored" in out
    assert economy_rows() == economy


def test_another_seed_on_the_same_players_leaves_their_wallets_alone():
    # given players loaded with seed 5
    generate(seed=5)
    economy = economy_rows()
    # when seed 6 runs for the same player ids
    generate(seed=6)
    # then their ledgers and wallets are untouched (a second history would break the running balances)
    assert economy_rows() == economy
    moving = [name for name, kind in REGISTRY.items() if kind.moves_tokens]
    assert not UserAction.objects.filter(event_id__startswith="demo-6-", action_type__in=moving).exists()
    assert "wallet drift 0" in reconcile()


def test_if_empty_does_nothing_when_there_are_players():
    # given a database with one player
    make_player()
    # when the demo is asked for only if the database is empty
    out = generate(if_empty=True)
    # then nothing is generated, and it says so
    assert "no demo data generated" in out
    assert Player.objects.count() == 1
    assert not UserAction.objects.exists()
    assert not LedgerEntry.objects.exists()
    assert not Wallet.objects.exists()


def test_if_empty_loads_an_empty_database():
    # given an empty database
    # when the demo is asked for only if empty
    out = generate(if_empty=True, players=30)
    # then the players are loaded with their wallets, and the summary lists them and the actions by type
    assert Player.objects.count() == 30
    assert Wallet.objects.count() == 30
    assert "players: 30 generated, 30 stored" in out
    assert "wallets: 30 stored" in out
    assert "GAME_PLAY" in out
    assert "EARN_CYBER_TOKENS" in out


def test_every_generated_action_passes_ingest_validation():
    # given a generated data set
    generate(players=150, days=30)
    # when each stored action is read back as the API would receive it
    problems: dict[str, dict[str, str]] = {}
    types: Counter[str] = Counter()
    for event_id, user_id, action_type, metadata, ts in action_rows():
        item = {
            "event_id": event_id,
            "user_id": user_id,
            "action_type": action_type,
            "action_timestamp": ts.isoformat(),
            "metadata": metadata,
        }
        _, errors = parse_action(item, now=END_AT, max_future=dt.timedelta(0), allow_token_moving=True)
        if errors:
            problems[event_id] = errors
        types[action_type] += 1
    # then every one is valid (as an import takes them), and every type appears, token-moving ones too
    assert problems == {}
    assert set(types) == set(REGISTRY)


def test_actions_fall_in_the_window_and_after_signup():
    # given 30 days ending at END
    generate(players=150, days=30)
    signup = dict(Player.objects.values_list("id", "signup_at"))
    # when the action times are read
    rows = action_rows()
    # then all lie in [END - 30 days, END) and none precedes its player's signup
    assert all(END_AT - dt.timedelta(days=30) <= ts < END_AT for *_, ts in rows)
    assert all(ts >= signup[user_id] for _, user_id, _, _, ts in rows)


def test_population_is_mostly_korean_and_mostly_verified_adults():
    # given 500 players
    generate(players=500, days=7)
    players = list(Player.objects.all())
    # then most are Korean in Seoul, about 70% are verified adults, and the rest include unknown birth dates
    assert sum(p.locale == "ko" for p in players) / len(players) > 0.8
    assert sum(p.timezone == "Asia/Seoul" for p in players) / len(players) > 0.75
    assert {p.timezone for p in players} > {"Asia/Seoul", "America/Los_Angeles", "Europe/London"}
    verified = sum(p.is_verified_adult(END_AT.date()) for p in players) / len(players)
    assert 0.6 < verified < 0.8
    assert any(p.birth_date is None for p in players)
    assert all(p.age_verified_at is not None for p in players if p.age_verified)


def test_bets_and_activity_are_heavy_tailed():
    # given 400 players over 30 days
    generate(players=400, days=30)
    bets: dict[int, int] = defaultdict(int)
    actions: Counter[int] = Counter()
    for user_id, action_type, metadata in UserAction.objects.values_list("user_id", "action_type", "metadata"):
        actions[user_id] += 1
        if action_type == "GAME_PLAY":
            bets[user_id] += metadata["bet"]
    # then the top 1% of players by bets hold a large share of all bets
    ranked = sorted(bets.values(), reverse=True)
    assert sum(ranked[:4]) / sum(ranked) > 0.25
    # and the busiest player does far more than the typical one
    counts = sorted(actions.values())
    assert counts[-1] > 10 * counts[len(counts) // 2]


def test_activity_peaks_in_the_evening_and_some_players_churn():
    # given 400 players over 30 days
    generate(players=400, days=30)
    seoul = zoneinfo.ZoneInfo("Asia/Seoul")
    in_seoul = set(Player.objects.filter(timezone="Asia/Seoul").values_list("id", flat=True))
    hours: Counter[int] = Counter()
    last_seen: dict[int, dt.datetime] = {}
    counts: Counter[int] = Counter()
    for user_id, ts in UserAction.objects.values_list("user_id", "action_timestamp"):
        if user_id in in_seoul:
            hours[ts.astimezone(seoul).hour] += 1
        last_seen[user_id] = max(ts, last_seen.get(user_id, ts))
        counts[user_id] += 1
    # then 19-23h local time sees several times more play than 3-7h
    evening = sum(hours[h] for h in range(19, 23))
    night = sum(hours[h] for h in range(3, 7))
    assert evening > 5 * night
    # and some active players stopped well before the end (churners)
    churned = [u for u, last in last_seen.items() if counts[u] >= 10 and last < END_AT - dt.timedelta(days=10)]
    assert churned


def test_hot_metrics_are_set_for_loaded_players():
    # given a generated data set
    generate(players=40)
    user_id, last = UserAction.objects.order_by("-action_timestamp").values_list("user_id", "action_timestamp")[0]
    # then the player's last-action time is in the hot store
    assert hot_store.get_many([key_last_action_ts(user_id)]) == {key_last_action_ts(user_id): int(last.timestamp())}


def test_an_end_in_the_future_is_refused():
    # when the window would end next year
    # then the command refuses: ingest would refuse such actions too
    with pytest.raises(CommandError, match="future"):
        call_command("generate_demo_data", players=5, end="2099-01-01", stdout=StringIO())


def test_start_id_places_the_players():
    # when players are generated from id 1000
    generate(players=10, start_id=1000)
    # then their ids run from 1000
    assert list(Player.objects.order_by("id").values_list("id", flat=True)) == list(range(1000, 1010))


# --- the token economy ------------------------------------------------------------------------------


def reconcile() -> str:
    out = StringIO()
    call_command("reconcile_balances", stdout=out)
    return out.getvalue()


def test_each_ledger_is_the_running_sum_of_its_players_actions_and_ends_at_the_wallet():
    # given a generated data set
    generate(players=300, days=30)
    ledgers = ledger_by_player()
    wallets = {w.player_id: w for w in Wallet.objects.all()}
    # then every player has a wallet, and a player's ledger rows, by id, run forward in time, each balance
    # the running sum of the amounts, never below zero, the last one the wallet's balance and row
    assert set(wallets) == set(Player.objects.values_list("id", flat=True))
    assert len(ledgers) > 100
    for player_id, rows in ledgers.items():
        running = 0
        for _, amount, balance_after, _, _, _, _ in rows:
            running += amount
            assert balance_after == running >= 0
        assert all(a[3] <= b[3] for a, b in pairwise(rows)), player_id
        assert wallets[player_id].balance == running == sum(r[1] for r in rows)
        assert wallets[player_id].last_entry_id == rows[-1][0]
    # and players without a token-moving action have an empty wallet
    assert all((w.balance, w.last_entry_id) == (0, 0) for pid, w in wallets.items() if pid not in ledgers)


def test_every_token_moving_action_has_exactly_one_matching_ledger_row():
    # given a generated data set
    generate(players=300, days=30)
    entries = {e.action_id: e for e in LedgerEntry.objects.all()}
    moving = [name for name, kind in REGISTRY.items() if kind.moves_tokens]
    actions = list(UserAction.objects.filter(action_type__in=moving))
    # then each token-moving action has its own ledger row, and no ledger row is without one
    assert len(actions) == LedgerEntry.objects.count() == len(entries)
    assert {a.id for a in actions} == set(entries)
    sources = {"corporate": "corporate", "in_app": "in_app", "reward": "reward"}
    for a in actions:
        entry = entries[a.id]
        # and the row says what the action says: kind, source, signed amount, time, key, who
        if a.action_type == "EARN_CYBER_TOKENS":
            assert (entry.kind, entry.source, entry.amount) == (
                "EARN",
                sources[a.metadata["source"]],
                a.metadata["earned_tokens"],
            )
        elif a.action_type in ("SPEND_CYBER_TOKENS", "UNLOCK_CONTENT"):
            assert (entry.kind, entry.source, entry.amount) == ("SPEND", "in_app", -a.metadata["spent_tokens"])
        else:
            assert (entry.kind, entry.source, entry.amount) == ("PURCHASE", "cash", a.metadata["tokens"])
            assert a.metadata["currency"] == "KRW" and a.metadata["amount_paid"] > 0
        assert entry.player_id == a.user_id
        assert entry.created_at == a.action_timestamp
        assert entry.idempotency_key == f"import:{a.event_id}"
        assert entry.actor == "demo"
        assert entry.request_hash == request_fingerprint(
            {
                "user_id": a.user_id,
                "action_type": a.action_type,
                "metadata": a.metadata,
                "action_timestamp": a.action_timestamp.isoformat(),
            }
        )
    assert Counter(a.action_type for a in actions).keys() == set(moving)


def test_the_ledger_rows_are_the_ones_an_import_of_the_same_actions_writes(tmp_path: Path):
    # given a generated data set, and all its actions exported as JSON Lines in time order
    generate(players=150, days=20)
    ledger = LedgerEntry.objects.count()
    path = tmp_path / "actions.jsonl"
    lines = [
        orjson.dumps({"event_id": e, "user_id": u, "action_type": t, "metadata": m, "action_timestamp": ts.isoformat()})
        for e, u, t, m, ts in UserAction.objects.order_by("action_timestamp", "id").values_list(
            "event_id", "user_id", "action_type", "metadata", "action_timestamp"
        )
    ]
    path.write_bytes(b"\n".join(lines) + b"\n")
    # when import_actions reads the file
    out = StringIO()
    call_command("import_actions", str(path), stdout=out)
    # then every line is a duplicate: same event ids, same ledger keys with the same request hashes
    assert f"stored 0, duplicates {len(lines)}" in out.getvalue()
    assert LedgerEntry.objects.count() == ledger


def test_a_replayed_history_write_returns_the_generated_row():
    # given a generated data set
    generate(players=150, days=20)
    for action_type in ("EARN_CYBER_TOKENS", "SPEND_CYBER_TOKENS", "PURCHASE_CYBER_TOKENS"):
        action = UserAction.objects.filter(action_type=action_type).order_by("id").first()
        assert action is not None
        # when the wallet is asked to record it as history again
        result = wallet_record_history(
            ParsedAction(action.event_id, action.user_id, action.action_type, action.action_timestamp, action.metadata)
        )
        # then it answers with the generated row, as a replay
        assert result.replayed
        assert result.entry.action_id == action.id


def test_company_a_earns_follow_visits_and_have_site_rewards():
    # given a generated data set
    generate(players=400, days=30)
    earns = list(LedgerEntry.objects.filter(kind="EARN", source="corporate"))
    rewards = {r.ledger_entry_id: r for r in SiteReward.objects.all()}
    visits: dict[int, list[dt.datetime]] = defaultdict(list)
    for user_id, ts in UserAction.objects.filter(action_type="CORPORATE_VISIT").values_list(
        "user_id", "action_timestamp"
    ):
        visits[user_id].append(ts)
    # then each Company A earn has one site_rewards row linked to its action and ledger row
    assert len(earns) == len(rewards) > 50
    for entry in earns:
        reward = rewards[entry.id]
        assert (reward.user_id, reward.reward_value, reward.issued_at, reward.action_id) == (
            entry.player_id,
            entry.amount,
            entry.created_at,
            entry.action_id,
        )
        assert reward.reward_type == "EARN_CYBER_TOKENS"
        assert reward.webhook_id == entry.idempotency_key.removeprefix("import:")
        # and comes within the hour after one of the player's visits, in Company A's amounts
        assert any(
            dt.timedelta(0) < entry.created_at - v <= dt.timedelta(hours=1, minutes=2) for v in visits[entry.player_id]
        )
        assert entry.amount in {100, 200, 300, 500}
    # and most visitors earn on most visits
    earned_on = Counter(e.player_id for e in earns)
    visitors = [u for u, vs in visits.items() if len(vs) >= 3]
    assert sum(earned_on[u] >= 2 for u in visitors) / len(visitors) > 0.7
    assert len(earns) / sum(len(vs) for vs in visits.values()) > 0.5


def test_reconcile_finds_no_drift_after_generating():
    # given a generated data set
    generate(players=300, days=30)
    # when the nightly reconciliation runs
    out = reconcile()
    # then the wallets match their ledgers, and Redis' copy holds every balance already
    assert "wallet drift 0, redis drift 0, redis missing 0" in out
    assert f"players {LedgerEntry.objects.values('player_id').distinct().count()}," in out


def test_balances_are_in_the_cache_after_loading():
    # given a generated data set
    generate(players=100)
    # then each balance and the ledger row it comes from are in the hot store
    wallets = list(Wallet.objects.filter(last_entry_id__gt=0))
    assert wallets
    cached = hot_store.get_many([k for w in wallets for k in (key_balance(w.player_id), key_balance_seq(w.player_id))])
    for w in wallets:
        assert cached[key_balance(w.player_id)] == w.balance
        assert cached[key_balance_seq(w.player_id)] == w.last_entry_id


def test_spending_is_heavy_tailed_and_few_players_pay():
    # given 1000 players over 30 days
    generate(players=1000, days=30, seed=7)
    spent = spent_by_player()
    balances = dict(Wallet.objects.values_list("player_id", "balance"))
    payers = set(LedgerEntry.objects.filter(kind="PURCHASE").values_list("player_id", flat=True))
    # then the top 1% of players make a large share of all spending, and whales spend 10,000+ tokens
    ranked = sorted(spent.values(), reverse=True)
    assert sum(ranked[:10]) / sum(ranked) > 0.5
    assert ranked[0] >= 10_000
    # while the typical spender spends little, and some players hoard what they earn
    assert ranked[len(ranked) // 2] < 500
    assert sum(1 for pid, balance in balances.items() if balance >= 500 and not spent[pid]) >= 10
    # and only a small share of players buy tokens
    assert 0.005 < len(payers) / 1000 < 0.1


def test_ids_after_the_demo_continue_above_it():
    # given a generated data set
    generate(players=50)
    top_entry = LedgerEntry.objects.order_by("-id").values_list("id", flat=True)[0]
    top_action = UserAction.objects.order_by("-id").values_list("id", flat=True)[0]
    wallet = Wallet.objects.filter(last_entry_id__gt=0).first()
    assert wallet is not None
    # when the wallet records a live earn for one of the players
    result = wallet_earn(player_id=wallet.player_id, amount=100, source="in_app", idempotency_key="live-1", details={})
    # then its ledger row and action get new ids above the demo's, and the balance carries on
    assert result.entry.id > top_entry
    assert result.entry.action_id is not None and result.entry.action_id > top_action
    assert result.entry.balance_after == wallet.balance + 100
    assert "wallet drift 0" in reconcile()


def test_a_rerun_adds_the_economy_to_players_loaded_without_one():
    # given a data set loaded as before the wallet existed: players and actions, no token history
    generate()
    economy = economy_rows()
    empty_database(("content_unlocks", "user_rewards", "site_rewards", "token_ledger", "wallets"))
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM user_actions WHERE action_type LIKE %s OR action_type = 'UNLOCK_CONTENT'", ["%_CYBER_TOKENS"]
        )
    # when the same arguments run again
    out = generate()
    # then the other actions are all there already, and the economy comes back as it was
    assert ", 0 stored," in out
    assert economy_rows() == economy
    assert "wallet drift 0" in reconcile()


# --- adult content: stages, and unlocks made as the unlock endpoint makes them ----------------------------------


def test_the_demo_catalog_is_loaded_and_each_unlock_comes_with_its_ledger_row_reward_and_record():
    # given a generated data set
    generate(players=400, days=30)
    catalog = {c.stage: c for c in AdultContent.objects.all()}
    players = {p.id: p for p in Player.objects.all()}
    unlocks = list(ContentUnlock.objects.select_related("ledger_entry", "action", "reward").order_by("id"))
    # then the demo catalog is there, and there are unlocks, every UNLOCK_CONTENT action being one of them
    assert sorted(catalog) == [1, 2, 3, 4, 5, 6]
    assert len(unlocks) > 20
    assert UserAction.objects.filter(action_type="UNLOCK_CONTENT").count() == len(unlocks)
    by_player: dict[int, list[ContentUnlock]] = defaultdict(list)
    for u in unlocks:
        # and each is a SPEND of the stage's price, at the unlock's time, recording its action, with a reward
        entry, action, reward = u.ledger_entry, u.action, u.reward
        assert (entry.kind, entry.amount, entry.created_at, entry.action_id) == (
            "SPEND",
            -u.spent_tokens,
            u.unlocked_at,
            u.action_id,
        )
        assert u.spent_tokens == catalog[u.stage].token_price and u.content_id == catalog[u.stage].id
        assert action.metadata == {"content_id": u.content_id, "stage": u.stage, "spent_tokens": u.spent_tokens}
        assert reward is not None
        assert (reward.reward_type, reward.reward_value, reward.trigger_action_id) == (
            "content_unlock",
            u.content_id,
            action.id,
        )
        # and only a verified adult unlocks, once verified
        player = players[u.user_id]
        assert player.is_verified_adult(u.unlocked_at.date())
        assert player.age_verified_at is not None and player.age_verified_at <= u.unlocked_at
        by_player[u.user_id].append(u)
    # and each player's unlocks run through the stages in order, in time order, only those needing no level
    for rows in by_player.values():
        rows.sort(key=lambda u: u.unlocked_at)
        assert [u.stage for u in rows] == list(range(1, len(rows) + 1))
        assert all(catalog[u.stage].required_segment_level == 0 for u in rows)
    assert "wallet drift 0" in reconcile()


def test_a_stage_staff_made_under_a_demo_number_is_used_as_it_is():
    # given staff's own stage 1
    own = AdultContent.objects.create(
        stage=1, name="Staff's", media_url="https://cdn.example.com/s.mp4", token_price=50
    )
    # when the demo is generated
    out = generate(players=200, days=20)
    # then the demo adds the other five stages and its unlocks of stage 1 are of staff's stage
    assert "5 demo stages added" in out
    assert AdultContent.objects.get(stage=1) == own
    assert set(ContentUnlock.objects.filter(stage=1).values_list("content_id", flat=True)) <= {own.id}
