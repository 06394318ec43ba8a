"""Short transactions that stand even when they refuse, and several of them committed as
one (group commit).

``standing(work)`` runs ``work`` in one transaction that is committed even when it
refuses (raises a ``DomainError``): what it counted before the refusal stands (a
buyer's last request, a wrong code), then the refusal is raised to the caller.

On PostgreSQL, concurrent callers of one server process share their transactions: the
first caller to find none running becomes the leader, takes every work queued by then
(``LOUPAN_GROUP_COMMIT`` of them at most) and runs them one after the other in one
transaction on its own connection, each in its caller's context (``contextvars``: the
request's address; the language and the time zone), each refusal kept for its caller;
the callers that queued meanwhile wait, and one of them leads the next group. One
``BEGIN`` and one ``COMMIT`` for the group instead of one each, and a NOTIFY the works
share is delivered once (PostgreSQL folds identical ones in a transaction): on opening
day (bench/opening, issue 16) a pick's BEGIN and COMMIT were about a fifth of its cost.

What each caller sees is what it would alone: its work's result or its refusal, after
the commit. Only the caller's transaction is shared, never its outcome: a work that
raises anything else (a bug, a lost connection, a deadlock between two groups) rolls
the group back, and every work of the group runs again alone in its caller's thread (a
callback of the commit that raises is logged: what was committed stands). A caller
inside a transaction of its own (``atomic``) runs alone, inside it, as before, so that
nobody else's work is committed or rolled back with it. ``order`` sorts a group (the
pick: its unit) so that two groups take the rows they share in the same order.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.utils import timezone, translation

from .errors import DomainError

logger = logging.getLogger(__name__)


def _alone(work: Callable[[], Any], using: str) -> Any:
    """``work`` in a transaction of its own (or a savepoint of the caller's), committed
    even when it refuses; the refusal raised after."""
    refusal = None
    with transaction.atomic(using=using):
        try:
            result = work()
        except DomainError as exc:
            refusal = exc
    if refusal is not None:
        raise refusal
    return result


class _Work:
    __slots__ = (
        "alone",
        "context",
        "done",
        "language",
        "order",
        "refusal",
        "result",
        "work",
        "zone",
    )

    def __init__(self, work, order):
        self.work = work
        self.order = order
        # the caller's context; Django's language and time zone live in asgiref's Locals,
        # which a thread sees only in its own, so they are carried over by hand
        self.context = contextvars.copy_context()
        self.language = translation.get_language()
        self.zone = timezone.get_current_timezone()
        self.done = False
        self.alone = False
        self.result = self.refusal = None


class Group:
    """The group commit of one database in one process (``standing``)."""

    def __init__(self, using: str = "default"):
        self.using = using
        self._cond = threading.Condition()
        self._queue: list[_Work] = []
        self._busy = False
        # how many groups ran, and the works in them (bench/opening prints the mean)
        self.groups = self.works = 0

    def queued(self) -> int:
        """How many works wait for the next group."""
        with self._cond:
            return len(self._queue)

    def run(self, work: Callable[[], Any], order=0, limit: int = 32) -> Any:
        item = _Work(work, order)
        with self._cond:
            self._queue.append(item)
            while not item.done:
                if self._busy:
                    self._cond.wait()
                    continue
                self._busy = True
                group, self._queue = self._queue[:limit], self._queue[limit:]
                self._cond.release()
                try:
                    self._commit(group)
                finally:
                    self._cond.acquire()
                    self._busy = False
                    for done in group:
                        done.done = True
                    self._cond.notify_all()
        if item.alone:
            return _alone(work, self.using)
        if item.refusal is not None:
            raise item.refusal
        return item.result

    @staticmethod
    def _as_caller(item: _Work) -> Any:
        if item.language == translation.get_language():
            if item.zone == timezone.get_current_timezone():
                return item.work()
        with translation.override(item.language), timezone.override(item.zone):
            return item.work()

    def _commit(self, group: list[_Work]) -> None:
        group.sort(key=lambda item: item.order)
        committed = []
        try:
            with transaction.atomic(using=self.using):
                # the first of the commit's callbacks: any raising after it finds the
                # group committed
                transaction.on_commit(lambda: committed.append(True), using=self.using)
                for item in group:
                    try:
                        item.result = item.context.run(self._as_caller, item)
                    except DomainError as exc:
                        item.refusal = exc
        except Exception:
            if committed:  # a work's callback after the commit: the outcomes stand
                logger.exception("a callback after a group commit failed")
            else:  # the group is rolled back: each work again, alone, in its caller's thread
                for item in group:
                    item.alone = True
                    item.result = item.refusal = None
        self.groups += 1
        self.works += len(group)


_groups: dict[str, Group] = {}
_groups_lock = threading.Lock()


def group(using: str = "default") -> Group:
    """This process's ``Group`` of the database ``using``."""
    found = _groups.get(using)
    if found is None:
        with _groups_lock:
            found = _groups.setdefault(using, Group(using))
    return found


def standing(work: Callable[[], Any], *, order=0, using: str = "default") -> Any:
    """``work()`` in a transaction committed even when it refuses (a ``DomainError``,
    raised after the commit); shared with the other callers of this process where it
    can be (the module's docstring)."""
    limit = settings.LOUPAN_GROUP_COMMIT
    connection = connections[using]
    if limit <= 1 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return _alone(work, using)
    return group(using).run(work, order, limit)
