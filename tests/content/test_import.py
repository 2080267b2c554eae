"""``import_actions`` takes UNLOCK_CONTENT history with its ledger row, as for spends, and records the unlock and its
reward with it; an unlock that cannot be recorded stops the import at its line, keeping what came before."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from activity.models import UserAction, UserReward
from content.models import ContentUnlock
from tests.content import helpers as h
from tests.factories import action
from wallet.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db

PID = 8400


def write(path: Path, actions: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(a) + "\n" for a in actions))
    return path


def run(path: Path, **options: Any) -> str:
    out = StringIO()
    call_command("import_actions", str(path), stdout=out, **options)
    return out.getvalue()


def earn(event_id: str, tokens: int, at: str) -> dict[str, Any]:
    return action(
        event_id=event_id, user_id=PID, action_type="EARN_CYBER_TOKENS", at=at, earned_tokens=tokens, source="in_app"
    )


def unlock(event_id: str, content_id: int, stage: int, spent: int, at: str) -> dict[str, Any]:
    return action(
        event_id=event_id,
        user_id=PID,
        action_type="UNLOCK_CONTENT",
        at=at,
        content_id=content_id,
        stage=stage,
        spent_tokens=spent,
    )


def test_unlock_history_comes_in_with_its_ledger_row_reward_and_unlock(tmp_path):
    # given a catalog and a file: an earn of 500, then unlocks of stages 1 and 2 at the prices of their day
    one, two = h.stage(1, 100), h.stage(2, 300)
    path = write(
        tmp_path / "history.jsonl",
        [
            earn("e-1", 500, "2026-11-01T10:00:00+00:00"),
            unlock("u-1", one.id, 1, 80, "2026-11-01T11:00:00+00:00"),
            unlock("u-2", two.id, 2, 250, "2026-11-02T11:00:00+00:00"),
        ],
    )
    # when it is imported
    out = run(path)
    # then each unlock is a SPEND at its own time, with its action, reward and unlock; the balance is what is left
    assert "stored 3" in out
    spends = list(LedgerEntry.objects.filter(player_id=PID, kind="SPEND").order_by("id"))
    assert [(e.amount, e.balance_after, e.idempotency_key) for e in spends] == [
        (-80, 420, "import:u-1"),
        (-250, 170, "import:u-2"),
    ]
    unlocks = list(ContentUnlock.objects.filter(user_id=PID).order_by("stage"))
    assert [(u.content_id, u.spent_tokens, u.ledger_entry_id) for u in unlocks] == [
        (one.id, 80, spends[0].id),
        (two.id, 250, spends[1].id),
    ]
    assert [u.unlocked_at.isoformat() for u in unlocks] == ["2026-11-01T11:00:00+00:00", "2026-11-02T11:00:00+00:00"]
    rewards = UserReward.objects.filter(user_id=PID, reward_type="content_unlock").order_by("id")
    assert [(r.reward_value, r.trigger_action_id) for r in rewards] == [
        (one.id, spends[0].action_id),
        (two.id, spends[1].action_id),
    ]
    assert Wallet.objects.get(player_id=PID).balance == 170
    # and importing the same file again (from its start) changes nothing
    assert "stored 0, duplicates 3" in run(path, restart=True)
    assert ContentUnlock.objects.count() == 2


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ({"content_id": 999, "stage": 1}, "not a stage of the catalog"),
        ({"stage": 2}, "is stage 1, not 2"),
    ],
    ids=["unknown stage", "wrong stage number"],
)
def test_an_unlock_that_cannot_be_recorded_stops_the_import_at_its_line(tmp_path, line, problem):
    # given a stage, an earn, and an unlock the catalog cannot take
    one = h.stage(1, 100)
    fields = {"content_id": one.id, "stage": 1, **line}
    path = write(
        tmp_path / "bad.jsonl",
        [
            earn("e-1", 500, "2026-11-01T10:00:00+00:00"),
            unlock("u-1", fields["content_id"], fields["stage"], 100, "2026-11-01T11:00:00+00:00"),
        ],
    )
    # when it is imported
    with pytest.raises(CommandError, match=problem) as failure:
        run(path)
    # then the error names line 2, and nothing of its chunk was stored
    assert "line 2" in str(failure.value)
    assert not LedgerEntry.objects.exists()
    assert not UserAction.objects.exists()


def test_a_second_unlock_of_a_stage_in_history_is_refused(tmp_path):
    # given a file that unlocks stage 1 twice under two event ids
    one = h.stage(1, 100)
    path = write(
        tmp_path / "twice.jsonl",
        [
            earn("e-1", 500, "2026-11-01T10:00:00+00:00"),
            unlock("u-1", one.id, 1, 100, "2026-11-01T11:00:00+00:00"),
            unlock("u-2", one.id, 1, 100, "2026-11-01T12:00:00+00:00"),
        ],
    )
    # when it is imported
    # then the third line is refused: the stage was unlocked already, and it would debit twice
    with pytest.raises(CommandError, match=r"line 3: .*unlock of content"):
        run(path)
    assert not ContentUnlock.objects.exists()
