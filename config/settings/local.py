"""Development: the embedded default, with DEBUG on."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# /dev/players/: pick a demo player and open the web client as them (webclient.views); never in production.
DEV_PAGES = env.bool("DEV_PAGES", default=DEBUG)
