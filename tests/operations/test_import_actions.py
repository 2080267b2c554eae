from __future__ import annotations

import csv
import datetime as dt
import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from activity.models import UserAction
from operations.importing import HEAD_BYTES, file_fingerprint
from operations.models import ImportCheckpoint
from players.models import Player
from tests.factories import action, game_play
from wallet.models import LedgerEntry, Wallet
from wallet.selectors import wallet_balance

pytestmark = pytest.mark.django_db

HEADER = ["event_id", "user_id", "action_type", "action_timestamp", "metadata"]


def write_csv(path: Path, actions: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(HEADER)
        for a in actions:
            writer.writerow(
                [
                    a["event_id"],
                    a["user_id"],
                    a["action_type"],
                    a["action_timestamp"],
                    json.dumps(a["metadata"], separators=(",", ":")),
                ]
            )
    return path


def write_jsonl(path: Path, actions: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in actions))
    return path


def plays(count: int, prefix: str = "imp") -> list[dict[str, Any]]:
    """``count`` valid GAME_PLAY actions with event ids prefix-1 .. prefix-count."""
    return [game_play(event_id=f"{prefix}-{i}", user_id=100 + i % 7, bet=10 + i) for i in range(1, count + 1)]


def run(path: Path, **options: Any) -> str:
    out = StringIO()
    call_command("import_actions", str(path), stdout=out, **options)
    return out.getvalue()


def stored_ids() -> set[str]:
    return set(UserAction.objects.values_list("event_id", flat=True))


def test_csv_import_stores_every_action(tmp_path):
    # given a CSV file of three actions of different types
    rows = [
        action(event_id="c-1", user_id=7),
        game_play(event_id="c-2", user_id=7, bet=25, payout=50),
        action(event_id="c-3", user_id=8, action_type="VIEW_CONTENT", content_id="promo-1"),
    ]
    path = write_csv(tmp_path / "actions.csv", rows)
    # when it is imported
    out = run(path)
    # then all three are stored, with their user ids as integers and metadata as objects
    assert "stored 3, duplicates 0, lines 4" in out
    play = UserAction.objects.get(event_id="c-2")
    assert play.user_id == 7
    assert play.metadata == {"game": "SlotMachine", "bet": 25, "payout": 50, "result": "win"}
    assert stored_ids() == {"c-1", "c-2", "c-3"}


@pytest.mark.parametrize("name", ["actions.jsonl", "actions.ndjson"])
def test_jsonl_import_stores_every_action(tmp_path, name):
    # given a JSON Lines file (with a blank line at the end)
    path = write_jsonl(tmp_path / name, plays(4))
    path.write_text(path.read_text() + "\n")
    # when it is imported
    out = run(path)
    # then every action is stored
    assert "stored 4, duplicates 0" in out
    assert stored_ids() == {f"imp-{i}" for i in range(1, 5)}


def test_format_option_overrides_the_extension(tmp_path):
    # given JSON Lines in a .txt file
    path = write_jsonl(tmp_path / "export.txt", plays(2))
    # when imported without a format, then the command asks for one
    with pytest.raises(CommandError, match="--format"):
        run(path)
    # when imported with --format jsonl, then it is read as JSON Lines
    assert "stored 2" in run(path, format="jsonl")


def test_duplicates_are_counted_not_stored(tmp_path):
    # given one action already stored, and a file repeating it and holding another one twice
    run(write_jsonl(tmp_path / "first.jsonl", plays(1)))
    rows = plays(2)
    path = write_csv(tmp_path / "again.csv", [rows[0], rows[1], rows[1]])
    # when the file is imported
    out = run(path)
    # then only the new action is stored; the other two count as duplicates
    assert "stored 1, duplicates 2, lines 4" in out
    assert UserAction.objects.count() == 2


def test_bad_line_names_line_and_field_and_keeps_earlier_chunks(tmp_path):
    # given 15 actions (lines 2-16, after the header) whose line 12 has a negative bet
    rows = plays(15)
    rows[10]["metadata"]["bet"] = -5
    path = write_csv(tmp_path / "bad.csv", rows)
    # when imported in chunks of 5 (lines 2-6, 7-11, 12-16)
    with pytest.raises(CommandError) as excinfo:
        run(path, chunk_size=5)
    # then the error names the line and the field
    message = str(excinfo.value)
    assert "line 12: metadata.bet: Must be an integer from 0" in message
    assert "lines 12-16" in message
    # and the two chunks before it are stored, nothing of the bad chunk is
    assert stored_ids() == {f"imp-{i}" for i in range(1, 11)}
    # and the checkpoint says lines 1-11 are done, not finished
    checkpoint = ImportCheckpoint.objects.get(fingerprint=file_fingerprint(path))
    assert (checkpoint.lines_done, checkpoint.stored, checkpoint.duplicates) == (11, 10, 0)
    assert checkpoint.finished_at is None


@pytest.mark.django_db(transaction=True)
def test_chunks_before_a_bad_one_are_committed(tmp_path):
    # given a file whose third chunk has an unknown action type (line 12)
    rows = plays(15)
    rows[10]["action_type"] = "DANCE"
    path = write_csv(tmp_path / "bad.csv", rows)
    # when the import stops there
    with pytest.raises(CommandError, match="line 12: action_type: Unknown action type"):
        run(path, chunk_size=5)
    # then the first two chunks and the checkpoint were committed
    assert UserAction.objects.count() == 10
    assert ImportCheckpoint.objects.get().lines_done == 11


@pytest.mark.django_db(transaction=True)
def test_rerun_after_fixing_a_line_resumes_after_the_last_committed_chunk(tmp_path):
    # given a file of 700 actions, longer than the fingerprinted head, with a bad bet on line 650
    rows = plays(700)
    rows[648]["metadata"]["bet"] = -1
    path = write_csv(tmp_path / "big.csv", rows)
    assert path.read_bytes().find(b"imp-649,") > HEAD_BYTES
    # and an import in chunks of 100 that stopped at the chunk of lines 602-701
    with pytest.raises(CommandError, match=r"line 650: metadata\.bet"):
        run(path, chunk_size=100)
    assert UserAction.objects.count() == 600
    # when the line is fixed (same length, so the head and size are unchanged) and the import runs again
    path.write_bytes(path.read_bytes().replace(b'"bet"":-1,', b'"bet"":99,'))
    out = run(path, chunk_size=100)
    # then it resumes after line 601: only the last 100 actions are read, and all 700 are stored
    assert "Resumed after line 601." in out
    assert "stored 100, duplicates 0, lines 100" in out
    assert UserAction.objects.count() == 700
    assert UserAction.objects.get(event_id="imp-649").metadata["bet"] == 99


def test_rerun_skips_the_lines_a_checkpoint_says_are_done(tmp_path):
    # given a file of 10 actions and a checkpoint saying lines 1-6 were imported
    path = write_csv(tmp_path / "resume.csv", plays(10))
    ImportCheckpoint.objects.create(fingerprint=file_fingerprint(path), path=str(path), lines_done=6, stored=5)
    # when the file is imported
    out = run(path, chunk_size=3)
    # then only lines 7-11 are read and stored
    assert "Resumed after line 6." in out
    assert "stored 5, duplicates 0, lines 5" in out
    assert stored_ids() == {f"imp-{i}" for i in range(6, 11)}
    checkpoint = ImportCheckpoint.objects.get()
    assert (checkpoint.lines_done, checkpoint.stored) == (11, 10)
    assert checkpoint.finished_at is not None


def test_restart_ignores_the_checkpoint(tmp_path):
    # given a file and a checkpoint saying lines 1-6 were imported
    path = write_csv(tmp_path / "resume.csv", plays(10))
    ImportCheckpoint.objects.create(fingerprint=file_fingerprint(path), path=str(path), lines_done=6, stored=5)
    # when it is imported with --restart
    out = run(path, restart=True)
    # then every line is read again
    assert "stored 10, duplicates 0, lines 11" in out
    assert len(stored_ids()) == 10


def test_a_finished_file_is_not_imported_again(tmp_path):
    # given a file imported to the end
    path = write_jsonl(tmp_path / "done.jsonl", plays(3))
    run(path)
    # when it is imported again
    out = run(path)
    # then the command says it is done already
    assert "was imported already" in out
    assert "stored 3, duplicates 0, lines 3" in out
    # and with --restart it reads it again, every action a duplicate
    assert "stored 0, duplicates 3, lines 3" in run(path, restart=True)


def earn(event_id: str, user_id: int, tokens: int, at: str) -> dict[str, Any]:
    return action(
        event_id=event_id,
        user_id=user_id,
        action_type="EARN_CYBER_TOKENS",
        at=at,
        earned_tokens=tokens,
        source="corporate",
    )


def spend(event_id: str, user_id: int, tokens: int, at: str) -> dict[str, Any]:
    return action(
        event_id=event_id,
        user_id=user_id,
        action_type="SPEND_CYBER_TOKENS",
        at=at,
        spent_tokens=tokens,
        game="Roulette",
    )


def test_token_history_comes_in_with_its_ledger_rows_in_order(tmp_path):
    # given a history of an earn, two spends and a purchase for one player, between plain actions
    rows = [
        game_play(event_id="g-1", user_id=300),
        earn("t-1", 300, 100, "2026-11-01T10:00:00Z"),
        spend("t-2", 300, 60, "2026-11-01T11:00:00Z"),
        action(
            event_id="t-3",
            user_id=300,
            action_type="PURCHASE_CYBER_TOKENS",
            at="2026-11-02T09:00:00Z",
            tokens=500,
            amount_paid=4900,
            currency="KRW",
            payment_id="pay-9",
        ),
        spend("t-4", 300, 540, "2026-11-03T11:00:00Z"),
    ]
    path = write_jsonl(tmp_path / "tokens.jsonl", rows)
    # when it is imported
    out = run(path)
    # then every line is stored, each token move with one ledger row at its own time, in file order
    assert "stored 5, duplicates 0, lines 5" in out
    entries = list(LedgerEntry.objects.filter(player_id=300).order_by("id"))
    assert [(e.kind, e.amount, e.balance_after) for e in entries] == [
        ("EARN", 100, 100),
        ("SPEND", -60, 40),
        ("PURCHASE", 500, 540),
        ("SPEND", -540, 0),
    ]
    assert entries[0].source == "corporate" and entries[2].source == "cash"
    assert entries[1].created_at.isoformat() == "2026-11-01T11:00:00+00:00"
    assert Wallet.objects.get(player_id=300).balance == 0
    assert UserAction.objects.get(event_id="t-2").metadata == {"spent_tokens": 60, "game": "Roulette"}
    assert wallet_balance(player_id=300).balance == 0


def test_a_line_that_would_drive_a_balance_below_zero_is_refused_by_number(tmp_path):
    # given a history whose fourth line spends more than the player has, in the second chunk of 2 lines
    rows = [
        earn("n-1", 301, 50, "2026-11-01T10:00:00Z"),
        spend("n-2", 301, 20, "2026-11-01T11:00:00Z"),
        game_play(event_id="n-3", user_id=301),
        spend("n-4", 301, 31, "2026-11-01T12:00:00Z"),
    ]
    path = write_jsonl(tmp_path / "negative.jsonl", rows)
    # when it is imported in chunks of two lines
    with pytest.raises(CommandError) as excinfo:
        run(path, chunk_size=2)
    # then the error names line 4, the first chunk is kept and nothing of the second is stored
    assert "line 4: SPEND_CYBER_TOKENS of player 301 would take the balance below zero" in str(excinfo.value)
    assert stored_ids() == {"n-1", "n-2"}
    assert Wallet.objects.get(player_id=301).balance == 30
    assert LedgerEntry.objects.filter(player_id=301).count() == 2


def test_reimporting_token_history_applies_nothing_twice(tmp_path):
    # given a token history imported once
    path = write_jsonl(
        tmp_path / "again.jsonl",
        [earn("r-1", 302, 70, "2026-11-01T10:00:00Z"), spend("r-2", 302, 30, "2026-11-01T11:00:00Z")],
    )
    run(path)
    # when it is imported again from the start
    out = run(path, restart=True)
    # then both lines are duplicates and the balance and ledger are unchanged
    assert "stored 0, duplicates 2, lines 2" in out
    assert LedgerEntry.objects.filter(player_id=302).count() == 2
    assert Wallet.objects.get(player_id=302).balance == 40


def purchase(event_id: str, user_id: int, dollars: float, at: str) -> dict[str, Any]:
    """A cash purchase as a shop's log holds it: ten tokens a dollar, at least one."""
    return action(
        event_id=event_id,
        user_id=user_id,
        action_type="PURCHASE_CYBER_TOKENS",
        at=at,
        tokens=max(1, round(dollars * 10)),
        amount_paid=dollars,
        currency="USD",
        payment_id=f"pay-{event_id}",
    )


def test_a_log_of_cash_purchases_only_from_1997_creates_its_players_with_their_ledgers(tmp_path):
    # given a log that holds only cash purchases, in 1997-1998 (CDNOW's years), of three players never seen before:
    # two purchases of one player on one day, and a $0.00 line (one token)
    rows = [
        purchase("p-1", 501, 29.33, "1997-01-01T12:00:00+09:00"),
        purchase("p-2", 502, 0.0, "1997-01-02T12:00:00+09:00"),
        purchase("p-3", 501, 14.96, "1997-08-02T12:00:00+09:00"),
        purchase("p-4", 501, 26.48, "1997-08-02T12:00:00+09:00"),
        purchase("p-5", 503, 63.34, "1997-12-31T12:00:00+09:00"),
        purchase("p-6", 502, 11.77, "1998-06-30T12:00:00+09:00"),
    ]
    path = write_jsonl(tmp_path / "cash.jsonl", rows)
    # when it is imported
    out = run(path)
    # then every line is stored, each purchase a PURCHASE ledger row from cash of its tokens at its own time
    assert "stored 6, duplicates 0, lines 6" in out
    entries = list(LedgerEntry.objects.filter(player_id=501).order_by("id"))
    assert [(e.kind, e.source, e.amount, e.balance_after) for e in entries] == [
        ("PURCHASE", "cash", 293, 293),
        ("PURCHASE", "cash", 150, 443),
        ("PURCHASE", "cash", 265, 708),
    ]
    assert entries[0].created_at == dt.datetime(1997, 1, 1, 3, tzinfo=dt.UTC)
    # and the players are made on first sight, signed up at their first purchase
    assert dict(Player.objects.filter(id__in=[501, 502, 503]).values_list("id", "signup_at")) == {
        501: dt.datetime(1997, 1, 1, 3, tzinfo=dt.UTC),
        502: dt.datetime(1997, 1, 2, 3, tzinfo=dt.UTC),
        503: dt.datetime(1997, 12, 31, 3, tzinfo=dt.UTC),
    }
    # and each wallet holds the sum of its ledger rows, with the last row's id, as the balance read says too
    for player_id, balance in ((501, 708), (502, 1 + 118), (503, 633)):
        wallet = Wallet.objects.get(player_id=player_id)
        last = LedgerEntry.objects.filter(player_id=player_id).order_by("-id").first()
        assert last is not None
        assert (wallet.balance, wallet.last_entry_id) == (balance, last.id)
        assert wallet_balance(player_id=player_id).balance == balance
    # and the actions keep the dollars paid, the $0.00 line as 0
    paid = dict(UserAction.objects.values_list("event_id", "metadata__amount_paid"))
    assert paid == {"p-1": 29.33, "p-2": 0.0, "p-3": 14.96, "p-4": 26.48, "p-5": 63.34, "p-6": 11.77}


def test_history_before_1990_is_refused_naming_the_bound(tmp_path):
    # given a history whose second line is dated before 1990-01-01 UTC (an import's lower bound)
    rows = [
        purchase("old-1", 510, 5.0, "1990-01-01T00:00:00Z"),
        purchase("old-2", 510, 5.0, "1989-12-31T23:59:59Z"),
    ]
    path = write_jsonl(tmp_path / "old.jsonl", rows)
    # when it is imported
    with pytest.raises(CommandError) as excinfo:
        run(path)
    # then line 2 is refused with the bound named, and nothing of the chunk is stored
    assert "line 2: action_timestamp: Is before 1990-01-01T00:00:00Z" in str(excinfo.value)
    assert "line 1:" not in str(excinfo.value)
    assert stored_ids() == set()


def test_bad_json_and_bad_fields_are_all_named(tmp_path):
    # given a CSV file with invalid metadata JSON on line 2 and a bad user id on line 4
    path = tmp_path / "broken.csv"
    path.write_text(
        ",".join(HEADER) + "\n"
        'e-1,7,SESSION_START,2026-11-20T12:00:00Z,"{not json}"\n'
        "e-2,7,SESSION_START,2026-11-20T12:00:00Z,\n"
        "e-3,seven,SESSION_START,2026-11-20T12:00:00Z,{}\n"
    )
    # when it is imported
    with pytest.raises(CommandError) as excinfo:
        run(path)
    # then both problems are named, in line order
    message = str(excinfo.value)
    assert message.index("line 2: metadata: Not valid JSON") < message.index("line 4: user_id: Required")
    assert not UserAction.objects.exists()


def test_line_numbers_count_physical_lines_of_multiline_csv_records(tmp_path):
    # given a CSV record whose metadata spans lines 2-3, then a bad record on line 4
    path = tmp_path / "multiline.csv"
    path.write_text(
        ",".join(HEADER) + "\n"
        'e-1,7,VIEW_CONTENT,2026-11-20T12:00:00Z,"{""content_id"":\n 3}"\n'
        'e-2,7,GAME_PLAY,2026-11-20T12:00:00Z,"{""game"":""Poker"",""bet"":1,""payout"":0,""result"":""loss""}"\n'
    )
    # when it is imported
    with pytest.raises(CommandError) as excinfo:
        run(path)
    # then the error points at line 4
    assert "line 4: metadata.game: Must be one of" in str(excinfo.value)


def test_jsonl_line_that_is_not_json_is_named(tmp_path):
    # given a JSON Lines file whose second line is cut off
    path = tmp_path / "cut.jsonl"
    path.write_text(json.dumps(plays(1)[0]) + '\n{"event_id": "x"\n')
    # when it is imported, then line 2 is named
    with pytest.raises(CommandError, match="line 2: Not valid JSON"):
        run(path)


def test_csv_without_the_required_columns_is_refused(tmp_path):
    # given a CSV file without a metadata column
    path = tmp_path / "short.csv"
    path.write_text("event_id,user_id,action_type,action_timestamp\ne-1,7,SESSION_START,2026-11-20T12:00:00Z\n")
    # when it is imported, then the header (line 1) is named with the missing column
    with pytest.raises(CommandError, match=r"line 1: header: .*missing: metadata"):
        run(path)
