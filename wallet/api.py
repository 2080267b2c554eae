from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import MAX_PLAYER_ID, ServicePrincipal, player_id_of
from core.exceptions import NotFound
from core.permissions import IsPlayer, IsService, IsStaff
from core.scopes import Scope
from wallet import selectors, services
from wallet.serializers import (
    LedgerResultOutput,
    PurchaseCheckInput,
    PurchaseCheckOutput,
    PurchaseInput,
    RefundInput,
    RefundOutput,
    SpendInput,
    WalletOutput,
)

_REFUSED = OpenApiResponse(description="Refused: balance, spend limit, cool-off or self-exclusion (body says which).")
_PURCHASE_REFUSED = OpenApiResponse(
    description="Refused: self-exclusion (self_excluded), cool-off (cooling_off) or the monthly purchase limit "
    "(purchase_limit_reached, naming tokens and what is left this month)."
)
_REUSED = OpenApiResponse(description="The idempotency key was used with a different request.")


def _ledger_response(result: services.LedgerResult) -> Response:
    """A retry gets the first answer again, status and body alike (as Stripe does), marked only by the
    header ``Idempotent-Replayed: true``. The body is built from the stored ledger row alone."""
    response = Response(LedgerResultOutput(result).data, status=status.HTTP_201_CREATED)
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _actor(request: Request) -> str:
    return str(getattr(request.user, "name", "") or getattr(request.user, "username", ""))


def _api_key_id(request: Request) -> int:
    """The calling service's API key (``IsService`` admitted it): the scope of the idempotency keys it chooses."""
    assert isinstance(request.user, ServicePrincipal)
    return request.user.key_id


class SpendApi(APIView):
    permission_classes = [IsService]
    required_scope = Scope.WALLET_SPEND

    @extend_schema(
        request=SpendInput, responses={201: LedgerResultOutput, 409: _REFUSED, 422: _REUSED}, tags=["wallet"]
    )
    def post(self, request: Request) -> Response:
        data = SpendInput(data=request.data)
        data.is_valid(raise_exception=True)
        return _ledger_response(
            services.wallet_spend(**data.validated_data, actor=_actor(request), api_key_id=_api_key_id(request))
        )


class PurchaseApi(APIView):
    permission_classes = [IsService]
    required_scope = Scope.WALLET_PURCHASE

    @extend_schema(
        request=PurchaseInput,
        responses={201: LedgerResultOutput, 409: _PURCHASE_REFUSED, 422: _REUSED},
        tags=["wallet"],
    )
    def post(self, request: Request) -> Response:
        data = PurchaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        v: dict[str, Any] = dict(data.validated_data)
        v["amount_paid"] = str(v["amount_paid"])
        return _ledger_response(services.wallet_purchase(**v, actor=_actor(request)))


class PurchaseCheckApi(APIView):
    """Whether a purchase would be accepted now, asked before the player pays: the purchase's own rules (self-exclusion,
    cool-off, monthly purchase limit), nothing written. The purchase decides again when it is recorded."""

    permission_classes = [IsService]
    required_scope = Scope.WALLET_PURCHASE

    @extend_schema(
        request=PurchaseCheckInput,
        responses={200: PurchaseCheckOutput, 409: _PURCHASE_REFUSED},
        tags=["wallet"],
    )
    def post(self, request: Request) -> Response:
        data = PurchaseCheckInput(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        services.wallet_purchase_check(player_id=v["player_id"], tokens=v["tokens"])
        return Response(PurchaseCheckOutput({"allowed": True}).data)


class RefundApi(APIView):
    """A purchase reversed by the payment provider (refund or chargeback): the tokens the balance still holds, up to
    those bought, are taken back; the rest, spent already, is recorded (docs/decisions/0024). Once per payment: a
    second report answers the first (``Idempotent-Replayed: true``)."""

    permission_classes = [IsService]
    required_scope = Scope.WALLET_REFUND

    @extend_schema(
        request=RefundInput,
        responses={201: RefundOutput, 404: OpenApiResponse(description="No purchase with this payment_id.")},
        tags=["wallet"],
    )
    def post(self, request: Request) -> Response:
        data = RefundInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.wallet_refund(**data.validated_data, actor=_actor(request))
        response = Response(RefundOutput(result).data, status=status.HTTP_201_CREATED)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response


def _wallet_body(player_id: int) -> dict[str, Any]:
    return WalletOutput(
        {
            "user_id": player_id,
            "balance": selectors.wallet_balance(player_id=player_id).balance,
            "recent": selectors.ledger_recent(player_id=player_id),
        }
    ).data


class MyWalletApi(APIView):
    permission_classes = [IsPlayer]

    @extend_schema(responses=WalletOutput, tags=["wallet"])
    def get(self, request: Request) -> Response:
        return Response(_wallet_body(player_id_of(request)))


class UserWalletApi(APIView):
    permission_classes = [IsService | IsStaff]
    required_scope = Scope.WALLET_READ

    @extend_schema(responses=WalletOutput, tags=["wallet"])
    def get(self, request: Request, user_id: int) -> Response:
        if not 0 < user_id <= MAX_PLAYER_ID:  # players.id is a bigint: anything past it is no player
            raise NotFound(f"No player {user_id}.")
        return Response(_wallet_body(user_id))
