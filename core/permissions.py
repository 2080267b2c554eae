"""Permission classes by caller kind. Combine with ``|`` (``IsService | IsStaff``).

A view that admits services names the scope a key needs on the view (``required_scope = Scope.INGEST``, see
``core.scopes``); ``IsService`` checks it, so no service endpoint can forget it: a view without one admits no key.
A key without the scope gets 403 naming it. Players and staff are not concerned (their own classes).
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
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
        if _kind(request) != "service":
            return False
        scope = getattr(view, "required_scope", None)
        if scope is None:
            raise PermissionDenied("This endpoint declares no scope, so no API key may call it.", code="missing_scope")
        if scope not in getattr(request.user, "scopes", ()):
            raise PermissionDenied(f"This API key lacks the scope '{scope}'.", code="missing_scope")
        return True


class IsPlayer(BasePermission):
    message = "This endpoint is for players (Bearer token)."

    def has_permission(self, request: Request, view: Any) -> bool:
        return _kind(request) == "player"


class IsStaff(BasePermission):
    message = "This endpoint is for staff."

    def has_permission(self, request: Request, view: Any) -> bool:
        return _kind(request) == "staff"
