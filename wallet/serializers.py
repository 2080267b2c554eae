from __future__ import annotations

from rest_framework import serializers

from activity.registry import GAMES
from core.auth import MAX_PLAYER_ID

MAX_TOKENS = 1_000_000_000


class StrictIntegerField(serializers.IntegerField):
    """An integer in JSON, not "12" nor 12.0 nor true: amounts must be exact."""

    def to_internal_value(self, data: object) -> int:
        if type(data) is not int:
            self.fail("invalid")
        return super().to_internal_value(data)


class SpendInput(serializers.Serializer):
    user_id = StrictIntegerField(min_value=1, max_value=MAX_PLAYER_ID, source="player_id")
    amount = StrictIntegerField(min_value=1, max_value=MAX_TOKENS)
    game = serializers.ChoiceField(choices=GAMES)
    idempotency_key = serializers.CharField(min_length=1, max_length=150)


class PurchaseCheckInput(serializers.Serializer):
    """A purchase as it will be sent, before the player pays (no payment_id yet)."""

    user_id = StrictIntegerField(min_value=1, max_value=MAX_PLAYER_ID, source="player_id")
    tokens = StrictIntegerField(min_value=1, max_value=MAX_TOKENS)
    amount_paid = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    currency = serializers.RegexField(r"^[A-Z]{3}$", help_text="ISO 4217, e.g. KRW.")


class PurchaseInput(PurchaseCheckInput):
    payment_id = serializers.CharField(
        min_length=1,
        max_length=150,
        help_text="The payment provider's id: the purchase's idempotency key, the same whichever service reports it.",
    )


class PurchaseCheckOutput(serializers.Serializer):
    allowed = serializers.BooleanField(help_text="Always true: a refusal is the purchase's own 409.")


class RefundInput(serializers.Serializer):
    payment_id = serializers.CharField(
        min_length=1, max_length=150, help_text="The payment provider's id of the purchase to reverse."
    )
    kind = serializers.ChoiceField(choices=["refund", "chargeback"])
    reason = serializers.CharField(min_length=1, max_length=500, help_text="As the payment provider gave it.")


class LedgerEntryOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # the field is named "source"
    amount = serializers.IntegerField()
    balance_after = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    details = serializers.DictField()


class LedgerResultOutput(serializers.Serializer):
    user_id = serializers.IntegerField(source="entry.player_id")
    entry = LedgerEntryOutput()
    balance = serializers.IntegerField(source="entry.balance_after")


class WalletOutput(serializers.Serializer):
    user_id = serializers.IntegerField()
    balance = serializers.IntegerField()
    recent = LedgerEntryOutput(many=True)


class RefundOutput(serializers.Serializer):
    user_id = serializers.IntegerField(source="refund.player_id")
    payment_id = serializers.CharField(source="refund.payment_id")
    kind = serializers.CharField(source="refund.kind")
    reason = serializers.CharField(source="refund.reason")
    purchased_tokens = serializers.IntegerField(source="refund.tokens", help_text="Tokens the purchase bought.")
    recovered_tokens = serializers.IntegerField(
        source="refund.recovered", help_text="Tokens taken back: what the balance still held, up to those bought."
    )
    unrecovered_tokens = serializers.IntegerField(
        source="refund.unrecovered", help_text="Tokens the player had spent already: not taken back, recorded."
    )
    balance = serializers.IntegerField(help_text="The balance once the refund was recorded.")
    entry = LedgerEntryOutput(
        source="refund.entry", allow_null=True, help_text="The REFUND ledger row; null when the balance held nothing."
    )
    refunded_at = serializers.DateTimeField(source="refund.created_at")
