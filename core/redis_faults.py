"""Redis calls that fail at once while Redis is not answering (issue 13, item 7; docs/decisions/0023).

Every Redis client the project builds (both django-redis caches, the hot store's bulk client) takes its connections
from ``FailFastConnectionPool``. When a call cannot connect, or gets no answer within its timeout
(``REDIS_SOCKET_TIMEOUT_SECONDS``), this process stops asking Redis for ``REDIS_RETRY_AFTER_SECONDS``: every call in
that time raises ``RedisPaused`` (a redis-py ``ConnectionError``) without touching the network, and its caller falls
back as it would from the timeout itself. Then the next calls ask Redis again. So a hung Redis costs each process one
timeout per interval, not one per call: with several Redis calls in a request and a few threads per process, a
timeout per call would hold every thread (measured: bench/faults.py, docs/performance.md).

This module imports no Django model and reads the interval from settings at each failure.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

_paused_until = 0.0  # time.monotonic() before which calls fail at once (a float: its writes are atomic)


class RedisPaused(RedisConnectionError):
    """Redis did not answer a call a moment ago: this one is not sent (``REDIS_RETRY_AFTER_SECONDS``)."""


def redis_paused() -> bool:
    return time.monotonic() < _paused_until


def redis_pause_clear() -> None:
    """Ask Redis again from the next call (tests, between tests)."""
    global _paused_until
    _paused_until = 0.0


def redis_failure_record(log: logging.Logger, exc: BaseException, message: str, *args: Any) -> None:
    """Count a failed Redis call (``tokenloop_dependency_errors_total``) and log it for the caller, which falls back.

    Redis not answering (down, hung past its timeout, or paused after one of those) is one warning line: the pause's
    own warning says when the outage began, and a traceback a call would bury the log while it lasts (a request makes
    several Redis calls). Any other error (a script's, a bug) is an error with its traceback."""
    from core.metrics import dependency_error_record

    dependency_error_record(exc)
    if isinstance(exc, (RedisConnectionError, RedisTimeoutError)):
        log.warning(message + " (%s: %s)", *args, type(exc).__name__, exc)
    else:
        log.error(message, *args, exc_info=exc)


def _pause(exc: BaseException) -> None:
    global _paused_until
    from django.conf import settings

    seconds = float(getattr(settings, "REDIS_RETRY_AFTER_SECONDS", 0.0))
    if seconds <= 0 or isinstance(exc, RedisPaused):
        return
    if not redis_paused():
        logger.warning("redis: %s; calls fail at once for %.1f s", exc.__class__.__name__, seconds)
    _paused_until = time.monotonic() + seconds


class _FailFast:
    """Mixed into a redis-py connection class: ``connect`` (every call starts with it, through the pool) refuses while
    paused; a connection or timeout error anywhere starts a pause."""

    def connect(self) -> Any:
        if redis_paused():
            raise RedisPaused("Redis gave no answer a moment ago; not asked again yet")
        try:
            return super().connect()  # type: ignore[misc]
        except (RedisConnectionError, RedisTimeoutError) as exc:
            _pause(exc)
            raise

    def send_packed_command(self, command: Any, check_health: bool = True) -> Any:
        try:
            return super().send_packed_command(command, check_health)  # type: ignore[misc]
        except (RedisConnectionError, RedisTimeoutError) as exc:
            _pause(exc)
            raise

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().read_response(*args, **kwargs)  # type: ignore[misc]
        except (RedisConnectionError, RedisTimeoutError) as exc:
            _pause(exc)
            raise


_FAIL_FAST_CLASSES: dict[type[Any], type[Any]] = {}


def _fail_fast(connection_class: type[Any]) -> type[Any]:
    if issubclass(connection_class, _FailFast):
        return connection_class
    if connection_class not in _FAIL_FAST_CLASSES:
        name = f"FailFast{connection_class.__name__}"
        _FAIL_FAST_CLASSES[connection_class] = type(name, (_FailFast, connection_class), {})
    return _FAIL_FAST_CLASSES[connection_class]


class FailFastConnectionPool(redis.ConnectionPool):
    """redis-py's pool, its connections (TCP, TLS or Unix, as the URL says) failing fast as above. For django-redis:
    ``OPTIONS["CONNECTION_POOL_CLASS"] = "core.redis_faults.FailFastConnectionPool"``."""

    def __init__(self, connection_class: type[Any] = redis.Connection, **kwargs: Any) -> None:
        super().__init__(connection_class=_fail_fast(connection_class), **kwargs)
