"""The ledger is append-only (design brief 3): the ORM, the admin and the database itself refuse to
change or delete a row, no balance can go negative, and a correction is a new ADJUST row."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, IntegrityError, connection, transaction

from core.exceptions import InvalidInput
from tests.wallet.helpers import db_balance, fund, ledger_sum, spend
from wallet.errors import InsufficientBalance
from wallet.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db

PLAYER = 4400


@pytest.fixture
def entry() -> LedgerEntry:
    fund(PLAYER, 100)
    return spend(PLAYER, 40).entry


def unchanged(entry: LedgerEntry) -> bool:
    stored = LedgerEntry.objects.get(id=entry.id)
    return (stored.amount, stored.balance_after, stored.kind) == (entry.amount, entry.balance_after, entry.kind)


# --- the ORM -------------------------------------------------------------------------------------------


def test_saving_an_existing_row_is_refused(entry):
    # given a stored ledger row
    entry.amount = -1
    # when it is saved again through the ORM
    with pytest.raises(ValueError, match="immutable"):
        entry.save()
    # then the stored row is as it was
    entry.amount = -40
    assert unchanged(entry)


def test_deleting_a_row_is_refused(entry):
    # given a stored ledger row
    # when it is deleted through the ORM
    with pytest.raises(ValueError, match="immutable"):
        entry.delete()
    # then it is still there
    assert LedgerEntry.objects.filter(id=entry.id).exists()


def test_bulk_update_and_delete_are_refused(entry):
    # given stored ledger rows
    rows = LedgerEntry.objects.filter(player_id=PLAYER)
    # when a queryset update or delete is tried (they bypass the model's save and delete)
    with pytest.raises(ValueError, match="immutable"):
        rows.update(amount=1)
    with pytest.raises(ValueError, match="immutable"):
        rows.delete()
    # then every row is as it was
    assert rows.count() == 2
    assert unchanged(entry)


# --- the database ------------------------------------------------------------------------------------


def test_raw_update_is_refused_by_the_database_trigger(entry):
    # given a stored ledger row
    # when raw SQL tries to change it (bypassing Django entirely)
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE token_ledger SET amount = 1000 WHERE id = %s", [entry.id])
    # then the database refused and the row is as it was
    assert unchanged(entry)


def test_raw_delete_is_refused_by_the_database_trigger(entry):
    # given a stored ledger row
    # when raw SQL tries to delete it
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM token_ledger WHERE id = %s", [entry.id])
    # then the database refused and the row is still there
    assert LedgerEntry.objects.filter(id=entry.id).exists()


def test_the_database_refuses_a_negative_wallet_balance(entry):
    # given a wallet holding 60
    # when raw SQL and a queryset update try to make it negative
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE wallets SET balance = -1 WHERE player_id = %s", [PLAYER])
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(player_id=PLAYER).update(balance=-5)
    # then the CHECK constraint refused both and the balance is 60
    assert db_balance(PLAYER) == 60


@pytest.mark.parametrize(("amount", "balance_after"), [(-200, -100), (0, 60)])
def test_the_database_refuses_a_negative_balance_after_or_a_zero_amount(entry, amount, balance_after):
    # given a wallet holding 60
    # when a ledger row with a negative balance_after, or one moving nothing, is inserted directly
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            player_id=PLAYER,
            idempotency_key="forged",
            request_hash="x",
            kind="ADJUST",
            source="in_app",
            amount=amount,
            balance_after=balance_after,
        )
    # then a CHECK constraint refused it
    assert not LedgerEntry.objects.filter(idempotency_key="forged").exists()


def test_the_database_refuses_a_second_row_with_the_same_key(entry):
    # given a stored ledger row
    # when another row with its idempotency key is inserted directly
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            player_id=PLAYER,
            idempotency_key=entry.idempotency_key,
            request_hash="x",
            kind="EARN",
            source="in_app",
            amount=5,
            balance_after=65,
        )
    # then the unique constraint refused it
    assert LedgerEntry.objects.filter(idempotency_key=entry.idempotency_key).count() == 1


# --- the admin -----------------------------------------------------------------------------------------


def test_admin_lists_and_shows_ledger_rows_read_only(staff, entry):
    # given a superuser in the admin
    # when they open the ledger list and a row
    listing = staff.get("/admin/wallet/ledgerentry/")
    page = staff.get(f"/admin/wallet/ledgerentry/{entry.id}/change/")
    # then both show, the row without a save button nor a delete action
    assert listing.status_code == 200
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert b"delete_selected" not in listing.content


def test_admin_refuses_to_add_change_or_delete_ledger_rows(staff, entry):
    # given a superuser in the admin
    base = "/admin/wallet/ledgerentry/"
    # when they post a change, open the delete page, post a delete, post a bulk delete and open the add page
    change = staff.post(f"{base}{entry.id}/change/", {"amount": "1000", "kind": "EARN"})
    delete_page = staff.get(f"{base}{entry.id}/delete/")
    delete = staff.post(f"{base}{entry.id}/delete/", {"post": "yes"})
    staff.post(base, {"action": "delete_selected", "_selected_action": [entry.id], "post": "yes"})
    add = staff.get(f"{base}add/")
    # then each is forbidden and the row is untouched
    assert (change.status_code, delete_page.status_code, delete.status_code, add.status_code) == (403, 403, 403, 403)
    assert unchanged(entry)
    assert LedgerEntry.objects.filter(player_id=PLAYER).count() == 2


def test_admin_shows_wallets_but_cannot_change_them(staff, entry):
    # given a superuser in the admin and a wallet holding 60
    # when they open the wallet and post a change to it
    page = staff.get(f"/admin/wallet/wallet/{PLAYER}/change/")
    change = staff.post(f"/admin/wallet/wallet/{PLAYER}/change/", {"balance": "999999"})
    # then the page is view-only and the change is forbidden
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert change.status_code == 403
    assert db_balance(PLAYER) == 60


# --- corrections -----------------------------------------------------------------------------------------


def test_adjust_balance_command_adds_an_adjust_row_with_actor_and_reason(entry):
    # given a wallet holding 60
    out = StringIO()
    # when staff take back 15 tokens granted by mistake
    call_command(
        "adjust_balance", str(PLAYER), "-15", "--reason", "duplicate grant #812", "--actor", "alice", stdout=out
    )
    # then a new ADJUST row records who and why, the old rows are untouched, and the balance follows
    row = LedgerEntry.objects.filter(player_id=PLAYER).latest("id")
    assert (row.kind, row.amount, row.balance_after, row.actor, row.reason) == (
        "ADJUST",
        -15,
        45,
        "alice",
        "duplicate grant #812",
    )
    assert unchanged(entry)
    assert db_balance(PLAYER) == ledger_sum(PLAYER) == 45
    assert f"ledger row {row.id}: balance now 45" in out.getvalue()


def test_adjust_balance_with_the_same_key_is_applied_once(entry):
    # given an adjustment made with key fix-1
    args = [str(PLAYER), "25", "--reason", "support ticket 77", "--actor", "bob", "--key", "fix-1"]
    call_command("adjust_balance", *args, stdout=StringIO())
    out = StringIO()
    # when the same command is run again
    call_command("adjust_balance", *args, stdout=out)
    # then it is a replay: one ADJUST row, the balance moved once
    assert LedgerEntry.objects.filter(player_id=PLAYER, kind="ADJUST").count() == 1
    assert db_balance(PLAYER) == 85
    assert "(replayed)" in out.getvalue()


def test_adjust_balance_needs_a_reason_and_an_actor(entry):
    # given a wallet holding 60
    # when the command is run without a reason, or with a blank one
    with pytest.raises(CommandError, match="--reason"):
        call_command("adjust_balance", str(PLAYER), "5", "--actor", "alice", stdout=StringIO())
    with pytest.raises(InvalidInput) as blank:
        call_command("adjust_balance", str(PLAYER), "5", "--reason", "  ", "--actor", "alice", stdout=StringIO())
    # then nothing is written, and the refusal names the missing field
    assert blank.value.fields == {"reason": ["Required."]}
    assert not LedgerEntry.objects.filter(kind="ADJUST").exists()


def test_adjust_balance_cannot_make_a_balance_negative(entry):
    # given a wallet holding 60
    # when staff try to take back 61
    with pytest.raises(InsufficientBalance):
        call_command(
            "adjust_balance", str(PLAYER), "-61", "--reason", "chargeback", "--actor", "alice", stdout=StringIO()
        )
    # then nothing is written
    assert not LedgerEntry.objects.filter(kind="ADJUST").exists()
    assert db_balance(PLAYER) == 60
