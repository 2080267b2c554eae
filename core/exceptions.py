"""Domain errors and the one place they become HTTP answers.

Every error body has the same shape::

    {"error": "<code>", "message": "<human text>", "fields": {"<path>": ["<problem>", ...]}}

`fields` appears for validation errors; paths name each bad field, with list
indexes in brackets (``actions[3].metadata.bet``).
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponseBase, JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from core.metrics import dependency_error_record

logger = logging.getLogger(__name__)

SERVER_ERROR_MESSAGE = "An unexpected error occurred. It has been logged; please retry later."
DATABASE_UNAVAILABLE_MESSAGE = "The service's database cannot be reached just now; nothing was changed. Please retry."

# PostgreSQL's SQLSTATEs that say the server cannot be used now, not that the statement was wrong: class 08
# (connection exceptions), too many connections, and the operator's shutdowns (admin, crash, still starting up).
_UNAVAILABLE_SQLSTATES = frozenset({"53300", "57P01", "57P02", "57P03"})
# SQLite's: the file is locked by another writer for longer than the timeout, or cannot be opened.
_UNAVAILABLE_SQLITE_ERRORS = frozenset({"SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_CANTOPEN"})


class DomainError(Exception):
    """A rule of the domain refused the request. Services raise these."""

    status_code: int = status.HTTP_409_CONFLICT
    code: str = "conflict"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidInput(DomainError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "validation_error"


class NotFound(DomainError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class Forbidden(DomainError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "forbidden"


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into ``{"a.b[2].c": ["..."]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if key == "non_field_errors":
                path = prefix or "non_field_errors"
            elif isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            for p, msgs in flatten_errors(value, path).items():
                out.setdefault(p, []).extend(msgs)
    elif isinstance(detail, list):
        if all(not isinstance(x, (dict, list)) for x in detail):
            out.setdefault(prefix or "non_field_errors", []).extend(str(x) for x in detail)
        else:
            for i, value in enumerate(detail):
                if value:
                    for p, msgs in flatten_errors(value, f"{prefix}[{i}]").items():
                        out.setdefault(p, []).extend(msgs)
    else:
        out.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return out


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "message": message}
    if fields:
        body["fields"] = fields
    return body


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` (one of Django's database errors) says the database cannot be reached now (a restart or a
    failover under way, a refused, dropped or timed-out connection, a locked SQLite file) rather than that the request
    or the code is wrong. Such a request is answered 503 with ``Retry-After``: its transaction never committed, and
    the same request sent again is safe (every write path is idempotent by its key)."""
    if isinstance(exc, InterfaceError):  # Django's "connection already closed"
        return True
    if not isinstance(exc, OperationalError):
        return False
    cause = exc.__cause__
    sqlite_error = getattr(cause, "sqlite_errorname", None)
    if sqlite_error is not None:
        return sqlite_error in _UNAVAILABLE_SQLITE_ERRORS
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate is None:  # psycopg: no answer from a server at all (refused, closed, timed out)
        return True
    return sqlstate.startswith("08") or sqlstate in _UNAVAILABLE_SQLSTATES


def database_unavailable_response() -> JsonResponse:
    """The answer to a request that found the database unreachable (``database_unavailable``): 503, the error body,
    ``Retry-After``. DRF views' (``api_exception_handler``) and plain API views' (``core.views.server_error``)."""
    response = JsonResponse(error_body("service_unavailable", DATABASE_UNAVAILABLE_MESSAGE), status=503)
    response["Retry-After"] = str(settings.DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS)
    return response


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> HttpResponseBase | None:
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)
    if isinstance(exc, drf_exceptions.ValidationError):
        fields = flatten_errors(exc.detail)
        return Response(error_body("validation_error", "Invalid input.", fields), status=400)
    if isinstance(exc, drf_exceptions.APIException) and exc.status_code == status.HTTP_413_REQUEST_ENTITY_TOO_LARGE:
        # core.parsers.RequestTooLarge: the body is what is wrong
        return Response(error_body("request_too_large", str(exc.detail), {"body": [str(exc.detail)]}), status=413)
    if isinstance(exc, drf_exceptions.ParseError):
        return Response(error_body("parse_error", str(exc.detail), {"body": [str(exc.detail)]}), status=400)
    response = drf_exception_handler(exc, context)
    if response is None and database_unavailable(exc):
        # one warning line, no traceback: the cause is outside the code
        request = context.get("request")
        dependency_error_record(exc)
        logger.warning(
            "database unavailable in %s %s: %s", getattr(request, "method", "?"), getattr(request, "path", "?"), exc
        )
        set_rollback()
        return database_unavailable_response()
    if response is None:
        # Not an error DRF knows (a bug, the database or Redis failing): a JSON 500, the traceback in the log.
        request = context.get("request")
        dependency_error_record(exc)
        logger.error(
            "unhandled exception in %s %s", getattr(request, "method", "?"), getattr(request, "path", "?"), exc_info=exc
        )
        set_rollback()
        return Response(error_body("server_error", SERVER_ERROR_MESSAGE), status=500)
    if isinstance(exc, drf_exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        response.data = error_body(code, str(exc.detail))
    return response
