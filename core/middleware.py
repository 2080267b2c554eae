"""Request limits applied before any view, parser or authentication runs (issue 13, item 3)."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.exceptions import error_body


def request_too_large_response(limit: int) -> JsonResponse:
    message = f"The request body is larger than {limit} bytes, the most this API accepts."
    return JsonResponse(error_body("request_too_large", message, {"body": [message]}), status=413)


class RequestBodyLimitMiddleware:
    """413 for a request whose ``Content-Length`` is over ``REQUEST_BODY_MAX_BYTES``, before anything reads its body
    (400 for a ``Content-Length`` that is not a number). First in MIDDLEWARE: costs one header read per request.

    A chunked body (no ``Content-Length``) gets 411: Django's WSGI request would read it as empty. Past this check,
    our JSON parser still reads at most the limit plus one byte (``core.parsers``), and Django's own ``request.body``
    and form parsing stop at ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (set to the same limit).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH")
        if not length and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            # Django's WSGI request reads a body without Content-Length as empty: say so rather than answer as if
            # nothing had been sent.
            message = "A request body needs a Content-Length (chunked transfer encoding is not accepted)."
            return JsonResponse(error_body("length_required", message, {"Content-Length": [message]}), status=411)
        if length:
            try:
                declared = int(length)
            except ValueError:
                message = "Content-Length must be a number of bytes."
                return JsonResponse(error_body("bad_request", message, {"Content-Length": [message]}), status=400)
            limit = settings.REQUEST_BODY_MAX_BYTES
            if declared > limit:
                return request_too_large_response(limit)
        return self.get_response(request)
