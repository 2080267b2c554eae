"""Production: every secret must come from the environment."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY")
PLAYER_JWT_SECRET = env.str("PLAYER_JWT_SECRET")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)

# Static files (admin, API docs): WhiteNoise (base settings) serves STATIC_ROOT; run `manage.py collectstatic` at
# deploy.
CORPORATE_WEBHOOK_SECRETS = env.list("CORPORATE_WEBHOOK_SECRET")  # whsec_...; no default in production
