import gc
import os

from django.core.wsgi import get_wsgi_application

# Without a settings module named, production's: they refuse to start without their secrets. `make run` names
# config.settings.local.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")
application = get_wsgi_application()

# Settings that must not serve (DEBUG on or a missing, weak or development secret under production settings): the
# worker stops here, naming each setting at fault, before it answers anything.
from core.checks import refuse_to_start  # noqa: E402 - needs the apps loaded

refuse_to_start()

# Everything loaded so far lives as long as the process: keep it out of the garbage collector's
# generations, so a worker does not spend a full collection on it every few requests.
gc.collect()
gc.freeze()
