"""DRF throttles per player and per service key (issue 13, item 3): 429 with ``Retry-After``.

Rates come from ``settings.THROTTLE_RATES`` (``{"player": "300/min", "service": "60000/min"}``; None turns one off:
tests and benches). Counted in fixed windows with the cache's atomic increment (``caches["default"]``: Redis in
production, so the count is shared by every process): one cache round trip per throttled request, where DRF's own
``SimpleRateThrottle`` reads and rewrites the whole list of the window's request times (two round trips and a value
that grows with the rate, and two concurrent requests can both be counted as one). A fixed window lets a client send
up to twice the rate across a window's boundary; for a bound on abuse that is enough. A cache that fails lets the
request through (throttling must not take the API down with it) and logs it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from core.auth import PlayerPrincipal, ServicePrincipal
from core.redis_faults import redis_failure_record

logger = logging.getLogger(__name__)


class _FixedWindowThrottle(SimpleRateThrottle):
    def __init__(self) -> None:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        self._retry_after: float | None = None

    def get_rate(self) -> str | None:
        return settings.THROTTLE_RATES.get(str(self.scope))

    def caller(self, request: Request) -> str | None:
        raise NotImplementedError

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        caller = self.caller(request)
        return None if caller is None else f"throttle:{self.scope}:{caller}"

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        base = self.get_cache_key(request, view)
        if base is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        key = f"{base}:{window}"
        try:
            try:
                count = self.cache.incr(key)
            except ValueError:  # the window's first request
                count = 1 if self.cache.add(key, 1, timeout=self.duration + 1) else self.cache.incr(key)
        except Exception as exc:  # noqa: BLE001 - Redis down or hung: logged by redis_failure_record
            redis_failure_record(logger, exc, "throttle %s: the cache failed; the request goes through", self.scope)
            return True
        if count <= self.num_requests:
            return True
        self._retry_after = max(1.0, (window + 1) * self.duration - now)
        return False

    def wait(self) -> float | None:
        return self._retry_after


class PlayerRateThrottle(_FixedWindowThrottle):
    """Each player (Bearer token): ``THROTTLE_RATES["player"]``."""

    scope = "player"

    def caller(self, request: Request) -> str | None:
        user = request.user
        return str(user.player_id) if isinstance(user, PlayerPrincipal) else None


class ServiceRateThrottle(_FixedWindowThrottle):
    """Each service key (Api-Key): ``THROTTLE_RATES["service"]``."""

    scope = "service"

    def caller(self, request: Request) -> str | None:
        user = request.user
        return str(user.key_id) if isinstance(user, ServicePrincipal) else None
