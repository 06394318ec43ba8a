"""Opening day's live feed (issue 16, the big screen 大屏 and the buyers' phones): what
changed and when, shared by every worker and every application server.

The state lives only in the database, so it survives a restart and every process reads
the same thing:

* ``version(event_id)`` is one indexed query over the event's picks and its status; it
  changes whenever a unit is picked (or the event moves on), so "is there something new"
  is a comparison of two numbers;
* every waiter reads it again at its own pace: the big screen's stream every half
  second (``poll_for_change``), each server process's phone hub once a tick
  (``push``), the sealer process to see whether picks are still coming
  (``latest_pick``). Picks send no signal of their own: a PostgreSQL ``NOTIFY`` in a
  pick's transaction takes the server's one notification-queue lock at every commit,
  which serialises the commits (pgbench's TPC-B with a NOTIFY in each transaction ran
  at half its rate with 8 clients, and the pick's function alone lost 10–25 %:
  bench/README), and woke every listening process once a pick;
* ``changed_here(event_id)`` marks this worker's copy stale after a change it made.

Nothing here is kept in a process's memory between requests but a read cache: the
phones' view (``snapshot(event, since=…)``) is served from the event's picks as this
worker last read them from the database, at most ``LOUPAN_LIVE_CACHE_MS`` (250 ms) ago
(2,000 phones polling every 2 s would otherwise read the same rows 1,000 times a
second). ``snapshot(event)`` is the
read the screen and the phones get: units picked or free, counts, the batch against the
server's clock, the latest picks by unit number — no names, entry numbers or phones.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import threading
import time

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Count, Max, OuterRef
from django.utils import timezone

from loupan.core.prepared import prepared_cursor
from loupan.core.querysets import per_row

from .models import Batch, Entry, EventStatus, EventUnit, OpeningEvent, Pick

POLL_INTERVAL = 0.5
LATEST = 8  # picks shown as "房间 X 已选"

_STATUS_INDEX = {status: i for i, status in enumerate(EventStatus.values)}
_sleep = time.sleep  # tests replace it to act between two polls


def _combine(picks: int, max_pick_id: int | None, status: str) -> int:
    # Picks are only ever added, so count + largest id grows with every pick (and would
    # still move if one were removed); the status takes the low three bits.
    return ((picks or 0) + (max_pick_id or 0)) * 8 + _STATUS_INDEX.get(status, 7)


def version(event_id: int, using: str = "default") -> int:
    """The event's change counter, read from the database (one query, by the picks'
    ``event_id`` index); 0 for an event that does not exist."""
    row = (
        OpeningEvent.objects.using(using)
        .filter(pk=event_id)
        .annotate(n=Count("picks"), m=Max("picks__id"))
        .values_list("status", "n", "m")
        .first()
    )
    if row is None:
        return 0
    status, n, m = row
    return _combine(n, m, status)


def is_postgres(using: str = "default") -> bool:
    return connections[using].vendor == "postgresql"


# The first key of the (key, event) advisory lock by which the picks hold their event
# (``hold_event``).
_HOLD_KEY = 0x4C50  # "LP"


def hold_event(event_id: int, using: str = "default") -> None:
    """A pick holds its event in shared mode from before it reads what it decides on to
    its commit (PostgreSQL: the advisory lock (key, event), kept in the server's memory,
    so picks neither wait for each other nor write a row lock, as the event row's
    ``FOR SHARE`` did: bench/opening). What takes it alone (``hold_event_alone``) waits
    for the picks under way and holds new ones off meanwhile:

    * a change of the event (``services._lock_event``): a pick that waited for it
      reads the event as it left it (finished, say);
    * ``settled``: the last pick id up to which the board may be read (a phone's
      cursor is a pick id, drawn at the INSERT, not the commit).

    SQLite commits one writer at a time: nothing to hold."""
    held = holding(event_id, using)
    if held is not None:
        with prepared_cursor(using) as cursor:
            cursor.execute(*held)


def holding(event_id: int, using: str = "default") -> tuple[str, list] | None:
    """``hold_event``'s query and its parameters, for a statement that takes it in a
    ``WITH`` query of its own (a buyer's pick: ``services._signed_in``, one round trip
    fewer); None where nothing is held (SQLite)."""
    if not is_postgres(using):
        return None
    return "SELECT pg_advisory_xact_lock_shared(%s, %s)", [_HOLD_KEY, event_id]


def hold_event_alone(event_id: int, using: str = "default") -> None:
    """The event held alone until the commit (``hold_event``): no pick under way."""
    if is_postgres(using):
        with connections[using].cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_HOLD_KEY, event_id])


def changed_here(event_id: int) -> None:
    """This worker's board of ``event_id`` is stale now: its phones read the change at
    once (the other workers see it at their next read of ``version``)."""
    hit = _boards.get(int(event_id))
    if hit:
        _boards[int(event_id)] = (float("-inf"), hit[1], hit[2])


def latest_pick(using: str = "default") -> int:
    """The id of the last pick of any event (0 before the first): the sealer process
    reads it to see whether picks are still coming (one index read)."""
    return Pick.objects.using(using).aggregate(m=Max("id"))["m"] or 0


def poll_for_change(event_id: int, since: int, timeout: float, using: str = "default") -> int:
    """Read ``version`` every ``POLL_INTERVAL`` seconds until it differs from ``since``
    or ``timeout`` seconds have passed; returns the version last read. How every waiter
    learns of a change: the database is what every worker and server shares."""
    deadline = time.monotonic() + max(0.0, timeout)
    current = version(event_id, using)
    while current == since:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        _sleep(min(POLL_INTERVAL, left))
        current = version(event_id, using)
    return current


# --- what the screen and the phones read -------------------------------------------------


def _iso(value) -> str:
    return timezone.localtime(value).isoformat(timespec="seconds")


def _ms(value) -> int:
    return int(value.timestamp() * 1000)


def _batch(row) -> dict | None:
    if row is None:
        return None
    number, starts_at, ends_at = row
    return {
        "number": number,
        "starts_at": _iso(starts_at),
        "ends_at": _iso(ends_at),
        "starts_ms": _ms(starts_at),
        "ends_ms": _ms(ends_at),
    }


def _event_info(event: OpeningEvent) -> dict:
    return {
        "id": event.pk,
        "name": event.name,
        "status": event.status,
        "status_label": str(event.get_status_display()),
    }


def _frame(event_info: dict, now, batches, counts, version_, last_pick) -> dict:
    """The frame around the units: ``batches`` as ``_batches`` reads them, the one under
    way and the next one chosen against ``now``, the server's clock."""
    current = next((shown for starts, ends, shown in batches if starts <= now < ends), None)
    upcoming = next((shown for starts, _e, shown in batches if starts > now), None)
    local = timezone.localtime(now)
    return {
        "event": event_info,
        "version": version_,
        "last_pick": last_pick or 0,
        "server_time": local.isoformat(timespec="milliseconds"),
        "server_ms": _ms(now),
        "utc_offset_minutes": int(local.utcoffset().total_seconds() // 60),
        "batch": current,
        "next_batch": upcoming,
        "counts": counts,
    }


def _batches(event) -> list:
    """The event's batches in order, each as (starts, ends, what the frame shows of it):
    formatted once per read, not for every phone's poll."""
    rows = Batch.objects.filter(event=event).order_by("number")
    return [
        (starts_at, ends_at, _batch((number, starts_at, ends_at)))
        for number, starts_at, ends_at in rows.values_list("number", "starts_at", "ends_at")
    ]


def snapshot(event: OpeningEvent, now=None, since: int | None = None) -> dict:
    """The event as the big screen and the buyers' phones see it now, in four queries
    whatever the number of units and picks: ``version`` (as ``version()`` reads it),
    the server's time, the current batch (and the next one) with their windows, the
    counts, every unit (building, floor, number, picked) and the latest picks by unit
    number. No personal data: no names, phones, ID or entry numbers.

    ``last_pick`` is the id of the latest pick; a reader that already holds the units
    passes it back as ``since`` and gets in ``units`` (and ``latest``) only the units
    picked after it, in five small queries that do not grow with the event (what 2,000
    phones polling every two seconds read)."""
    now = now or timezone.now()
    if since is not None:
        return _changes(event, now, since)
    picks = list(
        Pick.objects.filter(event=event)
        .order_by("-at", "-pk")
        .values_list("pk", "unit_id", "entry_id", "at")
    )
    units = list(
        EventUnit.objects.filter(event=event)
        .order_by(
            "unit__building__sort_order",
            "unit__building__name",
            "-unit__floor",
            "unit__stair",
            "unit__room",
            "unit_id",
        )
        .values_list("unit_id", "unit__number", "unit__building__name", "unit__floor")
    )
    batches = _batches(event)
    entrants = Entry.objects.filter(event=event, position__isnull=False).count()
    picked = {p[1] for p in picks}
    number_of = {unit_id: number for unit_id, number, _b, _f in units}
    taken = sum(1 for unit_id in number_of if unit_id in picked)
    last_pick = max((p[0] for p in picks), default=None)
    data = _frame(
        _event_info(event),
        now,
        batches,
        {
            "units": len(units),
            "picked": taken,
            "free": len(units) - taken,
            "entrants": entrants,
            "entrants_picked": len({p[2] for p in picks}),
        },
        _combine(len(picks), last_pick, event.status),
        last_pick,
    )
    data["units"] = [
        {
            "id": unit_id,
            "number": number,
            "building": building,
            "floor": floor,
            "picked": unit_id in picked,
        }
        for unit_id, number, building, floor in units
    ]
    data["latest"] = [
        {"number": number_of.get(unit_id, ""), "at": _iso(at)}
        for _pk, unit_id, _entry, at in picks[:LATEST]
    ]
    return data


def _scalar(qs, aggregate):
    """A correlated subquery: ``aggregate`` over ``qs`` (rows of the outer event)."""
    return per_row(qs, "event", aggregate, default=0)


# event id → (when read, the event as read then, its board): what ``_changes`` serves
_boards: dict[int, tuple[float, OpeningEvent, dict]] = {}


def cache_seconds() -> float:
    """How long a worker may serve the phones' view from the event and the board it last
    read (``LOUPAN_LIVE_CACHE_MS``, 250 ms; 0 reads them for every request)."""
    return max(0, int(getattr(settings, "LOUPAN_LIVE_CACHE_MS", 250))) / 1000


# one thread of a worker reads a stale board again; its other threads serve the stale one
# meanwhile (64 threads finding it stale at once read it 64 times: bench/opening)
_reading = threading.Lock()


def _fresh(hit) -> bool:
    ttl = cache_seconds()
    return bool(ttl and hit and time.monotonic() - hit[0] < ttl)


def _cached(event_id: int):
    """This worker's board of ``event_id`` while it may serve it: fresh, or stale while
    another of its threads reads it again (None: read it)."""
    hit = _boards.get(event_id)
    if _fresh(hit) or (hit and cache_seconds() and _reading.locked()):
        return hit
    return None


def _board(event: OpeningEvent) -> dict:
    """The event's picks in order, its counts and batches, read from the database (three
    queries) at most once per ``cache_seconds`` by this process, and again at once after
    a pick this process committed (``changed_here``)."""
    hit = _cached(event.pk)
    if hit and hit[1].status == event.status:
        return hit[2]
    with _reading:
        hit = _boards.get(event.pk)  # read meanwhile by the thread this one waited for
        if _fresh(hit) and hit[1].status == event.status:
            return hit[2]
        return read_board(event)


def settled(event_id: int) -> int:
    """The id of the event's last pick up to which every pick is final (0 when there is
    none): read with the event held alone (``hold_event_alone``: no pick between its
    INSERT and its commit meanwhile), for one short statement. Ids are drawn at the
    INSERT, in order, not at the commit: a board that showed a pick while a lower id was
    still uncommitted would let a phone's cursor pass that pick for ever; up to this id
    none is missing, and the ids drawn after it are higher. The board is read after the
    hold, up to this id, while the picks go on (bench/opening: the board's read under
    the hold, a thousand picks with their units, held every pick up each tick)."""
    with transaction.atomic() if is_postgres() else contextlib.nullcontext():
        hold_event_alone(event_id)
        with prepared_cursor() as cursor:
            cursor.execute(_SETTLED_SQL, [event_id])
            return cursor.fetchone()[0] or 0


_SETTLED_SQL = f'SELECT max(id) FROM "{Pick._meta.db_table}" WHERE event_id = %s'


def read_board(event: OpeningEvent) -> dict:
    """The event's board read from the database now: its picks in order up to the last
    settled one (``settled``), counts and batches; kept as this worker's (``_boards``)
    while caching is on."""
    now = time.monotonic()
    mine = {"event": OuterRef("pk")}
    counts = (
        OpeningEvent.objects.filter(pk=event.pk)
        .annotate(
            units_n=_scalar(EventUnit.objects.filter(**mine), Count("pk")),
            entrants_n=_scalar(Entry.objects.filter(**mine, position__isnull=False), Count("pk")),
        )
        .values("units_n", "entrants_n")
        .get()
    )
    picks = list(
        Pick.objects.filter(event=event, pk__lte=settled(event.pk))
        .order_by("pk")
        .values_list(
            "pk",
            "unit_id",
            "unit__number",
            "unit__building__name",
            "unit__floor",
            "at",
            "entry_id",
        )
    )
    board = {
        "units": counts["units_n"],
        "entrants": counts["entrants_n"],
        "picks": picks,
        "ids": [p[0] for p in picks],
        "buyers": len({p[6] for p in picks}),
        "batches": _batches(event),
        "event": _event_info(event),
    }
    if cache_seconds():
        _boards[event.pk] = (now, event, board)
    return board


def public_changes(event_id: int, since: int, now=None) -> dict | None:
    """The phones' view (``snapshot(event, since=since)``) of the public event
    ``event_id`` (``selectors.public_event``; None when there is none), served without a
    query while this worker's board is fresh."""
    from .selectors import public_event

    hit = _cached(event_id)
    event = hit[1] if hit else public_event(event_id)
    if event is None:
        return None
    return snapshot(event, now=now, since=since)


# this process's copies of the public events buyers pick in: {id: (read at, event)}
_to_pick: dict[int, tuple[float, OpeningEvent]] = {}


def event_to_pick(event_id) -> OpeningEvent | None:
    """``selectors.public_event`` for a buyer's pick on opening day's lean path
    (``pick_http``), one query fewer a pick: a copy of this process's, read again after
    ``cache_seconds`` or once this process saved the event (``forget_event``). The pick
    takes only the event's id and project from it (the status and the rules it decides
    on are read again under the event's hold: ``services._claim_facts``), and an event
    public once stays public (drawn, selecting, finished)."""
    from .selectors import public_event

    if not str(event_id).isdigit():
        return None
    pk = int(event_id)
    hit = _to_pick.get(pk)
    if hit is None or time.monotonic() - hit[0] >= cache_seconds():
        event = public_event(pk)
        if event is None:
            return None
        hit = _to_pick[pk] = (time.monotonic(), event)
    return copy.copy(hit[1])  # the pick's own: it brings it up to date


def forget_event(sender=None, instance=None, **kwargs) -> None:
    """``event_to_pick`` reads the event again (``post_save`` and ``post_delete`` of an
    event in this process)."""
    _to_pick.pop(getattr(instance, "pk", None), None)


def board_version(event: OpeningEvent, board: dict) -> int:
    """``version()`` of the event as ``board`` holds it."""
    last = board["ids"][-1] if board["ids"] else None
    return _combine(len(board["picks"]), last, event.status)


def _changes(event: OpeningEvent, now, since: int) -> dict:
    """What the phones poll: the counts and the units picked after ``since``, from the
    board (``_board``: the database, read at most every ``cache_seconds`` per worker)."""
    return changes(event, _board(event), now, since)


def changes(event: OpeningEvent, board: dict, now, since: int) -> dict:
    """The counts and the units picked after ``since`` as ``board`` holds them (no
    query): what a phone is sent, by its poll or its stream (``push``). The units as
    their ids only (``picked_units``, in the order they were picked): the phone has the
    board's units already (its page, or ``snapshot``), and 2,000 phones of a hall get
    every frame (bench/opening: a frame of a tick's 400 picks was 24 KB with each unit's
    number, building and floor, 2.4 KB as ids)."""
    new = board["picks"][bisect.bisect_right(board["ids"], since) :]
    n = len(board["picks"])
    last = board["ids"][-1] if n else None
    data = _frame(
        board["event"],
        now,
        board["batches"],
        {
            "units": board["units"],
            "picked": n,
            "free": board["units"] - n,
            "entrants": board["entrants"],
            "entrants_picked": board["buyers"],
        },
        _combine(n, last, event.status),
        last,
    )
    data["picked_units"] = [unit_id for _pk, unit_id, *_rest in new]
    data["latest"] = [
        {"number": number, "at": _iso(at)}
        for _pk, _u, number, _b, _f, at, _e in reversed(new[-LATEST:])
    ]
    return data
