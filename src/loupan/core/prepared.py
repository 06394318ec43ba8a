"""A values queryset compiled to SQL once per process and run again with other
arguments: for the few reads of a hot path (opening day's pick), where Django's compiling
costs more than the database's work (bench/opening: 1.9 ms to compile the pick's facts,
under 0.1 ms to run them). The queryset stays the one definition of what is read (its
rules, e.g. ``opening.services.claimable``); only its compiling is kept.

    facts = Prepared(lambda entry, unit: Entry.objects.filter(pk=entry).values(...),
                     "entry", "unit")
    row = facts.first(entry=7, unit=12)      # {"status": …, …} or None

The arguments are integers (ids), texts when named in ``text``, or moments (aware
datetimes) when named in ``moments``: ``build`` is called with a distinct sentinel for each,
and every place the compiled SQL's parameters hold a sentinel takes the argument at each
call. It is compiled twice with two sets of sentinels (small positive numbers: Django
folds a value out of a field's range into the SQL), and the places must agree, so a
constant of the query that happens to equal a sentinel cannot be mistaken for it; an
argument that does not come out as a parameter is refused."""

from __future__ import annotations

import datetime
import functools
import sys
import threading

from django.db import connections
from django.db.models import DEFERRED

# inside every integer field's range, even a PositiveSmallIntegerField's
_SENTINELS = (32767, 32567)
# a moment's sentinel: this, plus as many seconds as an integer's
_EPOCH = datetime.datetime(1901, 1, 1, tzinfo=datetime.UTC)


class Prepared:
    defined: list[Prepared] = []  # those of the project's modules, for ``compile_all``

    def __init__(
        self, build, *names: str, text: tuple[str, ...] = (), moments: tuple[str, ...] = ()
    ):
        self._build = build
        self._names = names + text + moments
        self._text = text
        self._moments = moments
        self._compiled: dict[str, tuple] = {}
        self._lock = threading.Lock()
        # a query of one of the project's modules (not one a test or a shell makes)
        if sys._getframe(1).f_globals.get("__name__", "").startswith("loupan."):
            Prepared.defined.append(self)

    def _sentinel(self, name: str, value: int):
        if name in self._text:
            return f"\x01{name}\x01{value}"
        if name in self._moments:
            return _EPOCH + datetime.timedelta(seconds=value)
        return value

    def _slots(self, using: str, base: int):
        sentinels = {name: self._sentinel(name, base - i) for i, name in enumerate(self._names)}
        query = self._build(**sentinels).query
        compiler = query.get_compiler(using)
        sql, params = compiler.as_sql()
        by_value = {value: name for name, value in sentinels.items()}
        for name in self._moments:  # as the backend binds it (SQLite: a text)
            adapted = connections[using].ops.adapt_datetimefield_value(sentinels[name])
            by_value[adapted] = name
        # an int, or the backend's wrapper of one (psycopg's Int2 for a small field); a
        # text; a moment
        slots = [
            by_value.get(p)
            if isinstance(p, str | datetime.datetime)
            else by_value.get(int(p))
            if isinstance(p, int) and not isinstance(p, bool)
            else None
            for p in params
        ]
        return query, compiler, sql, params, slots

    def _compile(self, using: str) -> tuple:
        query, compiler, sql, params, slots = self._slots(using, _SENTINELS[0])
        if self._slots(using, _SENTINELS[1])[4] != slots:
            raise ValueError("Prepared: a constant of the query equals a sentinel")
        missing = set(self._names) - set(slots)
        if missing:
            raise ValueError(f"Prepared: {sorted(missing)} not a parameter of the SQL")
        columns = [*query.extra_select, *query.values_select, *query.annotation_select]
        if len(columns) != len(compiler.select):
            raise ValueError("Prepared: a values() queryset, please")
        # the backend's converters (SQLite's datetimes come back as text, its booleans
        # as integers), applied with the calling thread's connection
        converters = list(compiler.get_converters([col for col, _, _ in compiler.select]).items())
        return sql, list(params), slots, columns, converters

    def compile(self, using: str = "default") -> tuple:
        """The query compiled for ``using``'s database, once (no connection needed)."""
        key = f"{using}:{connections[using].vendor}"
        compiled = self._compiled.get(key)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(key) or self._compile(using)
                self._compiled[key] = compiled
        return compiled

    def rows(self, using: str = "default", **args) -> list[dict]:
        connection = connections[using]
        sql, params, slots, columns, converters = self.compile(using)
        values = [
            p
            if not slot
            else connection.ops.adapt_datetimefield_value(args[slot])
            if slot in self._moments
            else type(p)(args[slot])
            for p, slot in zip(params, slots, strict=True)
        ]
        with prepared_cursor(using) as cursor:
            cursor.execute(sql, values)
            found = [list(row) for row in cursor.fetchall()]
        for row in found:
            for index, (functions, expression) in converters:
                for convert in functions:
                    row[index] = convert(row[index], expression, connection)
        return [dict(zip(columns, row, strict=True)) for row in found]

    def first(self, using: str = "default", **args) -> dict | None:
        found = self.rows(using, **args)
        return found[0] if found else None

    def instance(self, model, using: str = "default", **args):
        """The first row as a ``model`` instance, as the ORM loads one (``from_db``): the
        queryset's ``values()`` are the model's field attnames (``fields_of``)."""
        found = self.first(using, **args)
        return model.from_db(using, list(found), list(found.values())) if found else None


def compile_all(using: str = "default") -> None:
    """Every ``Prepared`` of the project's modules imported so far compiled for
    ``using``: at a server process's start, so that its first requests do not wait for
    it (``opening.pick_http.warm``)."""
    for prepared in Prepared.defined:
        prepared.compile(using)


def loaded(
    model,
    values: dict,
    related: dict | None = None,
    *,
    adding: bool = False,
    using: str = "default",
):
    """A ``model`` instance made as the ORM loads one (``from_db``: no field's default
    computed, no descriptor run; ``Model(**kwargs)`` does both for every field, which
    on opening day's pick cost more than its queries' Python), from ``values`` by
    attname (a field not given is deferred: reading it queries), with the related
    objects at hand in ``related`` by field name (reading them queries nothing).
    ``adding``: a row not saved yet, whose fields not given take their defaults, as
    with ``Model(...)``."""
    if adding:
        values = {**values, **{f.attname: f.get_default() for f in _missing(model, tuple(values))}}
    # what ``from_db`` does: every field by position (Django's fast path), DEFERRED
    # for those not given
    instance = model(*[values.get(name, DEFERRED) for name in _attnames(model)])
    if not adding:  # as loaded from ``using`` (a new row is nobody's until saved)
        instance._state.adding = False
        instance._state.db = using
    for name, value in (related or {}).items():
        model._meta.get_field(name).set_cached_value(instance, value)
    return instance


@functools.cache
def _missing(model, given: tuple[str, ...]) -> tuple:
    """``model``'s concrete fields whose attname is not in ``given``."""
    return tuple(f for f in model._meta.concrete_fields if f.attname not in given)


@functools.cache
def _attnames(model) -> tuple[str, ...]:
    return tuple(fields_of(model))


def fields_of(model) -> list[str]:
    """Every concrete field's attname, for ``values()`` and ``Prepared.instance``."""
    return [field.attname for field in model._meta.concrete_fields]


def prepared_cursor(using: str = "default"):
    """A cursor whose statements PostgreSQL parses and plans once per connection: bound
    on the server and prepared (psycopg's ``prepare=True``), where Django's cursors bind
    on the client and so have every statement planned again (bench/opening: the pick's
    short statements cost the database four times what pgbench's do), the rows sent in
    binary (no timestamp parsed from text in Python). For the few statements of a hot
    path run thousands of times with other values; on other databases, Django's cursor.

    Django's own cursor (its checks, its execute wrappers and its query log) when
    something listens: a test counting queries, ``connection.execute_wrapper``, DEBUG.
    Otherwise psycopg's, its errors raised as Django's (``wrap_database_errors``): the
    wrapper cost a third of each statement's Python on opening day's pick."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return connection.cursor()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:  # Django's: psycopg then prepares nothing at all
        # only what asks (``prepare=True``) is prepared: Django's cursors bind on the
        # client, which never prepares, and nothing else binds on the server
        raw.prepare_threshold = 2**31 - 1
    if not connection.execute_wrappers and not connection.queries_logged:
        connection.validate_no_broken_transaction()
        return _Cursor(_preparing_cursor_class()(raw), connection.wrap_database_errors)
    factory = raw.cursor_factory
    raw.cursor_factory = _preparing_cursor_class()
    try:
        return connection.cursor()  # Django's checks, time zone and wrappers
    finally:
        raw.cursor_factory = factory


class _Cursor:
    """psycopg's cursor with the database's errors raised as Django's, what
    ``prepared_cursor``'s callers use of a cursor."""

    __slots__ = ("cursor", "errors")

    def __init__(self, cursor, errors):
        self.cursor, self.errors = cursor, errors

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cursor.close()

    def execute(self, sql, params=None):
        with self.errors:
            return self.cursor.execute(sql, params)

    def fetchone(self):
        with self.errors:
            return self.cursor.fetchone()

    def fetchall(self):
        with self.errors:
            return self.cursor.fetchall()

    @property
    def rowcount(self) -> int:
        return self.cursor.rowcount


_PREPARING = None


def _preparing_cursor_class():
    global _PREPARING
    if _PREPARING is None:
        from django.db.backends.postgresql.base import ServerBindingCursor

        class PreparingCursor(ServerBindingCursor):
            def execute(self, query, params=None, *, prepare=None, binary=None):
                return super().execute(query, params, prepare=True, binary=True)

            def _send_query_prepared(self, name, pgq, *, binary=None):
                # what Django's debug cursor logs (its SQL, with $1 … for the values):
                # psycopg keeps it only for a statement it did not prepare
                self._query = pgq
                return super()._send_query_prepared(name, pgq, binary=binary)

        _PREPARING = PreparingCursor
    return _PREPARING
