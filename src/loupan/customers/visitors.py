"""The visitors 来访客户 of each calendar month, quarter and year kept as they happen, for
the 来电来访客户分析 of the monthly report (issue 15 "Precomputed daily aggregates ...
kept true by the same transactions that change the data"): a year's distinct visitors are
some 350,000 customers of a million, too many to read again at every page.

A visitor is counted once per period however often they came, so the visitors of a year
are not the sum of its months': the database keeps each period on its own.

* ``VisitorPeriod``: one row per customer, period (``kind`` m, q or y and its first
  day, in ``TIME_ZONE``'s calendar) and consultant in which the customer visited
  (``consultant_key`` 0: received by anyone; otherwise the consultant who received a
  visit of theirs in that period). A trigger on the visits brings the rows of the
  customer whose visit came, went or moved in line with their visits: a visit that
  goes takes away the customer's periods left without one, one that comes adds those
  missing (idempotent whatever the order: on PostgreSQL the row triggers of a
  statement of many rows run after all of them; nothing comes back in a database
  emptied table by table, as SQLite's flush does).
* ``VisitorProfile``: per project, period, consultant key, the customer's channel
  (``channel_key``, 0 for none), dimension (``DIMENSIONS``: the customer's occupation,
  income band, education, residence district and motive) and value, the number of those
  customers: kept by triggers on ``VisitorPeriod`` (a row that comes adds its customer
  to their five values, one that goes takes them away) and on the customers (a changed
  answer, channel or project moves the customer's periods to the new values).

``counts`` reads one period's profile in the shape of
``deals.reports.dimension_counts``; ``rebuild`` counts both tables again from the rows
(after a load with the triggers off; the tests compare the two).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import connection, transaction

from loupan.core import triggers

from .traffic import _offset_minutes

PERIODS = "customers_visitorperiod"
PROFILE = "customers_visitorprofile"
PERIOD_KEY = ("customer_key", "kind", "first_day", "consultant_key")
PROFILE_KEY = (
    "project_id",
    "kind",
    "first_day",
    "consultant_key",
    "channel_key",
    "dimension",
    "value",
)
# the customer's answers the analysis counts (``deals.reports.ANALYSIS``, the channel
# apart: it is the key ``channel_key``), in the order of ``dimension``
DIMENSIONS = ("occupation", "income_band", "education", "residence_district", "motive")
KINDS = {"month": "m", "quarter": "q", "year": "y"}


def _first_day(vendor: str, kind: str, column: str) -> str:
    """SQL for the first day of the local month, quarter or year of ``column``."""
    if vendor == "postgresql":
        unit = {"m": "month", "q": "quarter", "y": "year"}[kind]
        return f"date_trunc('{unit}', ({column}) AT TIME ZONE '{settings.TIME_ZONE}')::date"
    shift = f"'{_offset_minutes():+d} minutes'"
    if kind == "y":
        return f"date({column}, {shift}, 'start of year')"
    if kind == "m":
        return f"date({column}, {shift}, 'start of month')"
    month = f"(CAST(substr(date({column}, {shift}), 6, 2) AS INTEGER) - 1)"
    back = f"({month} - 3 * ({month} / 3))"  # months since the quarter began
    return f"date({column}, {shift}, 'start of month', '-' || {back} || ' months')"


def _first_day_of(vendor: str, kind_column: str, column: str) -> str:
    """The first day of ``column``'s period of the kind held in ``kind_column``."""
    return (
        f"CASE {kind_column} WHEN 'm' THEN {_first_day(vendor, 'm', column)} "
        f"WHEN 'q' THEN {_first_day(vendor, 'q', column)} "
        f"ELSE {_first_day(vendor, 'y', column)} END"
    )


KIND_ROWS = "(SELECT 'm' AS kind UNION ALL SELECT 'q' UNION ALL SELECT 'y')"
WHO_ROWS = "(SELECT 0 AS who UNION ALL SELECT 1)"
DIMENSION_ROWS = "(SELECT 0 AS dim UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 " + (
    "UNION ALL SELECT 4)"
)


def _periods_of_visits(vendor: str, where: str) -> str:
    """SELECT DISTINCT (customer, kind, first day, consultant key) of the visits
    ``v`` that ``where`` picks."""
    return (
        "SELECT DISTINCT v.customer_id, k.kind, "
        f"{_first_day_of(vendor, 'k.kind', 'v.visited_at')}, "
        "CASE w.who WHEN 0 THEN 0 ELSE v.consultant_id END "
        f"FROM customers_visit v CROSS JOIN {KIND_ROWS} k CROSS JOIN {WHO_ROWS} w WHERE {where}"
    )


def _drop(vendor: str, customer: str) -> str:
    """Take away the periods of the customer ``customer`` (an id expression) left
    without a visit (after a visit went or moved)."""
    first = _first_day_of(vendor, f"{PERIODS}.kind", "v.visited_at")
    return (
        f"DELETE FROM {PERIODS} WHERE customer_key = {customer} AND NOT EXISTS ("
        f"SELECT 1 FROM customers_visit v WHERE v.customer_id = {customer} "
        f"AND ({PERIODS}.consultant_key = 0 OR v.consultant_id = {PERIODS}.consultant_key) "
        f"AND {first} = {PERIODS}.first_day)"
    )


def _keep(vendor: str, customer: str) -> str:
    """Add the periods of the customer ``customer``'s visits that are not there yet
    (after a visit came or moved). Only a visit that comes or moves adds a period, so
    a database emptied table by table (SQLite's flush) grows none back."""
    return (
        f"INSERT INTO {PERIODS} ({', '.join(PERIOD_KEY)}) "
        f"{_periods_of_visits(vendor, f'v.customer_id = {customer}')} "
        f"ON CONFLICT ({', '.join(PERIOD_KEY)}) DO NOTHING"
    )


def _value(row: str) -> str:
    """The value of dimension ``d.dim`` of the customer ``row``."""
    whens = " ".join(f"WHEN {i} THEN {row}.{name}" for i, name in enumerate(DIMENSIONS[:-1]))
    return f"COALESCE(CASE d.dim {whens} ELSE {row}.{DIMENSIONS[-1]} END, '')"


def _add(exprs: list[str], tail: str, sign: str) -> str:
    """Add (``+``) or take (``-``) the rows of ``SELECT exprs tail`` (the profile's key
    and 1) to or from the profile; one that goes is taken from its key's count, which
    exists, and never makes a row."""
    if sign == "+":
        return (
            f"INSERT INTO {PROFILE} ({', '.join(PROFILE_KEY)}, visitors) "
            f"SELECT {', '.join(exprs)}, 1 {tail} "
            f"ON CONFLICT ({', '.join(PROFILE_KEY)}) "
            f"DO UPDATE SET visitors = {PROFILE}.visitors + 1"
        )
    named = ", ".join(f"{e} AS {n}" for e, n in zip(exprs, PROFILE_KEY, strict=True))
    match = " AND ".join(f"{PROFILE}.{k} = d_.{k}" for k in PROFILE_KEY)
    return (
        f"UPDATE {PROFILE} SET visitors = {PROFILE}.visitors - 1 "
        f"FROM (SELECT {named} {tail}) AS d_ WHERE {match}"
    )


def _period_profile(row: str, sign: str) -> str:
    """The customer of the period row ``row`` (NEW or OLD) added to or taken from its
    five values."""
    exprs = [
        "c.project_id",
        f"{row}.kind",
        f"{row}.first_day",
        f"{row}.consultant_key",
        "COALESCE(c.channel_id, 0)",
        "d.dim",
        _value("c"),
    ]
    tail = (
        f"FROM customers_customer c CROSS JOIN {DIMENSION_ROWS} d WHERE c.id = {row}.customer_key"
    )
    return _add(exprs, tail, sign)


def _customer_profile(row: str, sign: str) -> str:
    """Every period of the customer ``row`` (OLD or NEW) under its values."""
    exprs = [
        f"{row}.project_id",
        "p.kind",
        "p.first_day",
        "p.consultant_key",
        f"COALESCE({row}.channel_id, 0)",
        "d.dim",
        _value(row),
    ]
    tail = f"FROM {PERIODS} p CROSS JOIN {DIMENSION_ROWS} d WHERE p.customer_key = {row}.id"
    return _add(exprs, tail, sign)


VISIT_MOVED = (
    "OLD.customer_id IS NOT NEW.customer_id OR OLD.visited_at IS NOT NEW.visited_at OR "
    "OLD.consultant_id IS NOT NEW.consultant_id"
)
CUSTOMER_MOVED = " OR ".join(
    f"OLD.{name} IS NOT NEW.{name}" for name in ("project_id", "channel_id", *DIMENSIONS)
)


def _triggers(vendor: str) -> list[tuple[str, str, str, str, list[str]]]:
    """(name, table, event, WHEN condition, statements) of every trigger."""
    return [
        (
            "customers_visitors_ins",
            "customers_visit",
            "INSERT",
            "",
            [_keep(vendor, "NEW.customer_id")],
        ),
        (
            "customers_visitors_del",
            "customers_visit",
            "DELETE",
            "",
            [_drop(vendor, "OLD.customer_id")],
        ),
        (
            "customers_visitors_upd",
            "customers_visit",
            "UPDATE",
            VISIT_MOVED,
            [_drop(vendor, "OLD.customer_id"), _keep(vendor, "NEW.customer_id")],
        ),
        ("customers_vperiod_ins", PERIODS, "INSERT", "", [_period_profile("NEW", "+")]),
        ("customers_vperiod_del", PERIODS, "DELETE", "", [_period_profile("OLD", "-")]),
        (
            "customers_vprofile_upd",
            "customers_customer",
            "UPDATE",
            CUSTOMER_MOVED,
            [_customer_profile("OLD", "-"), _customer_profile("NEW", "+")],
        ),
    ]


def install_sql(vendor: str) -> list[str]:
    """The statements that create the triggers on ``vendor`` (postgresql or sqlite)."""
    return triggers.install_sql(vendor, _triggers(vendor))


def uninstall_sql(vendor: str) -> list[str]:
    return triggers.uninstall_sql(vendor, _triggers(vendor))


def periods_sql(vendor: str, project_id: int | None = None) -> str:
    """SELECT of the periods counted from the visits (of one project's customers, or
    all): the key of ``VisitorPeriod``."""
    where = (
        "v.customer_id IN (SELECT id FROM customers_customer WHERE project_id = %(p)s)"
        if project_id
        else "true"
    )
    return _periods_of_visits(vendor, where)


def profile_sql(project_id: int | None = None) -> str:
    """SELECT of the profile counted from the periods and the customers: its key and
    the number of customers."""
    where = "WHERE c.project_id = %(p)s" if project_id else ""
    return (
        f"SELECT c.project_id, p.kind, p.first_day, p.consultant_key, "
        f"COALESCE(c.channel_id, 0), d.dim, {_value('c')}, COUNT(*) "
        f"FROM {PERIODS} p JOIN customers_customer c ON c.id = p.customer_key "
        f"CROSS JOIN {DIMENSION_ROWS} d {where} GROUP BY 1, 2, 3, 4, 5, 6, 7"
    )


def rebuild(project_id: int | None = None, using=None) -> int:
    """Count the periods and the profile of one project (or all) again from the visits
    and the customers; the profile rows it now holds. For a load that ran with the
    triggers off (with them on it is right too, only slower), and after a change of
    TIME_ZONE."""
    conn = connection if using is None else using
    params = {"p": project_id}
    of_project = "IN (SELECT id FROM customers_customer WHERE project_id = %(p)s)"
    with transaction.atomic(using=conn.alias), conn.cursor() as cur:
        cur.execute(
            f"DELETE FROM {PERIODS} " + (f"WHERE customer_key {of_project}" if project_id else ""),
            params,
        )
        cur.execute(
            f"INSERT INTO {PERIODS} ({', '.join(PERIOD_KEY)}) "
            f"{periods_sql(conn.vendor, project_id)}",
            params,
        )
        cur.execute(
            f"DELETE FROM {PROFILE} " + ("WHERE project_id = %(p)s" if project_id else ""),
            params,
        )
        cur.execute(
            f"INSERT INTO {PROFILE} ({', '.join(PROFILE_KEY)}, visitors) {profile_sql(project_id)}",
            params,
        )
        return cur.rowcount


def period_kind(start: datetime.date, end: datetime.date) -> str | None:
    """The kind (m, q, y) of the calendar month, quarter or year ``start``–``end`` is
    exactly, or None."""
    if start.day != 1:
        return None
    nxt = end + datetime.timedelta(days=1)
    if nxt.day != 1:
        return None
    months = (nxt.year - start.year) * 12 + nxt.month - start.month
    if months == 1:
        return "m"
    if months == 3 and start.month % 3 == 1:
        return "q"
    if months == 12 and start.month == 1:
        return "y"
    return None


def counts(project, kind: str, first_day: datetime.date, *, consultant=None, channel=None):
    """The kept profile of one period as ``deals.reports.dimension_counts`` gives it:
    ``{field: [(value, count), …]}`` for the five answers and ``channel__name``, over
    the visitors of ``project`` in the period (received by ``consultant``, of
    ``channel``, when given)."""
    from .models import Channel, VisitorProfile

    rows = VisitorProfile.objects.filter(
        project=project,
        kind=kind,
        first_day=first_day,
        consultant_key=consultant.pk if consultant else 0,
        visitors__gt=0,
    )
    if channel is not None:
        rows = rows.filter(channel_key=channel.pk)
    sums: dict[str, dict] = {name: {} for name in (*DIMENSIONS, "channel__name")}
    names = dict(Channel.objects.filter(project=project).values_list("pk", "name"))
    for dim, value, channel_key, n in rows.values_list(
        "dimension", "value", "channel_key", "visitors"
    ):
        of = sums[DIMENSIONS[dim]]
        of[value] = of.get(value, 0) + n
        if dim == 0:
            name = names.get(channel_key) if channel_key else None
            sums["channel__name"][name] = sums["channel__name"].get(name, 0) + n
    return {field: list(values.items()) for field, values in sums.items()}
