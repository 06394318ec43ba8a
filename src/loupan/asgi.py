"""ASGI entry point (for a future live board over server-sent events)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupan.settings")
application = get_asgi_application()
