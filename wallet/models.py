from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone


class Wallet(models.Model):
    """A player's current balance: the running sum of their ledger, kept in the same transaction.

    ``last_entry_id`` is the ledger row that produced ``balance``; Redis' copy carries it too, so an
    older value can never overwrite a newer one there.
    """

    player = models.OneToOneField("players.Player", on_delete=models.PROTECT, primary_key=True, related_name="wallet")
    balance = models.BigIntegerField(default=0)
    last_entry_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "wallets"
        constraints = [models.CheckConstraint(condition=models.Q(balance__gte=0), name="wallet_balance_not_negative")]

    def __str__(self) -> str:
        return f"wallet of player {self.player_id}: {self.balance}"


IMMUTABLE = "Ledger rows are immutable: record a correction as a new ADJUST row."


class LedgerQuerySet(models.QuerySet["LedgerEntry"]):
    """Bulk ``update()``/``delete()`` bypass the model's ``save``/``delete``: refuse them too.

    (The database refuses them as well, except DELETE on SQLite, see migration 0002.)
    """

    def update(self, **kwargs: Any) -> int:
        raise ValueError(IMMUTABLE)

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError(IMMUTABLE)


class LedgerEntry(models.Model):
    """One immutable change of a balance (the source of truth). Corrections are new ADJUST rows.

    The database refuses UPDATE (and on PostgreSQL DELETE) of these rows (migration 0002).
    """

    class Kind(models.TextChoices):
        EARN = "EARN"
        SPEND = "SPEND"
        PURCHASE = "PURCHASE"
        GRANT = "GRANT"
        ADJUST = "ADJUST"
        REFUND = "REFUND"  # a purchase reversed (refund or chargeback), source cash: ``Refund``, docs/decisions/0024

    class Source(models.TextChoices):
        CORPORATE = "corporate"
        IN_APP = "in_app"
        CASH = "cash"
        REWARD = "reward"

    id = models.BigAutoField(primary_key=True)
    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="ledger", db_index=False)
    idempotency_key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64, help_text="SHA-256 of the request that made this row.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    amount = models.BigIntegerField(help_text="Signed: positive credits, negative debits.")
    balance_after = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    action = models.ForeignKey(
        "activity.UserAction", null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    actor = models.CharField(max_length=150, blank=True, help_text="Who asked: service key name, staff user.")
    reason = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        db_table = "token_ledger"
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="token_ledger_idempotency_key_uniq"),
            models.CheckConstraint(condition=models.Q(balance_after__gte=0), name="ledger_balance_after_not_negative"),
            models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_amount_not_zero"),
        ]
        indexes = [models.Index(fields=["player", "created_at"], name="token_ledger_player_ts")]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d} for player {self.player_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError(IMMUTABLE)
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError(IMMUTABLE)


class Refund(models.Model):
    """A cash purchase reversed: refunded by the shop or charged back through the player's bank (docs/decisions/0024).

    One per payment (``payment_id``, the provider's id of the purchase): a second report of it, refund or chargeback,
    answers the first. The tokens bought are taken back from what the balance still holds (``recovered``, the REFUND
    ledger row ``entry``; none when the balance was empty), never below zero; the rest the player had spent already
    (``unrecovered``) is recorded here, counted (``tokenloop_refund_unrecovered_tokens_total``) and shown to staff.
    Written only by ``wallet.services.wallet_refund``, in the ledger row's transaction; never edited.
    """

    class Kind(models.TextChoices):
        REFUND = "refund"
        CHARGEBACK = "chargeback"

    id = models.BigAutoField(primary_key=True)
    payment_id = models.CharField(max_length=150, unique=True, help_text="The payment provider's id of the purchase.")
    player = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="+", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.TextField(blank=True, help_text="As the payment service reported it.")
    purchase_entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, related_name="refund", help_text="The PURCHASE ledger row reversed."
    )
    entry = models.OneToOneField(
        LedgerEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The REFUND ledger row that took the tokens back; empty when the balance held none.",
    )
    tokens = models.BigIntegerField(help_text="Tokens the purchase bought.")
    recovered = models.BigIntegerField(help_text="Tokens taken back from the balance.")
    unrecovered = models.BigIntegerField(help_text="Tokens the player had spent already: not taken back.")
    actor = models.CharField(max_length=150, blank=True, help_text="The service key that reported it.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "wallet_refunds"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recovered__gte=0, unrecovered__gte=0, recovered__lte=models.F("tokens"))
                & models.Q(unrecovered=models.F("tokens") - models.F("recovered")),
                name="wallet_refund_tokens_add_up",
            )
        ]
        indexes = [models.Index(fields=["player", "created_at"], name="wallet_refunds_player_ts")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.payment_id}: {self.recovered} of {self.tokens} tokens back"
