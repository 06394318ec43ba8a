"""The big screen 大屏 of the selection hall and the live feed behind it (issue 16).

* ``screen``: the full-screen page for the hall — the event, the server's clock, the
  countdown of the current batch, the counts, every unit by building and floor, free or
  picked, and the latest picks by unit number only;
* ``live``: the same data as one JSON snapshot (``live.snapshot``), what phones poll
  every 2 s and what the screen falls back to; ``buyer_live`` serves it to a buyer
  signed in on their phone with the entry number and code (no account);
* ``feed``: what the buyers' pages poll, the units picked since the last poll, public;
* ``stream``: Server-Sent Events — the snapshot at once, then a new one whenever the
  event's version changes (``live.poll_for_change``: read from the database, which
  every worker and server shares, every half second) or a batch starts or ends, a comment as a
  keep-alive, and an end after a few minutes: the browser's ``EventSource`` reconnects
  by itself, to whichever worker or server answers, so a restart loses nothing.

Every view only reads (a GET writes nothing). No names, phones, ID or entry numbers.
"""

import json
import logging
import time

from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection
from django.http import Http404, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from loupan.core.errors import DomainError, ErrorCode, invalid
from loupan.core.pages import project_page

from . import buyer, live, push, selectors
from .errors import OpeningError

SEE = ("opening.view",)
KEEPALIVE = 15.0  # seconds between comments on an idle stream (proxies drop silent ones)
LIFETIME = 300.0  # a stream ends after 5 minutes; EventSource reconnects
RETRY_MS = 3000  # how long EventSource waits before reconnecting

log = logging.getLogger(__name__)


def _event(request, project, pk):
    return get_object_or_404(selectors.events_for(request.user, project), pk=pk)


def _grid(units: list[dict]) -> list[dict]:
    """Units by building, then floor from the top down (the order ``snapshot`` gives)."""
    buildings: list[dict] = []
    for unit in units:
        if not buildings or buildings[-1]["name"] != unit["building"]:
            buildings.append({"name": unit["building"], "floors": []})
        floors = buildings[-1]["floors"]
        if not floors or floors[-1]["floor"] != unit["floor"]:
            floors.append({"floor": unit["floor"], "units": []})
        label = unit["number"].removeprefix(unit["building"]) or unit["number"]
        floors[-1]["units"].append({**unit, "label": label})
    return buildings


def _texts() -> dict:
    """The words the page's script writes, in the viewer's language."""
    return {
        "picked": _("房间 %(n)s 已选"),
        "batch": _("第%(n)s批"),
        "ends_in": _("本批剩余"),
        "starts_in": _("距开始"),
        "no_batch": _("当前没有进行中的批次"),
        "live": _("实时"),
        "polling": _("轮询"),
        "offline": _("连接中断，正在重连…"),
        "none": _("暂无"),
    }


@project_page(*SEE)
def screen(request, project, pk):
    """大屏: the hall's full-screen view, updated by ``stream`` (``live`` as fallback)."""
    event = _event(request, project, pk)
    data = live.snapshot(event)
    return render(
        request,
        "opening/screen.html",
        {
            "project": project,
            "event": event,
            "data": data,
            "grid": _grid(data["units"]),
            "texts": _texts(),
        },
    )


@project_page(*SEE)
def live_json(request, project, pk):
    """The event's snapshot as JSON (a handful of queries whatever the units or picks)."""
    return _snapshot_response(_event(request, project, pk))


def buyer_live(request, pk):
    """The same snapshot for a buyer signed in on their phone for this event."""
    event = buyer._event(pk)
    if buyer._entry(request, event) is None:
        raise Http404
    return _snapshot_response(event)


def since_of(raw) -> int:
    """The last pick a phone holds (``since``, or EventSource's ``Last-Event-ID``): a
    pick's id, 0 when none; anything else is refused naming ``since``."""
    raw = raw or "0"
    if not raw.isdigit():
        raise invalid("since", _("应为编号"))
    return int(raw)


@require_GET
def feed(request, pk):
    """The phones' feed of a public event (drawn, selecting or finished): the counts, the
    batch against the server's clock and the units picked after ``since``
    (``live.public_changes``: no query while this worker's board is fresh). No session,
    no account, no personal data: what every buyer's page polls every 2 s, in plain
    Django (the API's ``live`` action serves the same to API clients)."""
    try:
        since = since_of(request.GET.get("since"))
    except DomainError as error:
        return _error(error)
    data = live.public_changes(pk, since)
    if data is None:
        return _error(DomainError(ErrorCode.NOT_FOUND))
    response = JsonResponse(data, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def phone_stream(request, pk):
    """The phones' feed pushed (``push``): Server-Sent Events of what ``feed`` answers,
    the frame at once and then the units picked since the phone's last one whenever the
    process's hub reads a change (within ``LOUPAN_LIVE_PUSH_MS``), a new frame at a batch's
    start or end. ``since`` (or the ``Last-Event-ID`` EventSource sends back when it
    reconnects: each event's id is its ``last_pick``) is the last pick the phone holds.
    Public like ``feed``; ``streams_full`` (503) when this process holds all the streams
    it may: the page polls ``feed`` then."""
    try:
        since = since_of(request.headers.get("Last-Event-ID") or request.GET.get("since"))
    except DomainError as error:
        return _error(error)
    if not push.hub.take_slot():
        return _error(DomainError(OpeningError.STREAMS_FULL))
    try:
        held = push.hub.held(pk)
    except BaseException:
        push.hub.give_slot()
        raise
    if held is None:
        push.hub.give_slot()
        return _error(DomainError(ErrorCode.NOT_FOUND))
    # the stream runs no query: the thread's connection (kept by ``CONN_MAX_AGE`` from an
    # earlier request) is not held for the stream's minutes
    push.let_go()
    response = StreamingHttpResponse(
        _Slot(phone_events(held, since)), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


class _Slot:
    """A stream's chunks that give its slot back when the server closes the response,
    whether or not the stream was ever read."""

    def __init__(self, chunks):
        self.chunks = chunks
        self.open = True

    def __iter__(self):
        return self

    def __next__(self):
        return next(self.chunks)

    def close(self):
        if self.open:
            self.open = False
            try:
                self.chunks.close()
            finally:
                push.hub.give_slot()


class PhoneFeed:
    """What one phone's stream sends, from the hub's ``held`` event (no query): the frame
    with the units picked after ``since``, then one after each change, one at a batch's
    start or end, a comment after ``keepalive`` seconds of nothing; it ends after
    ``lifetime``. The same for a thread of the WSGI server (``phone_events``) and a task
    of the ASGI one (``push_asgi``)."""

    def __init__(self, held, since: int, *, keepalive=None, lifetime=None):
        self.held = held
        self.event_id = held.event.pk
        self.since = since
        self.keepalive = KEEPALIVE if keepalive is None else keepalive
        self.ends = time.monotonic() + (LIFETIME if lifetime is None else lifetime)
        self.data = None

    def first(self) -> bytes:
        self.data = live.changes(self.held.event, self.held.board, timezone.now(), self.since)
        return _sse(self.data, retry=RETRY_MS, id=self.data["last_pick"])

    def wait_seconds(self) -> float | None:
        """How long to wait for a change before the next chunk (None: the stream ends)."""
        left = self.ends - time.monotonic()
        if left <= 0:
            return None
        wait = min(self.keepalive, left)
        boundary = _next_boundary(self.data)
        if boundary is not None:
            wait = max(0.0, min(wait, boundary - time.time() + 0.2))
        return wait

    def after(self, current) -> bytes | None:
        """The chunk once the wait is over: the changes if ``current`` (the hub's event
        now) moved on or a batch boundary passed, else a comment; None when the event is
        no longer public."""
        if current is None:
            return None
        boundary = _next_boundary(self.data)
        if current.generation != self.held.generation or (boundary and time.time() >= boundary):
            self.held = current
            self.data, chunk = _changes_chunk(current, self.data["last_pick"])
            return chunk
        return b": keep-alive\n\n"


# (event, generation, since, second) → the frame and its chunk: after a change every
# phone of a process that held the last one asks for the same, within the same second
_chunks: dict[tuple, tuple[dict, bytes]] = {}


def _changes_chunk(held, since: int) -> tuple[dict, bytes]:
    """The frame of the units picked after ``since`` and its SSE chunk, built once per
    second for all the phones of this process that ask for the same."""
    ids = held.board["ids"]
    # the board's last pick too: a hub made anew (a restarted worker, a test) counts its
    # generations from the start again, and must not get another board's frame
    key = (held.event.pk, held.generation, ids[-1] if ids else 0, since, int(time.time()))
    hit = _chunks.get(key)
    if hit is None:
        if len(_chunks) > 256:
            _chunks.clear()
        data = live.changes(held.event, held.board, timezone.now(), since)
        hit = _chunks[key] = (data, _sse(data, id=data["last_pick"]))
    return hit


def phone_events(held, since: int, *, keepalive=None, lifetime=None):
    """``PhoneFeed``'s chunks in a thread of the WSGI server."""
    feed = PhoneFeed(held, since, keepalive=keepalive, lifetime=lifetime)
    yield feed.first()
    while (wait := feed.wait_seconds()) is not None:
        chunk = feed.after(push.hub.wait(feed.event_id, feed.held.generation, wait))
        if chunk is None:
            return
        yield chunk


def _error(error: DomainError) -> JsonResponse:
    return JsonResponse(
        error.as_dict(), status=error.status, json_dumps_params={"ensure_ascii": False}
    )


def _snapshot_response(event):
    response = JsonResponse(live.snapshot(event), json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-cache, no-store"
    return response


@project_page(*SEE)
def stream(request, project, pk):
    """Server-Sent Events of the event's snapshots (``text/event-stream``)."""
    event = _event(request, project, pk)
    response = StreamingHttpResponse(events(event), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: pass every event on at once
    return response


def _sse(data: dict, *, retry: int | None = None, id: int | None = None) -> bytes:
    text = json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))
    lines = f"data: {text}\n"
    if id is not None:
        lines += f"id: {id}\n"
    if retry is not None:
        lines += f"retry: {retry}\n"
    return (lines + "\n").encode()


def _next_boundary(data: dict) -> float | None:
    """When (epoch seconds) the batch shown ends or the next one starts."""
    if data["batch"]:
        return data["batch"]["ends_ms"] / 1000
    if data["next_batch"]:
        return data["next_batch"]["starts_ms"] / 1000
    return None


def _fresh(event) -> dict:
    event.refresh_from_db(fields=["status"])
    return live.snapshot(event)


def _rest_database() -> None:
    """Let go of Django's connection after the stream's reads, as at the end of a
    request: closed unless ``CONN_MAX_AGE`` keeps it (a big screen's stream reads every
    half second, so it keeps one then; the phones' streams read nothing: ``push``)."""
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def events(event, *, keepalive: float | None = None, lifetime: float | None = None):
    """The stream's chunks: the snapshot at once, then a snapshot after each change or
    batch boundary, a comment line after ``keepalive`` seconds without one (default
    ``KEEPALIVE``); it ends after ``lifetime`` seconds (``LIFETIME``) or when the
    database goes away."""
    keepalive = KEEPALIVE if keepalive is None else keepalive
    ends = time.monotonic() + (LIFETIME if lifetime is None else lifetime)
    try:
        data = _fresh(event)
        yield _sse(data, retry=RETRY_MS)
        while (left := ends - time.monotonic()) > 0:
            boundary = _next_boundary(data)
            wait = min(keepalive, left)
            if boundary is not None:
                wait = max(0.0, min(wait, boundary - time.time() + 0.2))
            current = live.poll_for_change(event.pk, data["version"], wait)
            _rest_database()
            if current != data["version"] or (boundary and time.time() >= boundary):
                data = _fresh(event)
                yield _sse(data)
            else:
                yield b": keep-alive\n\n"
    except DatabaseError as exc:
        # the database restarted or went away: end here, EventSource comes back
        log.warning("opening stream of event %s ended: %s", event.pk, exc)
