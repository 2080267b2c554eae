"""How our callers authenticate, for the OpenAPI document (drf-spectacular).

Each operation lists only the schemes its permission admits: ``IsService`` views show
``ApiKey``, ``IsPlayer`` views ``PlayerJWT``, ``IsStaff`` views the session cookie.
Imported by ``CoreConfig.ready`` so the extensions are registered before a schema is built.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.permissions import AND, OR, BasePermission

from core.permissions import IsPlayer, IsService, IsStaff
from core.scopes import Scope

ALL_KINDS = frozenset({"service", "player", "staff"})
_KIND_OF = {IsService: "service", IsPlayer: "player", IsStaff: "staff"}


def _kinds(permission: Any) -> frozenset[str]:
    """Caller kinds a permission can admit (any kind when it does not say)."""
    if isinstance(permission, OR):
        return _kinds(getattr(permission, "op1", None)) | _kinds(getattr(permission, "op2", None))
    if isinstance(permission, AND):
        return _kinds(getattr(permission, "op1", None)) & _kinds(getattr(permission, "op2", None))
    kind = _KIND_OF.get(type(permission)) if isinstance(permission, BasePermission) else None
    return frozenset({kind}) if kind else ALL_KINDS


def admitted_kinds(view: Any) -> frozenset[str]:
    kinds = ALL_KINDS
    for permission in view.get_permissions():
        kinds &= _kinds(permission)
    return kinds


class _KindScheme(OpenApiAuthenticationExtension):
    kind = ""
    name = ""

    def get_security_requirement(self, auto_schema: Any) -> list[dict[str, list[Any]]]:
        if self.kind not in admitted_kinds(auto_schema.view):
            return []
        return [{str(self.name): []}]

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        raise NotImplementedError


class ApiKeyScheme(_KindScheme):
    target_class = "core.auth.ApiKeyAuthentication"
    name = "ApiKey"
    kind = "service"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Api-Key <key>` (trusted services; keys from `manage.py create_api_key`). Each operation needs one "
                "scope of the key (403 `missing_scope` naming it without; 401 for an expired or revoked key): "
                + "; ".join(f"`{scope.value}`: {scope.label}" for scope in Scope)
                + "."
            ),
        }


class PlayerJWTScheme(_KindScheme):
    target_class = "core.auth.PlayerJWTAuthentication"
    match_subclasses = True  # settings name players.auth's subclass (revocation)
    name = "PlayerJWT"
    kind = "player"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "Player token: HS256 with a `kid` header; `sub` = player id, `iss`, `aud`, `iat`, `exp`.",
        }


class StaffSessionScheme(_KindScheme):
    target_class = "rest_framework.authentication.SessionAuthentication"
    name = "cookieAuth"
    kind = "staff"
    priority = 1  # replaces drf-spectacular's own session scheme

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "Staff session (log in at /admin/).",
        }


_ERROR_SCHEMA = {
    "type": "object",
    "description": "Every error's body (core.exceptions).",
    "properties": {
        "error": {"type": "string"},
        "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["error", "message"],
}


def shared_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the error answers operations share, declared once as components and
    referenced where an operation does not declare its own (each with the one error body of ``core.exceptions``):

    - 400 on each operation that takes a body or parameters (a bad field, named);
    - 401 and 403 on each secured operation (no or bad credentials; another kind of caller, a missing scope);
    - 404 on each operation with a path parameter (no such object);
    - 413 on each operation that takes a body (issue 13, item 3);
    - 429 with ``Retry-After`` on each one a service key or a player token calls (the throttled callers);
    - 503 with ``Retry-After`` on every operation: the database cannot be reached just now (a restart, a failover);
      nothing was changed and the same request may be sent again (``core.exceptions.database_unavailable``).
    """
    components = result.setdefault("components", {})
    components.setdefault("schemas", {}).setdefault("Error", _ERROR_SCHEMA)
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    components.setdefault("responses", {}).update(
        {
            "InvalidInput": {"description": "A bad field or parameter, each named in `fields`.", "content": error},
            "Unauthenticated": {"description": "No credentials, or ones that are not valid.", "content": error},
            "Forbidden": {
                "description": "Another kind of caller, a key without the operation's scope, or another player.",
                "content": error,
            },
            "NotFound": {"description": "No such object.", "content": error},
            "RequestTooLarge": {"description": "The body is larger than REQUEST_BODY_MAX_BYTES.", "content": error},
            "Throttled": {
                "description": "Too many requests from this player or key (THROTTLE_RATES).",
                "headers": {
                    "Retry-After": {
                        "description": "Seconds until a request is accepted.",
                        "schema": {"type": "integer"},
                    }
                },
                "content": error,
            },
            "ServiceUnavailable": {
                "description": "The database cannot be reached just now; nothing was changed. Send the same request "
                "again after Retry-After.",
                "headers": {
                    "Retry-After": {
                        "description": "Seconds to wait before sending the request again.",
                        "schema": {"type": "integer"},
                    }
                },
                "content": error,
            },
        }
    )
    throttled = {"ApiKey", "PlayerJWT"}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            parameters = operation.get("parameters", [])
            if "requestBody" in operation or parameters:
                responses.setdefault("400", {"$ref": "#/components/responses/InvalidInput"})
            if operation.get("security"):
                responses.setdefault("401", {"$ref": "#/components/responses/Unauthenticated"})
                responses.setdefault("403", {"$ref": "#/components/responses/Forbidden"})
            if any(p.get("in") == "path" for p in parameters):
                responses.setdefault("404", {"$ref": "#/components/responses/NotFound"})
            if "requestBody" in operation:
                responses.setdefault("413", {"$ref": "#/components/responses/RequestTooLarge"})
            if any(throttled & set(requirement) for requirement in operation.get("security", [])):
                responses.setdefault("429", {"$ref": "#/components/responses/Throttled"})
            responses.setdefault("503", {"$ref": "#/components/responses/ServiceUnavailable"})
    return result
