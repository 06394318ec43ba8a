"""WSGI entry point: `gunicorn loupan.wsgi`. The opening day's buyer API pick is answered
by a handler with a short middleware chain (``opening.pick_http``); every other request
by Django's."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupan.settings")
django_application = get_wsgi_application()

from loupan.opening.pick_http import wrap  # noqa: E402  (after Django's setup)

application = wrap(django_application)
