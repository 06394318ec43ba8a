"""A hot path's statements run as one PostgreSQL function: one round trip and one
transaction of its own instead of ``BEGIN``, each statement and ``COMMIT`` (bench/opening:
the pick of opening day).

The function's body is assembled from the statements the Python path runs, as their
builders make them (``render``: their parameters become the function's arguments and
variables, or literals), so that a rule stays written once, in the query that Python
runs too. Its name carries the SHA-256 of its text: a changed body is a new function,
created the first time a process needs it (``ensure``), by a connection of its own
that commits at once (a transaction that rolls back, a test's, does not take it away
from the processes that saw it); the old one stays until the database is rebuilt, and
nothing calls it any more. An app installs its functions at ``migrate`` too (run as the
tables' owner); a role that may not create functions (production's, docs/operations.md)
gets ``Unavailable`` for one that is missing, and the caller runs its Python path.

PostgreSQL only: elsewhere the Python path runs its statements itself."""

from __future__ import annotations

import hashlib
import re
import threading

import psycopg
from django.db import ProgrammingError, connections

from .prepared import prepared_cursor

_PLACEHOLDER = re.compile(r"%(%|s)")
_created: set[tuple[str, str]] = set()
_lock = threading.Lock()


class Unavailable(Exception):
    """The function is missing and this database role may not create it."""


class Variable(str):
    """A name of the function's (an argument, a variable) that ``render`` puts in the
    place of a parameter, as it is."""


def render(sql: str, params, using: str = "default") -> str:
    """``sql`` with Django's placeholders (``%s``; ``%%`` is a percent sign) replaced by
    ``params``: a ``Variable`` by its name, anything else by its SQL literal (psycopg's
    quoting, as the server would bind it)."""
    ops = connections[using].ops
    values = iter(params)

    def one(match: re.Match) -> str:
        if match[1] == "%":
            return "%"
        value = next(values)
        if isinstance(value, Variable):
            return str(value)
        return ops.compose_sql("%s", [value])

    text = _PLACEHOLDER.sub(one, sql)
    if next(values, None) is not None:
        raise ValueError("render: more parameters than placeholders")
    return text


def named(prefix: str, signature: str, body: str) -> tuple[str, str]:
    """The function's name (``prefix`` and the first 16 hex digits of the SHA-256 of its
    text) and its ``CREATE FUNCTION`` statement. ``signature``: the arguments and what it
    returns, ``(…) RETURNS …``; ``body``: PL/pgSQL, ``DECLARE … BEGIN … END``."""
    text = f"{signature} LANGUAGE plpgsql VOLATILE AS $body$\n#variable_conflict use_column\n{body}\n$body$"
    name = f"{prefix}_{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    return name, f"CREATE OR REPLACE FUNCTION {name}{text}"


def ensure(name: str, create: str, using: str = "default") -> str:
    """``name`` once it exists in ``using``'s database: created by ``create`` (its own
    connection, committed at once) the first time this process asks for it."""
    connection = connections[using]
    key = (connection.settings_dict["NAME"], name)
    if key in _created:
        return name
    with _lock:
        if key not in _created:
            _create(connection, name, create)
            _created.add(key)
    return name


def call(function: tuple[str, str], args: list, using: str = "default") -> tuple | None:
    """The first row of ``SELECT * FROM name(args)`` (``function``: ``named``'s name and
    statement), the function ``ensure``d first. When it is gone all the same (the
    database made again under the same name while this process ran), it is made again
    and called once more, if the caller's transaction lets it (not inside ``atomic``:
    the failed statement aborted it)."""
    name, create = function
    sql = f"SELECT * FROM {name}({', '.join(['%s'] * len(args))})"
    for last in (False, True):
        ensure(name, create, using)
        try:
            with prepared_cursor(using) as cursor:
                cursor.execute(sql, args)
                return cursor.fetchone()
        except ProgrammingError as exc:
            gone = isinstance(exc.__cause__, psycopg.errors.UndefinedFunction)
            if last or not gone or connections[using].in_atomic_block:
                raise
            forget(name, using)
    return None  # not reached: the second try returns or raises


def forget(name: str, using: str = "default") -> None:
    """``ensure`` asks the database again for ``name`` (it was dropped under us)."""
    _created.discard((connections[using].settings_dict["NAME"], name))


def connection_params(using: str = "default") -> dict:
    """psycopg's connection parameters for ``settings.DATABASES[using]``, built by
    Django's backend itself (name, user, password, host, port and OPTIONS such as
    ``sslmode``), without the Python objects Django adds for its own connections: for a
    connection of one's own beside Django's."""
    params = connections[using].get_connection_params()
    for key in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(key, None)
    params.setdefault("connect_timeout", 10)
    return params


def _create(connection, name: str, create: str) -> None:
    with psycopg.connect(**connection_params(connection.alias), autocommit=True) as own:

        def exists() -> bool:
            found = own.execute("SELECT 1 FROM pg_proc WHERE proname = %s", [name])
            return found.fetchone() is not None

        if exists():
            return
        try:
            own.execute(create)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise Unavailable(name) from exc
        except psycopg.errors.DatabaseError:
            # another process created it at the same moment ("tuple concurrently updated")
            if not exists():
                raise
