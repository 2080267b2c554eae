"""Settings shared by every environment, read from the environment (12-factor).

Nothing here needs a server: with no variables set the project runs on the
embedded default (SQLite file, local-memory cache, Celery tasks in-process).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# Development defaults of the secrets (local and test settings use them). Production refuses every one of them
# (core.checks, corporate.checks): a token or a signature made with a value published here is never accepted there.
DEV_SECRET_KEY = "dev-insecure-change-me"
DEV_PLAYER_JWT_SECRET = "dev-player-jwt-secret-change-me-32b"
DEV_CORPORATE_WEBHOOK_SECRET = "whsec_ZGV2LWNvcnBvcmF0ZS13ZWJob29rLXNlY3JldA=="
DEVELOPMENT_SECRETS = frozenset({DEV_SECRET_KEY, DEV_PLAYER_JWT_SECRET, DEV_CORPORATE_WEBHOOK_SECRET})
# Production settings set this: the system checks then refuse DEBUG and missing, weak or development secrets.
PRODUCTION = False

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "core",
    "texts",
    "players",
    "activity",
    "wallet",
    "notifications",
    "corporate",
    "segments",
    "quiz",
    "content",
    "recommendations",
    "predictions",
    "analytics",
    "operations",
    "webclient",
]

MIDDLEWARE = [
    # Outermost: every request counted and timed by its route pattern (core.metrics; docs/decisions/0020).
    "core.metrics.RequestMetricsMiddleware",
    # Then: a body past REQUEST_BODY_MAX_BYTES is refused (413) before anything reads it.
    "core.middleware.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files (admin, API docs) served by the app under granian: from the apps' static directories while
    # DEBUG is on, else from STATIC_ROOT (`manage.py collectstatic`; `make run` runs it).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: DATABASE_URL (PostgreSQL in production), SQLite file by default.
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
# A kept connection is checked (one SELECT 1) before the first query of each request and replaced if the server
# closed it (a PostgreSQL restart or failover, an idle timeout): without it that request would fail with a 500.
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("DB_CONN_HEALTH_CHECKS", default=True))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the dev server read while a command writes; wait instead of failing on a lock.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Parameters bound by the server, and a statement run more than DB_PREPARE_THRESHOLD times on a
    # connection is prepared once (parsed and planned once): docs/decisions/0010. Behind a pooler in
    # transaction mode without prepared-statement support, set DB_PREPARE_THRESHOLD=-1 to turn it off.
    _threshold = env.int("DB_PREPARE_THRESHOLD", default=2)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "server_side_binding": env.bool("DB_SERVER_SIDE_BINDING", default=True),
            "prepare_threshold": None if _threshold < 0 else _threshold,
            # A server that does not answer (a host lost in a failover) fails the connection after this, rather than
            # holding the request's thread for the operating system's TCP timeout (minutes).
            "connect_timeout": env.int("DB_CONNECT_TIMEOUT_SECONDS", default=3),
        }
    )
# While the database cannot be reached (a restart, a failover, a refused connection), API requests answer 503 with
# this Retry-After, not 500 (core.exceptions.database_unavailable).
DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS = env.int("DATABASE_UNAVAILABLE_RETRY_AFTER_SECONDS", default=2)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and hot metrics: REDIS_URL (Redis), local memory by default.
REDIS_URL = env.str("REDIS_URL", default="")
# Every Redis call gives up after these (issue 13 item 7; docs/decisions/0023), so a hung Redis never stalls a
# request: each caller then falls back as the design brief says (a recommendation without the live state, a balance
# from PostgreSQL, a Redis write skipped, logged and counted in tokenloop_dependency_errors_total). Connect, and each
# read of an answer, for a call about one player or a few (REDIS_BULK_KEYS keys at most; the request path):
REDIS_CONNECT_TIMEOUT_SECONDS = env.float("REDIS_CONNECT_TIMEOUT_SECONDS", default=0.05)
REDIS_SOCKET_TIMEOUT_SECONDS = env.float("REDIS_SOCKET_TIMEOUT_SECONDS", default=0.05)
# ... and for a bulk call (more keys: an ingest batch's one script, the nightly jobs, reconciliation), whose script
# alone runs tens to hundreds of milliseconds (5,000 players' activity: 70-150 ms measured on 2 cores).
REDIS_BULK_KEYS = env.int("REDIS_BULK_KEYS", default=256)
REDIS_BULK_SOCKET_TIMEOUT_SECONDS = env.float("REDIS_BULK_SOCKET_TIMEOUT_SECONDS", default=2.0)
# After a call that could not connect or timed out, each process fails every Redis call at once for this long, then
# asks again (core.redis_faults): a hung Redis costs a process one timeout per interval, not one per call, so its
# threads stay free. 0: no pause (every call waits for its own timeout).
REDIS_RETRY_AFTER_SECONDS = env.float("REDIS_RETRY_AFTER_SECONDS", default=1.0)
# Redis' copy of each balance expires this long after its last write (wallet.balance_cache), and the next read
# refills it from PostgreSQL: a write that failed (Redis down or hung at that moment) leaves a stale balance served
# for at most this long, not until the nightly reconciliation.
WALLET_BALANCE_CACHE_SECONDS = env.float("WALLET_BALANCE_CACHE_SECONDS", default=300.0)


def redis_caches(url: str) -> dict[str, dict[str, Any]]:
    """The two django-redis caches on ``url``, with the Redis timeouts above, their calls failing fast while Redis
    does not answer (tests point them elsewhere)."""
    options = {
        "CLIENT_CLASS": "django_redis.client.DefaultClient",
        "CONNECTION_POOL_CLASS": "core.redis_faults.FailFastConnectionPool",
        "SOCKET_CONNECT_TIMEOUT": REDIS_CONNECT_TIMEOUT_SECONDS,
        "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT_SECONDS,
    }
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_PREFIX": "tl",
            "OPTIONS": dict(options),
        },
        # Raw keyspace for the spec's hot metrics (user:{id}:streak_count, ...): no prefix, no version.
        "hot": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": url,
            "KEY_FUNCTION": "core.hotstore.raw_cache_key",
            "TIMEOUT": None,
            "OPTIONS": dict(options),
        },
    }


if REDIS_URL:
    CACHES = redis_caches(REDIS_URL)
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "tokenloop-default",
        },
        # Stands in for Redis' raw keyspace (user:{id}:...) on the embedded default: a SQLite file that
        # every process (server, commands) shares.
        "hot": {
            "BACKEND": "core.sqlite_cache.SQLiteCache",
            "LOCATION": env.str("HOT_CACHE_PATH", default=str(BASE_DIR / "var" / "hot.sqlite3")),
            "KEY_FUNCTION": "core.hotstore.raw_cache_key",
            "TIMEOUT": None,
        },
    }

# --- Celery: a broker makes tasks run on workers; without one they run in-process.
CELERY_TASK_ALWAYS_EAGER = not env.str("CELERY_BROKER_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or "memory://"
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- Business rules
BUSINESS_TIMEZONE = env.str("BUSINESS_TIMEZONE", default="Asia/Seoul")
TIME_ZONE = "UTC"
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = True

# Ingest limits (design brief 5): up to 5,000 actions per call.
ACTIONS_MAX_BATCH = env.int("ACTIONS_MAX_BATCH", default=5000)
# Accept action timestamps at most this far in the future (clock skew of game servers).
ACTIONS_MAX_FUTURE_SECONDS = env.int("ACTIONS_MAX_FUTURE_SECONDS", default=3600)

# --- Limits (issue 13, item 3; docs/decisions/0017)
# A request body past this is refused with 413 before anything parses it (core.middleware on Content-Length,
# core.parsers on what it reads; Django's request.body and forms through DATA_UPLOAD_MAX_MEMORY_SIZE). A full ingest
# batch of 5,000 actions with ordinary metadata is about 2 MB; a bigger one must be split.
REQUEST_BODY_MAX_BYTES = env.int("REQUEST_BODY_MAX_BYTES", default=8 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX_BYTES
# One action's metadata (activity.validation): its JSON in bytes, and how deep objects and lists nest in it.
ACTIONS_METADATA_MAX_BYTES = env.int("ACTIONS_METADATA_MAX_BYTES", default=4096)
ACTIONS_METADATA_MAX_DEPTH = env.int("ACTIONS_METADATA_MAX_DEPTH", default=5)
# Requests per player (Bearer token) and per service key (Api-Key), DRF's "N/s|min|hour|day" (core.throttles): past
# it, 429 with Retry-After. Empty: no limit (benches set both empty; tests run with none).
THROTTLE_RATES: dict[str, str | None] = {
    "player": env.str("THROTTLE_PLAYER_RATE", default="300/min") or None,
    "service": env.str("THROTTLE_SERVICE_RATE", default="60000/min") or None,
}

# --- Auth
# Player tokens (core.auth; docs/decisions/0017): HS256, signed with the secret of PLAYER_JWT_KID (named in the
# token's header), verified with the secret its kid names. A rotation: the new secret becomes PLAYER_JWT_SECRET under
# a new PLAYER_JWT_KID, the old one moves to PLAYER_JWT_OLD_SECRETS ("kid=secret,kid=secret") until every token it
# signed has expired, then is removed (its tokens are refused from then on).
PLAYER_JWT_SECRET = env.str("PLAYER_JWT_SECRET", default=DEV_PLAYER_JWT_SECRET)
PLAYER_JWT_KID = env.str("PLAYER_JWT_KID", default="k1")
PLAYER_JWT_SECRETS: dict[str, str] = {
    **env.dict("PLAYER_JWT_OLD_SECRETS", default={}),
    PLAYER_JWT_KID: PLAYER_JWT_SECRET,
}
PLAYER_JWT_ISSUER = env.str("PLAYER_JWT_ISSUER", default="tokenloop")
PLAYER_JWT_AUDIENCE = env.str("PLAYER_JWT_AUDIENCE", default="tokenloop-player")
PLAYER_JWT_TTL_SECONDS = env.int("PLAYER_JWT_TTL_SECONDS", default=3600)
# No token is accepted whose exp - iat is longer than this, whoever signed it.
PLAYER_JWT_MAX_LIFETIME_SECONDS = env.int("PLAYER_JWT_MAX_LIFETIME_SECONDS", default=24 * 3600)
# Each web process reads the recent token revocations again this often (players.auth): a revocation is refused
# everywhere within about this long (at once in the process that made it).
PLAYER_TOKEN_REVOCATIONS_REFRESH_SECONDS = env.float("PLAYER_TOKEN_REVOCATIONS_REFRESH_SECONDS", default=1.0)
# Verified player tokens kept per process until their exp (core.auth): a player's app repeats its token.
PLAYER_JWT_CACHE_SIZE = env.int("PLAYER_JWT_CACHE_SIZE", default=10_000)
# Each web process reads the service keys again this often (core.auth): a revoked key, a new scope or expiry is
# seen everywhere within twice this long (at once in the process that revoked it).
API_KEY_REFRESH_SECONDS = env.float("API_KEY_REFRESH_SECONDS", default=0.5)
# A key's last_used_at is written at most this often per process (by the key reload, not by the request).
API_KEY_LAST_USED_SECONDS = env.float("API_KEY_LAST_USED_SECONDS", default=60.0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.auth.ApiKeyAuthentication",
        "players.auth.PlayerTokenAuthentication",  # core.auth's player JWT, and its revocation
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.ORJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["core.throttles.ServiceRateThrottle", "core.throttles.PlayerRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.ORJSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "TokenLoop API",
    "DESCRIPTION": "Data and personalization backend: action log, players, protection.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package: the docs work with no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # "type" names several choice sets: each gets its own name.
    "ENUM_NAME_OVERRIDES": {"ProposalTypeEnum": "recommendations.engine.PROPOSAL_TYPES"},
    # Security schemes come from core/schema.py (one per caller kind, listed per operation).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.shared_responses",  # 400, 401, 403, 404, 413 and 429, declared once
    ],
}

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

from config.schedule import celery_beat_schedule, nightly_task_names  # noqa: E402

CELERY_BEAT_SCHEDULE = celery_beat_schedule()
NIGHTLY_TASKS = nightly_task_names()  # what `manage.py run_nightly` runs, in order
ANALYTICS_MAX_RANGE_DAYS = env.int("ANALYTICS_MAX_RANGE_DAYS", default=400)  # the analytics API's longest range

# --- Churn and lifetime-value predictions (spec 2.5.3; docs/predictions.md, docs/decisions/0030)
PREDICTIONS_CHURN_HORIZON_DAYS = env.int("PREDICTIONS_CHURN_HORIZON_DAYS", default=7)  # churn: no app activity in N
PREDICTIONS_LTV_HORIZON_DAYS = env.int("PREDICTIONS_LTV_HORIZON_DAYS", default=90)  # LTV: cash spend in the next H days
PREDICTIONS_KEEP_DAYS = env.int("PREDICTIONS_KEEP_DAYS", default=35)  # scores older than this are removed by scoring
# Training reads several past as-of dates; each keeps at most about this many players (a stable hash sample).
PREDICTIONS_TRAIN_MAX_PLAYERS_PER_DATE = env.int("PREDICTIONS_TRAIN_MAX_PLAYERS_PER_DATE", default=50_000)
# LightGBM's and XGBoost's OpenMP threads sleep while they wait instead of spinning: on a machine whose other core is
# busy (a web process, the database), spinning threads cost the training several times its CPU (docs/performance.md,
# "Predictions"). Read by the OpenMP runtime when it loads, so set before any app imports the libraries.
os.environ.setdefault("OMP_WAIT_POLICY", env.str("OMP_WAIT_POLICY", default="PASSIVE"))
# The "special invitation" push: players active in the last 30 days whose churn probability is at least this,
# at most once in this many days (marketing: every protection rule of the notifications policy applies).
PREDICTIONS_INVITATION_THRESHOLD = env.float("PREDICTIONS_INVITATION_THRESHOLD", default=0.6)
PREDICTIONS_INVITATION_EVERY_DAYS = env.int("PREDICTIONS_INVITATION_EVERY_DAYS", default=14)
# Whale candidates: the top predicted-LTV decile, not already Whale; a VIP badge and this one-time reward in tokens.
PREDICTIONS_VIP_REWARD_TOKENS = env.int("PREDICTIONS_VIP_REWARD_TOKENS", default=500)
CELERY_TIMEZONE = BUSINESS_TIMEZONE

# --- Player protection (design brief section 6)
ADULT_AGE = env.int("ADULT_AGE", default=19)  # Korea's Youth Protection Act age
PROTECTION_RAISE_DELAY_HOURS = env.int("PROTECTION_RAISE_DELAY_HOURS", default=24)
PROTECTION_COOL_OFF_MIN_HOURS = env.int("PROTECTION_COOL_OFF_MIN_HOURS", default=24)
PROTECTION_COOL_OFF_MAX_DAYS = env.int("PROTECTION_COOL_OFF_MAX_DAYS", default=42)
PROTECTION_SELF_EXCLUSION_MIN_DAYS = env.int("PROTECTION_SELF_EXCLUSION_MIN_DAYS", default=183)
PROTECTION_SELF_EXCLUSION_MAX_DAYS = env.int("PROTECTION_SELF_EXCLUSION_MAX_DAYS", default=5 * 366)
SPEND_LIMIT_MAX = 1_000_000_000

# --- Wallet (docs/decisions/0006, 0024, 0026)
# The idempotency key a service chooses for a spend is scoped to its API key (``spend@<key id>:<key>``). Until this
# time (ISO 8601 with an offset; unset: never) a spend also looks its key up as written before keys were scoped
# (``spend:<key>``) and answers a row of the same request by the same caller: for the deploy that scopes the keys, set
# it to the deploy's time plus a day, so a retry that spans the deploy is not spent twice. One statement more per
# spend while it is in the future.
_unscoped_until = env.str("WALLET_UNSCOPED_KEYS_UNTIL", default="")
WALLET_UNSCOPED_KEYS_UNTIL = dt.datetime.fromisoformat(_unscoped_until) if _unscoped_until else None
if WALLET_UNSCOPED_KEYS_UNTIL is not None and WALLET_UNSCOPED_KEYS_UNTIL.tzinfo is None:
    raise ValueError("WALLET_UNSCOPED_KEYS_UNTIL needs a UTC offset, e.g. 2027-01-02T09:00:00+09:00.")

# --- Texts (every message a player sees; texts/)
# The operators' overrides are read once per process and kept this many seconds: other processes see an edit
# within it (the saving one at once). 0 reads them for every text.
TEXTS_CACHE_SECONDS = env.float("TEXTS_CACHE_SECONDS", default=30.0)

# --- Notifications
NOTIFICATIONS_TRANSPORT = env.str("NOTIFICATIONS_TRANSPORT", default="log")  # log | webhook
NOTIFICATIONS_WEBHOOK_URL = env.str("NOTIFICATIONS_WEBHOOK_URL", default="")
NOTIFICATIONS_WEBHOOK_TIMEOUT = env.float("NOTIFICATIONS_WEBHOOK_TIMEOUT", default=5.0)
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=6)
MARKETING_PUSH_DAILY_CAP = env.int("MARKETING_PUSH_DAILY_CAP", default=2)  # per player per local day
QUIET_HOURS = env.str("QUIET_HOURS", default="22:00-08:00")  # player's local time; marketing held to the end

# --- Segments (RFM nightly batch, segments/services.py)
SEGMENTS_RANGE_SIZE = env.int("SEGMENTS_RANGE_SIZE", default=250_000)  # players per range (one Celery task each)
SEGMENTS_WORK_MEM = env.str("SEGMENTS_WORK_MEM", default="256MB")  # PostgreSQL work_mem for the batch's statements
# A run "running" that has made no progress (its start, a range applied or done) for this long is counted abandoned
# (its process was killed): the next run fails it and goes ahead. A night's steps take seconds to a few minutes.
SEGMENTS_RUN_STALE_MINUTES = env.int("SEGMENTS_RUN_STALE_MINUTES", default=30)
# Nightly runs start from the last run's rows and count only the actions that entered or left the window since
# (docs/decisions/0008); off: every run recomputes the whole window.
SEGMENTS_INCREMENTAL = env.bool("SEGMENTS_INCREMENTAL", default=True)
# How long a run waits for transactions writing user_actions to end before it takes its watermark.
SEGMENTS_WATERMARK_WAIT_SECONDS = env.float("SEGMENTS_WATERMARK_WAIT_SECONDS", default=600)

# --- Company A
# Standard Webhooks secrets (whsec_<base64>), comma-separated: the first signs, all verify (rotation).
CORPORATE_WEBHOOK_SECRETS = env.list("CORPORATE_WEBHOOK_SECRET", default=[DEV_CORPORATE_WEBHOOK_SECRET])
CORPORATE_WEBHOOK_TOLERANCE_SECONDS = 300
# An event's own time (issued_at, visit_timestamp, completed_at) may be at most this far ahead of our clock (skew) and
# this old; outside, the delivery is a 400 naming the field (docs/decisions/0029).
CORPORATE_WEBHOOK_EVENT_MAX_FUTURE_SECONDS = env.int("CORPORATE_WEBHOOK_EVENT_MAX_FUTURE_SECONDS", default=300)
CORPORATE_WEBHOOK_EVENT_MAX_AGE_DAYS = env.int("CORPORATE_WEBHOOK_EVENT_MAX_AGE_DAYS", default=30)

# --- Recommendations (spec 2.3; docs/decisions/0009-recommendation-engine.md)
# Tokens a mission pays: the recommender states these numbers and the granting code pays them, once per player and
# mission period (wallet.missions: mission_reward, mission_pay; docs/decisions/0015).
MISSION_REWARDS = {
    "VISIT_CORPORATE_SITE": env.int("MISSION_REWARD_VISIT_CORPORATE_SITE", default=100),
    "COMPLETE_CORPORATE_QUIZ": env.int("MISSION_REWARD_COMPLETE_CORPORATE_QUIZ", default=200),
    "COMPLETE_PROFILE_QUIZ": env.int("MISSION_REWARD_COMPLETE_PROFILE_QUIZ", default=200),
}
# --- Quiz (spec 2.4; docs/quiz.md, docs/decisions/0015)
# Days after a submission before the player may take the same version again (a newer version may be taken at once).
QUIZ_RETAKE_DAYS = env.int("QUIZ_RETAKE_DAYS", default=30)
# A reward-sensitivity score (0-100) at or above this, with a "yes" to a chasing item, is a self-reported harm marker.
QUIZ_HIGH_REWARD_SENSITIVITY = env.int("QUIZ_HIGH_REWARD_SENSITIVITY", default=67)
# Each web process reads the list of published versions again this often (quiz.selectors): a version published or
# scheduled in the admin is offered everywhere within about twice this long (at once in the process that published it).
QUIZ_VERSIONS_REFRESH_SECONDS = env.float("QUIZ_VERSIONS_REFRESH_SECONDS", default=5.0)
# Impressions of served proposals: buffered per process and written in bulk by a thread when the buffer holds
# this many rows or its oldest is this old (recommendations.impressions). 0 seconds: each request writes its own
# at once (the default on SQLite, where a second writer thread would only contend for the file's lock).
RECOMMENDATION_IMPRESSIONS_BUFFER_SIZE = env.int("RECOMMENDATION_IMPRESSIONS_BUFFER_SIZE", default=500)
# At most this many impressions, and as many suppressions (proposals protection removed), are recorded per player per
# business-timezone day; the excess is served but not recorded (recommendations.services.served_rows_within_daily_cap;
# 0: no bound).
RECOMMENDATION_IMPRESSIONS_PER_PLAYER_DAY = env.int("RECOMMENDATION_IMPRESSIONS_PER_PLAYER_DAY", default=500)
RECOMMENDATION_IMPRESSIONS_FLUSH_SECONDS = env.float(
    "RECOMMENDATION_IMPRESSIONS_FLUSH_SECONDS",
    default=1.0 if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" else 0.0,
)
# The standing holdout (spec 2.5.2; recommendations.holdout, docs/decisions/0034): this share of players (by a stable
# hash of their id and the salt) is served no optional proposal, so the proposals' uplift is measured against them.
# Changing the salt draws another holdout; changing the share grows or shrinks it (a player in at 5% is in at 10%).
RECOMMENDATION_HOLDOUT_SHARE = env.float("RECOMMENDATION_HOLDOUT_SHARE", default=0.05)
RECOMMENDATION_HOLDOUT_SALT = env.str("RECOMMENDATION_HOLDOUT_SALT", default="holdout-1")
# Each process reads the bandit's posteriors (recommendation_variant_posteriors, written once a night) once per this
# many seconds (recommendations.variants); the variants themselves are kept as the texts are (TEXTS_CACHE_SECONDS).
RECOMMENDATION_POSTERIORS_CACHE_SECONDS = env.float("RECOMMENDATION_POSTERIORS_CACHE_SECONDS", default=300.0)
# The adaptive loop (spec 2.5.2; docs/metrics.md "Conversions"): how long after a proposal is served the action that
# fulfils it counts as its conversion, per proposal type, in hours (recommendations.conversions; a setting given here
# replaces that type's default: play 24 h, missions, content and limits 72 h).
RECOMMENDATION_CONVERSION_WINDOW_HOURS = env.json("RECOMMENDATION_CONVERSION_WINDOW_HOURS", default={})
# Attribution takes only actions stamped at least this long before it runs (the rest wait for the next run): the
# impressions they may follow are written behind the request (up to a buffer's age, 1 s), so never passed over.
RECOMMENDATION_ATTRIBUTION_LAG_SECONDS = env.int("RECOMMENDATION_ATTRIBUTION_LAG_SECONDS", default=300)
# The nightly loop job's statements run on this many database connections at once (recommendations.parallel): 2 on
# PostgreSQL (one statement uses one core), 1 on SQLite (one writer at a time).
RECOMMENDATION_NIGHTLY_WORKERS = env.int(
    "RECOMMENDATION_NIGHTLY_WORKERS",
    default=2 if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" else 1,
)
# The Beta posteriors count the impressions served in this many business days up to the night's run.
RECOMMENDATION_LEARNING_WINDOW_DAYS = env.int("RECOMMENDATION_LEARNING_WINDOW_DAYS", default=28)
# Benchmark-only routes (GET /api/bench/bare, a bare Django JSON view): off unless BENCH_ENDPOINTS is set.
BENCH_ENDPOINTS = env.bool("BENCH_ENDPOINTS", default=False)
# Harm-marker thresholds (recommendations.harm.HarmThresholds documents each; player's local days and nights).
HARM_MARKERS = {
    "recent_days": 7,
    "loss_chasing_min_losses": 3,
    "loss_chasing_bet_ratio": 2.0,
    "loss_chasing_min_episodes": 2,
    "spend_spike_ratio": 5.0,
    "spend_spike_min_tokens": 1000,
    "spend_spike_baseline_days": 30,
    "spend_spike_min_baseline_days": 3,
    "late_night_start_hour": 0,
    "late_night_end_hour": 5,
    "late_night_min_minutes": 60,
    "late_night_min_nights": 3,
    "session_gap_minutes": 30,
}
# Live harm signals, kept in the hot store as actions and spends arrive (players.live_harm.LiveThresholds documents
# each). The defaults catch seven losing rounds with the bet doubling from 10 tokens in a quarter of an hour.
LIVE_HARM_SIGNALS = {
    "chase_min_losses": 3,
    "chase_bet_ratio": 2.0,
    "calm_minutes": 60,
    "velocity_window_minutes": 60,
    "velocity_ratio": 1.0,
    "velocity_min_tokens": 500,
    "velocity_tokens_without_norm": 2000,
    "session_gap_minutes": 30,
    "long_session_minutes": 180,
    "late_night_minutes": 30,
    "late_night_start_hour": 0,
    "late_night_end_hour": 5,
}
# Off only to measure what the live signals cost (bench/protection.py runs the ingest and recommendation benches with
# it off and on): no live state is kept or read then, and reality checks stop. Never off in production.
LIVE_PROTECTION = env.bool("LIVE_PROTECTION", default=True)
# Reality checks: a facts-only message after every REALITY_CHECK_MINUTES of a session (the player may choose another
# multiple of the step, up to the maximum, in /api/me/protection).
REALITY_CHECK_MINUTES = env.int("REALITY_CHECK_MINUTES", default=60)
REALITY_CHECK_STEP_MINUTES = 15
REALITY_CHECK_MAX_MINUTES = 240

# --- The player's web client (frontend/, built into webclient/static/webclient/, served at /app/; docs/decisions/0016)
# Where its buttons lead: "Go to game" ({game} is the game's name, e.g. SlotMachine: a deep link the app's web view
# hands to the game), "Go to Company A", and the limit suggestion's button (empty: no button).
WEBCLIENT_GAME_URL = env.str("WEBCLIENT_GAME_URL", default="tokenloop://game/{game}")
WEBCLIENT_CORPORATE_URL = env.str("WEBCLIENT_CORPORATE_URL", default="https://company-a.example.com/")
WEBCLIENT_PROTECTION_URL = env.str("WEBCLIENT_PROTECTION_URL", default="")
# /dev/players/ (open the client as a demo player, with a token minted there): the local settings turn it on with
# DEBUG; the production settings never do.
DEV_PAGES = False
DEV_PLAYER_TOKEN_TTL_SECONDS = 15 * 60
