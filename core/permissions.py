"""Permission classes by caller kind. Combine with ``|`` (``IsService | IsStaff``)."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


def _kind(request: Request) -> str | None:
    user = request.user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "kind", "staff" if getattr(user, "is_staff", False) else "user")


class IsService(BasePermission):
    message = "This endpoint is for trusted services (Api-Key)."

    def has_permission(self, request: Request, view: Any) -> bool:
        return _kind(request) == "service"


class IsPlayer(BasePermission):
    message = "This endpoint is for players (Bearer token)."

    def has_permission(self, request: Request, view: Any) -> bool:
        return _kind(request) == "player"


class IsStaff(BasePermission):
    message = "This endpoint is for staff."

    def has_permission(self, request: Request, view: Any) -> bool:
        return _kind(request) == "staff"
