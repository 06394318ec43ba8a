"""ASGI entry point: the opening day's phones hold their pushed feed here by the thousand
(``opening.push_asgi``: a task per phone, not a thread); every other path is Django's.
Run as ``gunicorn loupan.asgi:application -k uvicorn_worker.UvicornWorker`` (see
docs/operations.md) behind the proxy that sends ``/opening/<id>/feed/stream/`` to it."""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loupan.settings")
django_application = get_asgi_application()

from loupan.opening.push_asgi import wrap  # noqa: E402  (after Django's setup)

application = wrap(django_application)

# Thousands of held streams allocate a future or two a change each: with the collector's
# default thresholds it went through all of them again and again (bench/opening, py-spy:
# a third of this server's CPU while the buyers picked). What Django set up stays out of
# its way for good (``freeze``); the rest is collected ten times less often.
gc.freeze()
gc.set_threshold(7000, 10, 10)
