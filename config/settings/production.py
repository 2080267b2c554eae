"""Production: every secret must come from the environment, HTTPS only.

`make test` runs `manage.py check --deploy --fail-level WARNING` with these settings (and test-only secrets).
"""

from .base import *  # noqa: F403
from .base import PLAYER_JWT_KID, env

# No default for any secret, and DEBUG only if asked for: the system checks (core.checks, corporate.checks) then
# refuse to start, naming the setting, when DEBUG is on or a secret is missing, weak or a development default
# (`manage.py check`, every command that checks first, config/wsgi.py and the Celery worker).
PRODUCTION = True
DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
PLAYER_JWT_SECRET = env.str("PLAYER_JWT_SECRET", default="")
PLAYER_JWT_SECRETS = {**env.dict("PLAYER_JWT_OLD_SECRETS", default={}), PLAYER_JWT_KID: PLAYER_JWT_SECRET}
CORPORATE_WEBHOOK_SECRETS = env.list("CORPORATE_WEBHOOK_SECRET", default=[])  # whsec_...
DEV_PAGES = False  # /dev/players/ mints player tokens for anyone: never here, whatever the environment says

# --- HTTPS. granian speaks plain HTTP; TLS ends at the proxy or load balancer in front of it, which sets
# X-Forwarded-Proto (and drops a client's own). With nothing in front (or granian's own --ssl-* options), set
# SECURE_PROXY_SSL_HEADER= (empty) so that no client can claim HTTPS by sending the header.
_proxy_header = [
    part for part in env.list("SECURE_PROXY_SSL_HEADER", default=["HTTP_X_FORWARDED_PROTO", "https"]) if part
]
SECURE_PROXY_SSL_HEADER = (_proxy_header[0], _proxy_header[1]) if _proxy_header else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Probes and scrapers reach these over plain HTTP from inside the network (they would not follow a redirect).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# HSTS goes out on HTTPS answers only. A year, subdomains included (what browsers' preload lists ask for).
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    # security.W021 asks for the preload directive. Putting the domain on browsers' built-in HTTPS-only lists is
    # the domain owner's decision and takes months to undo; SECURE_HSTS_PRELOAD=true once they have made it.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
# Origins whose pages may POST forms here (the admin's login) although the Host the request names differs, e.g.
# behind a proxy that rewrites Host: https://admin.example.com; comma-separated.
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Static files (admin, API docs): WhiteNoise (base settings) serves STATIC_ROOT; run `manage.py collectstatic` at
# deploy.
