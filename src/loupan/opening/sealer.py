"""Where a pick's reservation is written (issue 16, bench/opening): in the request
that claimed it, or by one sealer thread of the server process.

A pick is two steps (``services``): the claim (one short transaction: the ``Pick`` row)
and its sealing (``services.picks_seal``: the deal and the audit entry, in batches, one
sealer at a time). ``LOUPAN_PICK_SEAL`` says who seals:

* ``inline`` (the default): the request that claimed seals right after its claim is
  written, every pick still waiting with it, and answers with the deal. Simple, and what
  an office with a few terminals needs;
* ``background``: the request answers as soon as its claim is committed, and wakes the
  process's sealer thread, which seals whatever waits (the claims of every worker and
  server, one batch per transaction) until nothing does. The buyers' picks then wait
  for no counter and no chain, but the thread shares its server's CPU (and its
  interpreter's lock) with the requests: under load the sealing took most of the
  server's CPU while buyers waited for their answers (bench/opening);
* ``process``: the request answers at its claim and does nothing more; ``loupan
  seal-picks``, a process of its own started beside the servers, sees the picks come
  (``live.latest_pick``, read every ``QUIET`` seconds) and seals whatever waits, at a
  lower CPU priority (``nice``): while buyers pick, the sealing gets what their
  requests leave, and the reservations follow as soon as the rush thins. Opening day's setting.

``loupan run-due`` seals what a stopped process left, in every mode.

Nothing here is a rule: the thread only calls ``services.picks_seal``.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connection

from . import live

log = logging.getLogger(__name__)


def mode() -> str:
    return getattr(settings, "LOUPAN_PICK_SEAL", "inline")


def in_background() -> bool:
    """The process's sealer thread seals (``background``)."""
    return mode() == "background"


def inline() -> bool:
    """The request that claimed seals (``inline``)."""
    return mode() == "inline"


class Sealer:
    """One thread per process, started by the first ``wake``; each ``wake`` makes it
    run ``seal`` once more (several wakes while it runs: once more)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._due = threading.Event()
        self._thread: threading.Thread | None = None
        self._running = False
        self.runs = 0  # how many times it sealed (tests)

    def wake(self, seal) -> None:
        self._seal = seal
        self._due.set()
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="loupan-pick-sealer", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while True:
            self._due.wait()
            with self._lock:
                self._due.clear()
                self._running = True
            try:
                close_old_connections()
                self._seal()
                self.runs += 1
            except Exception:  # the thread must live on; run-due seals what is left
                log.exception("sealing picks failed")
            finally:
                with self._lock:
                    self._running = False
                    done = not self._due.is_set()
                if done:
                    connection.close()  # nothing more to do: its connection goes back

    def settle(self, timeout: float = 30.0) -> bool:
        """Wait until nothing is due and no run is under way (tests, shutdown)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._due.is_set() and not self._running:
                    return True
            time.sleep(0.01)
        return False


_sealer = Sealer()


def wake(seal) -> None:
    _sealer.wake(seal)


def settle(timeout: float = 30.0) -> bool:
    return _sealer.settle(timeout)


QUIET = 0.2  # seconds without a pick that end a rush (``follow``)
AT_MOST = 10.0  # seconds a rush may hold the sealing back


def follow(
    seal,
    *,
    stop: threading.Event | None = None,
    interval: float = 1.0,
    quiet: float = QUIET,
    at_most: float = AT_MOST,
) -> None:
    """The sealer process (``loupan seal-picks``): ``seal`` whatever waits, then look for
    a new pick every ``quiet`` seconds (``live.latest_pick``, one index read) for
    ``interval`` seconds at most, again and again until ``stop`` is set. While picks
    keep coming it lets the rush pass first (``after_the_rush``: until ``quiet`` seconds
    bring no pick, ``at_most`` seconds at most), so that the sealing's statements do not
    take the database from the buyers either. A failure (the database restarted) is
    logged and the loop goes on after ``interval``."""
    stop = stop or threading.Event()
    seen = None
    while not stop.is_set():
        try:
            close_old_connections()
            if seen is None:
                seen = live.latest_pick()
            seal()
            # a new pick, looked for every ``quiet`` seconds, ``interval`` at most
            seen, came = _look(seen, quiet or interval, interval, stop, until_moved=True)
            if came:
                seen = after_the_rush(quiet, at_most, stop, seen)
        except Exception:  # the process must live on; run-due seals what is left
            log.exception("sealing picks failed")
            seen = None
            connection.close()
            stop.wait(interval)


def _look(seen: int, step: float, within: float, stop: threading.Event, *, until_moved: bool):
    """Read the latest pick id every ``step`` seconds, ``within`` seconds at most, until
    a read finds it moved since the one before (``until_moved``) or not: the latest
    id, and whether the last read found it moved."""
    deadline = time.monotonic() + within
    moved = False
    while not stop.is_set() and (left := deadline - time.monotonic()) > 0:
        stop.wait(min(step, left))
        latest = live.latest_pick()
        moved, seen = latest != seen, latest
        if moved == until_moved:
            break
    return seen, moved


def after_the_rush(quiet: float, at_most: float, stop: threading.Event, seen: int) -> int:
    """Return once ``quiet`` seconds have brought no pick after ``seen``, or ``at_most``
    seconds have passed (at once when ``quiet`` is 0); the latest pick id then."""
    if quiet <= 0:
        return seen
    return _look(seen, quiet, at_most, stop, until_moved=False)[0]
