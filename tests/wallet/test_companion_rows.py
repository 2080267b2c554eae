"""Rows a caller writes together with a ledger row (``CompanionRow``): one statement on PostgreSQL, the same
outcome on SQLite."""

from __future__ import annotations

import datetime as dt

import pytest

from corporate.models import SiteReward
from players.models import Player
from wallet import services
from wallet.models import LedgerEntry

pytestmark = pytest.mark.django_db

PLAYER = 5100
ISSUED = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def reward(webhook_id: str) -> SiteReward:
    return SiteReward(
        user_id=PLAYER, reward_type="EARN_CYBER_TOKENS", reward_value=50, issued_at=ISSUED, webhook_id=webhook_id
    )


def earn(key: str, rows: list[services.CompanionRow], seen: list[Player]) -> services.LedgerResult:
    def companions(player: Player) -> list[services.CompanionRow]:
        seen.append(player)
        return rows

    return services.wallet_earn(
        user_id=PLAYER, amount=50, source="corporate", idempotency_key=key, details={}, companions=companions
    )


def test_companion_rows_are_written_with_the_ledger_row_and_linked_to_it():
    # given a site reward to write with a grant
    written: list[SiteReward] = []
    row = services.CompanionRow(
        reward("w-1"), ledger_field="ledger_entry_id", action_field="action_id", on_written=written.append
    )
    # when the grant is posted
    result = earn("companion:1", [row], [])
    # then the reward row is stored, pointing at the new ledger row and its action, and its hook ran once
    stored = SiteReward.objects.get(webhook_id="w-1")
    assert (stored.ledger_entry_id, stored.action_id) == (result.entry.id, result.entry.action_id)
    assert result.entry.action_id is not None
    assert written == [row.instance] and row.instance.pk == stored.pk


def test_a_companion_row_whose_unique_value_is_taken_is_skipped_and_the_grant_stands():
    # given a site reward already stored under the webhook id the new one would use
    earn("companion:first", [services.CompanionRow(reward("w-2"), ledger_field="ledger_entry_id")], [])
    written: list[SiteReward] = []
    row = services.CompanionRow(
        reward("w-2"), ledger_field="ledger_entry_id", conflict_field="webhook_id", on_written=written.append
    )
    # when another grant brings a row with the same webhook id, marked as one that may already exist
    result = earn("companion:second", [row], [])
    # then the grant is recorded, the existing row is left alone and the new one is neither stored nor announced
    assert not result.replayed
    assert LedgerEntry.objects.filter(player_id=PLAYER).count() == 2
    assert SiteReward.objects.filter(webhook_id="w-2").count() == 1
    assert row.instance.pk is None and written == []


def test_a_replay_writes_no_companion_rows():
    # given a grant already posted with its reward row
    earn("companion:3", [services.CompanionRow(reward("w-3"), ledger_field="ledger_entry_id")], [])
    written: list[SiteReward] = []
    again = services.CompanionRow(reward("w-3-again"), ledger_field="ledger_entry_id", on_written=written.append)
    # when the same request is posted again
    result = earn("companion:3", [again], [])
    # then it is answered as a replay: nothing more is written or announced
    assert result.replayed
    assert not SiteReward.objects.filter(webhook_id="w-3-again").exists()
    assert again.instance.pk is None and written == []
