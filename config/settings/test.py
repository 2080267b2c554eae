"""Tests: the same settings, with fast password hashing.

With DATABASE_URL / REDIS_URL set the suite runs against PostgreSQL / Redis;
without them, against SQLite and the local-memory cache.
"""

from .base import *  # noqa: F403

# No collectstatic before tests, so WhiteNoise would warn that STATIC_ROOT is missing; live_server serves static
# files itself.
MIDDLEWARE = [m for m in MIDDLEWARE if m != "whitenoise.middleware.WhiteNoiseMiddleware"]  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Every request reads the keys again (no reload thread: it would read outside the test's transaction), so a test
# sees a key it changed at once.
API_KEY_REFRESH_SECONDS = 0.0
QUIZ_VERSIONS_REFRESH_SECONDS = 0.0  # the same for the quiz's published versions
THROTTLE_RATES = {"player": None, "service": None}  # no throttling; tests that are about it set a rate
# No reload thread in tests (it would read the database outside the test's transaction): a test's process reads the
# revocations once per test (the caches are emptied between tests) and again after each revocation it makes.
PLAYER_TOKEN_REVOCATIONS_REFRESH_SECONDS = 3600.0
RECOMMENDATION_IMPRESSIONS_FLUSH_SECONDS = 0.0  # each request writes its impressions at once (no thread)
# No standing holdout: which test player ids fall in a 5% holdout is an accident of the hash, and a test that serves a
# recommendation expects its proposals; the holdout's own tests (tests/recommendations/test_holdout.py) set a share.
RECOMMENDATION_HOLDOUT_SHARE = 0.0
# The nightly loop job on the test's own connection (another connection cannot see the test's rows); the parallel path
# has its own test, on committed rows.
RECOMMENDATION_NIGHTLY_WORKERS = 1
# Company A's test events carry fixed dates (November 2026); the bounds' own tests set the production numbers.
CORPORATE_WEBHOOK_EVENT_MAX_AGE_DAYS = 36500

# The embedded default's hot store is a SQLite file: one per test process, so parallel runs never share it.
if "hot" in CACHES and CACHES["hot"]["BACKEND"] == "core.sqlite_cache.SQLiteCache":  # noqa: F405
    import os
    import tempfile

    CACHES["hot"]["LOCATION"] = os.path.join(tempfile.gettempdir(), f"tokenloop-test-hot-{os.getpid()}.sqlite3")  # noqa: F405
