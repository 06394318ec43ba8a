"""WSGI entry point: `gunicorn loupan.wsgi`. The opening day's buyer API pick is answered
by a handler with a short middleware chain (``opening.pick_http``); every other request
by Django's."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupan.settings")
django_application = get_wsgi_application()

from loupan.opening.pick_http import wrap  # noqa: E402  (after Django's setup)

application = wrap(django_application)

# What Django set up stays out of the garbage collector's way for good (its full
# collections went through all of it again, the GIL held, while the buyers picked).
gc.freeze()
