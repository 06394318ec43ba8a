"""The buyers' phones held up to date by push (issue 16: "a pick seen by every phone within
2 s"): one reader per server process feeds every phone stream that process holds.

Polling every 2 s cannot show a pick within 2 s (the poll's period plus the board's
age), and 2,000 phones polling take most of a 2-core server. Here a phone holds one
Server-Sent Events stream (``screen.phone_stream``) and the process's ``Hub`` does the
database work for all of them:

* one thread per process, started by the first stream, reads the version of each
  event a stream waits on once a tick (``LOUPAN_LIVE_PUSH_MS``, 500 ms; ``live.version``,
  one indexed query: the database is what every worker and server shares);
* at the end of the tick it reads each changed event's board once (``live.read_board``,
  three queries, in its own connection) and wakes the streams waiting on it, which
  send their phone the units picked since the phone's last one from that board: no
  query per phone, and none at all in a stream's thread once the event is held;
* a watched event's board is read again every ``REFRESH`` seconds even when its version
  stayed (the batch's clock); an event no stream has asked for during ``IDLE`` seconds
  is dropped.

A stream holds one of the server's threads for as long as it lasts, so a process takes
at most ``LOUPAN_LIVE_STREAMS`` of them (``slots``; the server's threads per process must
be that many plus those the picks need): one more is refused at once with
``streams_full`` and the phone's page polls the feed instead, so the phones can never
take the threads the picks need.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection

from . import live
from .models import OpeningEvent

log = logging.getLogger(__name__)

REFRESH = 5.0  # seconds: a watched event is read again at least this often
IDLE = 60.0  # seconds: an event no stream asked for is dropped after this long
RETRY = 1.0  # seconds before the hub reads again after losing the database


def tick_seconds() -> float:
    """How often the hub reads the versions of its events (``LOUPAN_LIVE_PUSH_MS``,
    500 ms): a pick reaches the phones within about this long, and a board is read at
    most this often however many picks come."""
    return max(10, int(getattr(settings, "LOUPAN_LIVE_PUSH_MS", 500))) / 1000


def stream_slots() -> int:
    """How many phone streams one server process holds (``LOUPAN_LIVE_STREAMS``, 64)."""
    return max(0, int(getattr(settings, "LOUPAN_LIVE_STREAMS", 64)))


def let_go() -> None:
    """Close this thread's database connection (outside a transaction): a thread that
    holds a phone's stream for minutes holds no connection meanwhile, however many
    threads the server runs."""
    if not connection.in_atomic_block:
        connection.close()


@dataclass
class Held:
    """An event as the hub last read it: ``generation`` grows with every read that found
    it changed; ``board`` is ``live.read_board``'s."""

    event: OpeningEvent
    board: dict
    version: int
    generation: int = 0
    read_at: float = 0.0
    asked_at: float = 0.0
    waiting: int = 0
    stale: bool = field(default=False)


class Hub:
    """The process's reader thread and the events its phone streams watch (see the module)."""

    def __init__(self, *, autostart: bool = True):
        self.autostart = autostart  # False: no reader thread (tests drive ``reread``)
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._held: dict[int, Held] = {}
        self._loading = threading.Lock()
        self._thread: threading.Thread | None = None
        self._slots = threading.BoundedSemaphore(max(1, stream_slots()))
        self._size = stream_slots()
        # (event loop, event id) → the future its tasks await (``changed``)
        self._signals: dict[tuple, asyncio.Future] = {}

    # --- the streams' side ---------------------------------------------------------------

    def take_slot(self) -> bool:
        """One stream's place in this process; False when they are all taken."""
        if self._size != stream_slots():  # the setting changed (tests)
            self._slots = threading.BoundedSemaphore(max(1, stream_slots()))
            self._size = stream_slots()
        return self._size > 0 and self._slots.acquire(blocking=False)

    def give_slot(self) -> None:
        try:
            self._slots.release()
        except ValueError:  # the semaphore was replaced meanwhile
            pass

    def held(self, event_id: int) -> Held | None:
        """The public event ``event_id`` as the hub holds it (read now, in the caller's
        thread, the first time; None when there is no such public event). The caller's
        connection is closed again after that first read: a stream holds no connection
        for its hours."""
        self._start()
        with self._cond:
            held = self._held.get(event_id)
            if held is not None:
                held.asked_at = time.monotonic()
                return held
        with self._loading:
            with self._cond:
                held = self._held.get(event_id)
            if held is None:
                try:
                    held = self._read(event_id)
                finally:
                    let_go()
                if held is None:
                    return None
                with self._cond:
                    held = self._held.setdefault(event_id, held)
            held.asked_at = time.monotonic()
            return held

    def streams_of(self, event_id: int) -> int:
        """How many of this process's streams wait on ``event_id`` now."""
        with self._cond:
            held = self._held.get(event_id)
            return held.waiting if held else 0

    def wait(self, event_id: int, generation: int, timeout: float) -> Held | None:
        """The event once its generation differs from ``generation``, or after
        ``timeout`` seconds (the same generation then); None if it is gone."""
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            held = self._held.get(event_id)
            if held is None:
                return None
            held.waiting += 1
            try:
                while held.generation == generation:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                    current = self._held.get(event_id)
                    if current is None:  # no longer public
                        return None
                    held.waiting -= 1
                    held = current
                    held.waiting += 1
            finally:
                held.waiting -= 1
            held.asked_at = time.monotonic()
            return held

    async def changed(
        self, event_id: int, generation: int, timeout: float, gone: asyncio.Future | None = None
    ) -> Held | None:
        """``wait`` for a task of an ASGI server, or until ``gone`` (the phone hung up) is
        done: the tasks of one event loop share one future per event, resolved from the
        reader's thread (no task of its own per phone and change: 2,000 phones wake
        twice a second on opening day)."""
        loop = asyncio.get_running_loop()
        with self._cond:
            held = self._held.get(event_id)
            if held is None or held.generation != generation:
                return held
            signal = self._signals.get((loop, event_id))
            if signal is None:
                signal = self._signals[(loop, event_id)] = loop.create_future()
            held.waiting += 1
        try:
            await asyncio.wait(
                (signal,) if gone is None else (signal, gone),
                timeout=max(0.0, timeout),
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            with self._cond:
                held.waiting -= 1
        with self._cond:
            held = self._held.get(event_id)
            if held is not None:
                held.asked_at = time.monotonic()
            return held

    def _wake(self, event_id: int) -> None:
        """Wake the streams of ``event_id`` (under ``_cond``): the threads and, in their
        own loops, the tasks."""
        self._cond.notify_all()
        for loop, signalled in [key for key in self._signals if key[1] == event_id]:
            loop.call_soon_threadsafe(self._fire, loop, signalled)

    def _fire(self, loop, event_id: int) -> None:
        signal = self._signals.pop((loop, event_id), None)
        if signal is not None and not signal.done():
            signal.set_result(None)

    # --- the reader's side ------------------------------------------------------------------

    def _start(self) -> None:
        if not self.autostart or (self._thread is not None and self._thread.is_alive()):
            return
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="loupan-live-hub", daemon=True)
            self._thread.start()

    @staticmethod
    def _read(event_id: int) -> Held | None:
        from .selectors import public_event

        event = public_event(event_id)
        if event is None:
            return None
        board = live.read_board(event)
        return Held(event, board, live.board_version(event, board), read_at=time.monotonic())

    def stop(self, timeout: float = 10.0) -> None:
        """End the reader thread and close its connections (tests, before the test
        database goes)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def reread(self, event_id: int) -> None:
        """Read the held event ``event_id`` again now, in the caller's thread."""
        with self._cond:
            held = self._held.get(event_id)
        if held is not None:
            self._reread(event_id, held)

    def _reread(self, event_id: int, held: Held) -> None:
        fresh = self._read(event_id)
        with self._cond:
            if fresh is None:  # no longer public: the streams end
                self._held.pop(event_id, None)
            elif fresh.version != held.version or fresh.event.status != held.event.status:
                fresh.generation = held.generation + 1
                fresh.asked_at = held.asked_at
                self._held[event_id] = fresh
            else:
                held.read_at = fresh.read_at
                return
            self._wake(event_id)

    def _due(self, changed: set[int]) -> list[tuple[int, Held]]:
        now = time.monotonic()
        due = []
        with self._cond:
            for event_id, held in list(self._held.items()):
                if not held.waiting and now - held.asked_at > IDLE:
                    del self._held[event_id]
                elif held.waiting and (
                    event_id in changed or held.stale or now - held.read_at > REFRESH
                ):
                    held.stale = False
                    due.append((event_id, held))
        return due

    def _changed(self) -> set[int]:
        """The events a stream waits on whose version moved since the hub read them (one
        indexed query each: ``live.version``). An event no stream waits on is not read:
        a stream that comes for it later is brought up to date at the next tick."""
        with self._cond:
            watched = [(event_id, held) for event_id, held in self._held.items() if held.waiting]
        return {event_id for event_id, held in watched if live.version(event_id) != held.version}

    def _run(self) -> None:
        try:
            while not self._stop.wait(tick_seconds()):
                try:
                    for event_id, held in self._due(self._changed()):
                        self._reread(event_id, held)
                except Exception as exc:  # the database went away: read again shortly
                    log.warning("opening live hub: %s", exc)
                    self._close_connection()
                    with self._cond:  # whatever came meanwhile
                        for held in self._held.values():
                            held.stale = True
                    self._stop.wait(RETRY)
        finally:
            self._close_connection()

    @staticmethod
    def _close_connection() -> None:
        try:
            connection.close()
        except DatabaseError:
            pass


hub = Hub()
