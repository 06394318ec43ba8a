"""WSGI entry point: `gunicorn loupan.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupan.settings")
application = get_wsgi_application()
