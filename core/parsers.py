from __future__ import annotations

from typing import Any

import orjson
from django.conf import settings
from rest_framework import status
from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser

BODY_MAY_CONTAIN_NUL = "body_may_contain_nul"  # attribute set on the DRF request by ORJSONParser


class RequestTooLarge(APIException):
    """A body past ``REQUEST_BODY_MAX_BYTES`` (413), refused before it is parsed (``core.exceptions`` answers it)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"

    def __init__(self, limit: int) -> None:
        super().__init__(f"The request body is larger than {limit} bytes, the most this API accepts.")


class ORJSONParser(BaseParser):
    """JSON bodies parsed with orjson (several times faster than json on large batches).

    It also notes on the request whether any string of the body can hold U+0000
    (``body_may_contain_nul(request)``): a scan of the raw bytes, far cheaper than a walk of the data.

    It reads at most ``REQUEST_BODY_MAX_BYTES`` and one byte more: a body past the limit is a 413 before any of it is
    parsed, whatever the stream (``core.middleware`` refuses a declared ``Content-Length`` past it earlier still).
    """

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        limit = settings.REQUEST_BODY_MAX_BYTES
        raw = stream.read(limit + 1)
        if len(raw) > limit:
            raise RequestTooLarge(limit)
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error: {exc}") from exc
        request = (parser_context or {}).get("request")
        if request is not None:
            setattr(request, BODY_MAY_CONTAIN_NUL, may_contain_nul(raw))
        return data


def may_contain_nul(serialized: bytes) -> bool:
    """Whether JSON text can decode to a string holding U+0000 (JSON can only write it as ``\\u0000``).

    A memchr for a backslash first: most bodies have none, and the check then costs nothing.
    """
    return b"\\" in serialized and b"\\u0000" in serialized


def body_may_contain_nul(request: Any) -> bool:
    """After ``request.data``: False only when ORJSONParser saw that no string of the body holds U+0000."""
    return bool(getattr(request, BODY_MAY_CONTAIN_NUL, True))
