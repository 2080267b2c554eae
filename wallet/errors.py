"""Why the wallet refuses (each becomes a 409 or 422 in the API, with a clear message)."""

from __future__ import annotations

from core.exceptions import DomainError


class InsufficientBalance(DomainError):
    code = "insufficient_balance"


class SpendLimitReached(DomainError):
    code = "spend_limit_reached"


class PurchaseLimitReached(DomainError):
    """A purchase would pass the player's monthly purchase limit."""

    code = "purchase_limit_reached"


class PlayerCoolingOff(DomainError):
    code = "cooling_off"


class PlayerSelfExcluded(DomainError):
    code = "self_excluded"


class IdempotencyKeyReused(DomainError):
    """The same idempotency key came with a different request (IETF Idempotency-Key draft: 422)."""

    status_code = 422
    code = "idempotency_key_reused"
