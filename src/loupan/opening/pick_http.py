"""The buyer API's pick answered before Django's whole stack (issue 16, bench/opening):
``POST /api/v1/opening-events/<id>/buyer-picks/`` with a JSON body.

On opening day this one path takes thousands of requests a minute, and under gunicorn's
workers the time of a pick was mostly Python around it: fifteen middlewares (sessions,
authentication, CSRF, messages, the idle timeout, axes …), URL resolution through every
page, and DRF's request, negotiation and rendering. The buyer API has no account, no
session and no cookie to read, so ``wrap`` (``loupan.wsgi``) hands this path to a
handler of its own, with only the middlewares that matter to it: HTTPS and the security
headers, the allowed hosts, the client's address for the audit context, the language,
the refusal of what no view may be handed (``RequestInputMiddleware``). Its view runs
the same pick as DRF's action (``api.views.buyer_pick_answer``) and answers in the
API's one error shape (``core.api.api_error``). Any other request, or a body that is
not JSON, goes to Django as before (DRF's action answers it the same way).
"""

from __future__ import annotations

import io
import re

from django.contrib.auth.models import AnonymousUser
from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpResponse
from django.utils.module_loading import import_string
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer

from loupan.core.api import api_error
from loupan.core.context import client_ip
from loupan.core.errors import DomainError, ErrorCode
from loupan.core.prepared import compile_all

from . import live

PATH = re.compile(r"^/api/v1/opening-events/(\d+)/buyer-picks/$")

# Of settings.MIDDLEWARE, what a request without account or session needs (in order).
MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "loupan.core.middleware.RequestContextMiddleware",
    "django.middleware.common.CommonMiddleware",
    "loupan.opening.pick_http.AnonymousMiddleware",
    "loupan.accounts.middleware.UserLanguageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "loupan.core.middleware.RequestInputMiddleware",
)


class AnonymousMiddleware:
    """The buyer API reads no session: the request is nobody's (the language then comes
    from the cookie or the default, as for anyone signed out)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.user = AnonymousUser()
        return self.get_response(request)


def _answer(body: dict, status: int, headers=None) -> HttpResponse:
    # DRF's own renderer: the bytes its action would send
    return HttpResponse(
        JSONRenderer().render(body),
        status=status,
        headers=headers,
        content_type="application/json",
    )


def pick_view(request):
    from .api.views import buyer_pick_answer  # DRF's module, loaded once Django is

    try:
        event = live.event_to_pick(PATH.match(request.path_info)[1])
        if event is None:
            raise DomainError(ErrorCode.NOT_FOUND)
        # DRF's own parser: the same refusal of bad JSON (NaN included) as its action
        data = JSONParser().parse(io.BytesIO(request.body))
        return _answer(buyer_pick_answer(event, data, client_ip(request)), 201)
    except Exception as exc:
        found = api_error(exc)
        if found is None:
            raise
        error, status, headers = found
        return _answer(error.as_dict(), status, headers)


class PickHandler(WSGIHandler):
    """Django's WSGI handler (signals, request, logging of refusals, the response's
    closing) with ``MIDDLEWARE`` around ``pick_view`` instead of the site's chain."""

    def load_middleware(self, is_async=False):
        handler = convert_exception_to_response(pick_view)
        for path in reversed(MIDDLEWARE):
            handler = convert_exception_to_response(import_string(path)(handler))
        self._middleware_chain = handler


def _is_pick(environ) -> bool:
    return (
        environ.get("REQUEST_METHOD") == "POST"
        and environ.get("CONTENT_TYPE", "").split(";")[0].strip() == "application/json"
        and PATH.match(environ.get("PATH_INFO", "")) is not None
    )


def warm() -> None:
    """What each server process's first pick would otherwise do while the day's first
    buyers wait (in-process, the first pick of a process took 8.7 ms of CPU, 3.7 ms with
    this, the next ones 0.9): DRF's module of the buyer API imported, the pick's reads compiled
    (``core.prepared.compile_all``). No query: the database may not be up yet."""
    from .api import views  # noqa: F401  (the buyer API's module, and its services)

    compile_all()


def wrap(django_app):
    """The WSGI application: the buyer API's pick here, everything else to ``django_app``,
    the pick's path warmed (``warm``)."""
    picks = PickHandler()
    warm()

    def application(environ, start_response):
        if _is_pick(environ):
            return picks(environ, start_response)
        return django_app(environ, start_response)

    return application
