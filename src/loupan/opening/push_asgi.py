"""The phones' pushed feed on an ASGI server (issue 16): ``GET /opening/<id>/feed/stream/``
answered by a task, not a thread, so one process holds thousands of phones.

Under gunicorn's threaded workers (WSGI) every held stream takes a thread of the pool
(``screen.phone_stream``, at most ``LOUPAN_LIVE_STREAMS`` a process): 2,000 phones would
need thousands of threads, each able to hold a database connection, fighting over the
interpreter's lock (bench/opening: 2.9 picks/s and "too many clients"). Under an ASGI
server (``loupan.asgi``: uvicorn's worker under gunicorn, see docs/operations.md) this
module answers the same path before Django does: the same validation, the same frames
(``screen.PhoneFeed``) from the same per-process hub (``push.hub``, whose listener thread
wakes the tasks through ``Hub.changed``), errors in the API's shape. The stream is public
and reads no session, so it skips Django's middleware; the hub's first read of an event
runs in a thread (``sync_to_async``). Every other path goes to Django.
"""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from django.utils.translation import override

from loupan.core.errors import DomainError, ErrorCode

from . import push
from .errors import OpeningError
from .screen import PhoneFeed, since_of

PATH = re.compile(r"^/opening/(\d+)/feed/stream/$")
HEADERS = [
    (b"content-type", b"text/event-stream"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


def wrap(django_app):
    """The ASGI application: the phones' streams here, everything else to ``django_app``."""

    async def application(scope, receive, send):
        if scope["type"] == "http" and (match := PATH.match(scope["path"])):
            return await stream(scope, receive, send, int(match[1]))
        return await django_app(scope, receive, send)

    return application


async def _refuse(send, error: DomainError, headers=()) -> None:
    body = json.dumps(error.as_dict(), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [(b"content-type", b"application/json"), *headers],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _since(scope) -> str:
    headers = dict(scope.get("headers") or [])
    last = headers.get(b"last-event-id", b"").decode("latin-1")
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    return last or (query.get("since") or [""])[0]


async def stream(scope, receive, send, pk: int) -> None:
    with override("zh-hans"):
        if scope["method"] != "GET":
            return await _refuse(
                send, DomainError(ErrorCode.METHOD_NOT_ALLOWED), [(b"allow", b"GET")]
            )
        try:
            since = since_of(_since(scope))
        except DomainError as error:
            return await _refuse(send, error)
        hub = push.hub
        if not hub.take_slot():
            return await _refuse(send, DomainError(OpeningError.STREAMS_FULL))
    try:
        held = await sync_to_async(_held, thread_sensitive=False)(hub, pk)
        if held is None:
            with override("zh-hans"):
                return await _refuse(send, DomainError(ErrorCode.NOT_FOUND))
        await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            await _feed(hub, held, since, send, gone)
        finally:
            gone.cancel()
        await send({"type": "http.response.body", "body": b""})
    except OSError:  # the phone went away while a chunk was on its way
        pass
    finally:
        hub.give_slot()


def _held(hub, pk):
    try:
        return hub.held(pk)
    finally:
        push.let_go()


async def _disconnected(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _feed(hub, held, since: int, send, gone) -> None:
    feed = PhoneFeed(held, since)
    await send({"type": "http.response.body", "body": feed.first(), "more_body": True})
    while (wait := feed.wait_seconds()) is not None and not gone.done():
        current = await hub.changed(feed.event_id, feed.held.generation, wait, gone)
        if gone.done():
            return
        chunk = feed.after(current)
        if chunk is None:
            return
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
