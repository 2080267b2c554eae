"""Tests: the same settings, with fast password hashing.

With DATABASE_URL / REDIS_URL set the suite runs against PostgreSQL / Redis;
without them, against SQLite and the local-memory cache.
"""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
API_KEY_CACHE_SECONDS = 0
