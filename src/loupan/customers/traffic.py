"""The office's daily traffic 来电来访 kept as it happens (issue 15 "Precomputed daily
aggregates ... kept true by the same transactions that change the data"): one
``DailyTraffic`` row per project, local day, channel 认知途径 and person, holding

* ``calls`` and ``research_calls``: the ``CallRecord`` rows called that day, by the call's
  channel and whoever received it (peer research calls 同行调研 apart);
* ``first_visits`` and ``returning_visits``: the ``Visit`` rows of that day, by the
  customer's channel and the consultant who received the visit (``is_first``);
* ``registrations``: the customers registered that day, by their channel and whoever
  registered them.

The database keeps it: a trigger on each of the three tables adds the inserted row,
takes away the deleted one and moves the updated one, in the statement's own
transaction, whoever writes (the services, an import, a bulk load, the admin). A
customer whose channel (or project) changes moves their registration and their visits.
``channel_key`` and ``consultant_key`` are 0 for "none" (so that the key is unique).

The same triggers keep each customer's first contact ``Customer.first_contact_at``: the
earliest of their visits and of the calls linked to them (the 录入 deadline of seed 004
二 runs from it), lowered by a new contact and counted again when one goes or moves.

The local day is the day in ``TIME_ZONE`` (on SQLite its fixed UTC offset: the zone must
have no daylight saving, as China's has none). ``rebuild`` counts everything again from
the rows (after a load that turned the triggers off, or to check them: the tests compare
the two).
"""

from __future__ import annotations

import datetime
import zoneinfo

from django.conf import settings
from django.db import connection, transaction

from loupan.core import triggers

TABLE = "customers_dailytraffic"
KEY = ("project_id", "day", "channel_key", "consultant_key")
COUNTS = ("calls", "research_calls", "first_visits", "returning_visits", "registrations")


def _offset_minutes() -> int:
    """The fixed UTC offset of ``TIME_ZONE`` in minutes (SQLite's local day)."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    winter = datetime.datetime(2025, 1, 15, tzinfo=zone).utcoffset()
    summer = datetime.datetime(2025, 7, 15, tzinfo=zone).utcoffset()
    if winter != summer:
        raise RuntimeError(
            f"TIME_ZONE {settings.TIME_ZONE} has daylight saving: the daily traffic on "
            "SQLite needs a fixed offset (use PostgreSQL)"
        )
    return int(winter.total_seconds() // 60)


def local_day(vendor: str, column: str) -> str:
    """SQL for the local day of the timestamp ``column``."""
    if vendor == "postgresql":
        return f"(({column}) AT TIME ZONE '{settings.TIME_ZONE}')::date"
    return f"date({column}, '{_offset_minutes():+d} minutes')"


def _add(exprs: list[str], tail: str, sign: str) -> str:
    """Add the rows of ``SELECT exprs tail`` (the key, then the five counts) to the
    traffic: a row that comes (``+``) is inserted or added to its key's counts; one that
    goes (``-``) is taken from its key's counts, which exist, and never makes a row (a
    database emptied table by table must not grow rows for what it already emptied)."""
    if sign == "+":
        add = ", ".join(f"{c} = {TABLE}.{c} + excluded.{c}" for c in COUNTS)
        return (
            f"INSERT INTO {TABLE} ({', '.join(KEY + COUNTS)}) SELECT {', '.join(exprs)} {tail} "
            f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {add}"
        )
    named = ", ".join(f"{e} AS {n}" for e, n in zip(exprs, KEY + COUNTS, strict=True))
    take = ", ".join(f"{c} = {TABLE}.{c} + d.{c}" for c in COUNTS)
    match = " AND ".join(f"{TABLE}.{k} = d.{k}" for k in KEY)
    return f"UPDATE {TABLE} SET {take} FROM (SELECT {named} {tail}) AS d WHERE {match}"


def _call(vendor: str, row: str, sign: str) -> str:
    exprs = [
        f"{row}.project_id",
        local_day(vendor, f"{row}.called_at"),
        f"COALESCE({row}.channel_id, 0)",
        f"COALESCE({row}.received_by_id, 0)",
        f"CASE WHEN {row}.is_research THEN 0 ELSE {sign}1 END",
        f"CASE WHEN {row}.is_research THEN {sign}1 ELSE 0 END",
        "0",
        "0",
        "0",
    ]
    return _add(exprs, "WHERE true", sign)


def _visit(vendor: str, row: str, sign: str) -> str:
    exprs = [
        "c.project_id",
        local_day(vendor, f"{row}.visited_at"),
        "COALESCE(c.channel_id, 0)",
        f"COALESCE({row}.consultant_id, 0)",
        "0",
        "0",
        f"CASE WHEN {row}.is_first THEN {sign}1 ELSE 0 END",
        f"CASE WHEN {row}.is_first THEN 0 ELSE {sign}1 END",
        "0",
    ]
    return _add(exprs, f"FROM customers_customer c WHERE c.id = {row}.customer_id", sign)


def _registration(vendor: str, row: str, sign: str) -> str:
    exprs = [
        f"{row}.project_id",
        local_day(vendor, f"{row}.registered_at"),
        f"COALESCE({row}.channel_id, 0)",
        f"COALESCE({row}.registered_by_id, 0)",
        "0",
        "0",
        "0",
        "0",
        f"{sign}1",
    ]
    return _add(exprs, "WHERE true", sign)


def _customer_visits(vendor: str, row: str, sign: str) -> str:
    """The visits of the customer ``row`` (OLD or NEW), counted under its channel."""
    exprs = [
        f"{row}.project_id",
        local_day(vendor, "v.visited_at"),
        f"COALESCE({row}.channel_id, 0)",
        "COALESCE(v.consultant_id, 0)",
        "0",
        "0",
        f"{sign}SUM(CASE WHEN v.is_first THEN 1 ELSE 0 END)",
        f"{sign}SUM(CASE WHEN v.is_first THEN 0 ELSE 1 END)",
        "0",
    ]
    return _add(
        exprs, f"FROM customers_visit v WHERE v.customer_id = {row}.id GROUP BY 1, 2, 3, 4", sign
    )


def _contacts_min(customer: str) -> str:
    """SQL for the earliest visit or linked call of the customer ``customer``."""
    return (
        "(SELECT MIN(m) FROM ("
        f"SELECT visited_at AS m FROM customers_visit WHERE customer_id = {customer} "
        f"UNION ALL SELECT called_at FROM customers_callrecord WHERE customer_id = {customer}"
        ") contacts)"
    )


def _first_contact(customer: str) -> str:
    """Set the first contact of the customer ``customer`` (an id expression) from its
    visits and linked calls."""
    return (
        f"UPDATE customers_customer SET first_contact_at = {_contacts_min(customer)} "
        f"WHERE id = {customer}"
    )


# A customer saved from a copy read before a contact came would write the old first
# contact back: whatever writes it, the database counts it again from the rows.
GUARD = "customers_first_contact_guard"
GUARD_WHEN = "OLD.first_contact_at IS NOT NEW.first_contact_at"


def _guard_sql(vendor: str) -> list[str]:
    if vendor == "postgresql":
        return [
            f"CREATE OR REPLACE FUNCTION {GUARD}() RETURNS trigger AS $$\n"
            f"BEGIN\n    NEW.first_contact_at := {_contacts_min('NEW.id')};\n"
            "    RETURN NEW;\nEND;\n$$ LANGUAGE plpgsql",
            f"DROP TRIGGER IF EXISTS {GUARD} ON customers_customer",
            f"CREATE TRIGGER {GUARD} BEFORE UPDATE ON customers_customer FOR EACH ROW "
            f"WHEN ({triggers.pg_condition(GUARD_WHEN)}) EXECUTE FUNCTION {GUARD}()",
        ]
    # SQLite's triggers do not fire themselves again (recursive_triggers is off)
    return [
        f"DROP TRIGGER IF EXISTS {GUARD}",
        f"CREATE TRIGGER {GUARD} AFTER UPDATE ON customers_customer FOR EACH ROW "
        f"WHEN {GUARD_WHEN} BEGIN {_first_contact('NEW.id')}; END",
    ]


def _earlier_contact(customer: str, at: str) -> str:
    """Lower the first contact of ``customer`` to ``at`` when it is earlier."""
    return (
        f"UPDATE customers_customer SET first_contact_at = {at} WHERE id = {customer} "
        f"AND (first_contact_at IS NULL OR first_contact_at > {at})"
    )


CALL_MOVED = (
    "OLD.project_id IS NOT NEW.project_id OR OLD.called_at IS NOT NEW.called_at OR "
    "OLD.channel_id IS NOT NEW.channel_id OR OLD.received_by_id IS NOT NEW.received_by_id "
    "OR OLD.is_research IS NOT NEW.is_research"
)
VISIT_MOVED = (
    "OLD.customer_id IS NOT NEW.customer_id OR OLD.visited_at IS NOT NEW.visited_at OR "
    "OLD.consultant_id IS NOT NEW.consultant_id OR OLD.is_first IS NOT NEW.is_first"
)
VISIT_LINKED = "OLD.customer_id IS NOT NEW.customer_id OR OLD.visited_at IS NOT NEW.visited_at"
CALL_LINKED = "OLD.customer_id IS NOT NEW.customer_id OR OLD.called_at IS NOT NEW.called_at"
REGISTRATION_MOVED = (
    "OLD.project_id IS NOT NEW.project_id OR OLD.registered_at IS NOT NEW.registered_at OR "
    "OLD.channel_id IS NOT NEW.channel_id OR OLD.registered_by_id IS NOT NEW.registered_by_id"
)
VISITS_MOVED = "OLD.project_id IS NOT NEW.project_id OR OLD.channel_id IS NOT NEW.channel_id"


def _triggers(vendor: str) -> list[tuple[str, str, str, str, list[str]]]:
    """(name, table, event, WHEN condition, statements) of every trigger."""
    return [
        (
            "customers_call_traffic_ins",
            "customers_callrecord",
            "INSERT",
            "",
            [_call(vendor, "NEW", "+"), _earlier_contact("NEW.customer_id", "NEW.called_at")],
        ),
        (
            "customers_call_traffic_del",
            "customers_callrecord",
            "DELETE",
            "",
            [_call(vendor, "OLD", "-"), _first_contact("OLD.customer_id")],
        ),
        (
            "customers_call_traffic_upd",
            "customers_callrecord",
            "UPDATE",
            CALL_MOVED,
            [_call(vendor, "OLD", "-"), _call(vendor, "NEW", "+")],
        ),
        (
            "customers_call_contact_upd",
            "customers_callrecord",
            "UPDATE",
            CALL_LINKED,
            [_first_contact("OLD.customer_id"), _first_contact("NEW.customer_id")],
        ),
        (
            "customers_visit_traffic_ins",
            "customers_visit",
            "INSERT",
            "",
            [_visit(vendor, "NEW", "+"), _earlier_contact("NEW.customer_id", "NEW.visited_at")],
        ),
        (
            "customers_visit_traffic_del",
            "customers_visit",
            "DELETE",
            "",
            [_visit(vendor, "OLD", "-"), _first_contact("OLD.customer_id")],
        ),
        (
            "customers_visit_traffic_upd",
            "customers_visit",
            "UPDATE",
            VISIT_MOVED,
            [_visit(vendor, "OLD", "-"), _visit(vendor, "NEW", "+")],
        ),
        (
            "customers_visit_contact_upd",
            "customers_visit",
            "UPDATE",
            VISIT_LINKED,
            [_first_contact("OLD.customer_id"), _first_contact("NEW.customer_id")],
        ),
        (
            "customers_reg_traffic_ins",
            "customers_customer",
            "INSERT",
            "",
            [_registration(vendor, "NEW", "+")],
        ),
        (
            "customers_reg_traffic_del",
            "customers_customer",
            "DELETE",
            "",
            [_registration(vendor, "OLD", "-")],
        ),
        (
            "customers_reg_traffic_upd",
            "customers_customer",
            "UPDATE",
            REGISTRATION_MOVED,
            [_registration(vendor, "OLD", "-"), _registration(vendor, "NEW", "+")],
        ),
        (
            "customers_cust_traffic_upd",
            "customers_customer",
            "UPDATE",
            VISITS_MOVED,
            [_customer_visits(vendor, "OLD", "-"), _customer_visits(vendor, "NEW", "+")],
        ),
    ]


def install_sql(vendor: str) -> list[str]:
    """The statements that create the triggers on ``vendor`` (postgresql or sqlite)."""
    return triggers.install_sql(vendor, _triggers(vendor)) + _guard_sql(vendor)


def uninstall_sql(vendor: str) -> list[str]:
    guard = [(GUARD, "customers_customer", "UPDATE", "", [])]
    return triggers.uninstall_sql(vendor, guard + _triggers(vendor))


def counted_sql(vendor: str, project_id: int | None = None) -> str:
    """SELECT of the traffic counted from the rows (the key, then the five counts),
    of one project or all."""
    calls_where = "WHERE project_id = %(p)s" if project_id else ""
    cust_where = "WHERE c.project_id = %(p)s" if project_id else ""
    return f"""
        SELECT project_id, day, channel_key, consultant_key, SUM(calls), SUM(research_calls),
               SUM(first_visits), SUM(returning_visits), SUM(registrations)
        FROM (
            SELECT project_id, {local_day(vendor, "called_at")} AS day,
                   COALESCE(channel_id, 0) AS channel_key,
                   COALESCE(received_by_id, 0) AS consultant_key,
                   CASE WHEN is_research THEN 0 ELSE 1 END AS calls,
                   CASE WHEN is_research THEN 1 ELSE 0 END AS research_calls,
                   0 AS first_visits, 0 AS returning_visits, 0 AS registrations
            FROM customers_callrecord {calls_where}
            UNION ALL
            SELECT c.project_id, {local_day(vendor, "v.visited_at")}, COALESCE(c.channel_id, 0),
                   COALESCE(v.consultant_id, 0), 0, 0,
                   CASE WHEN v.is_first THEN 1 ELSE 0 END,
                   CASE WHEN v.is_first THEN 0 ELSE 1 END, 0
            FROM customers_visit v JOIN customers_customer c ON c.id = v.customer_id {cust_where}
            UNION ALL
            SELECT c.project_id, {local_day(vendor, "c.registered_at")}, COALESCE(c.channel_id, 0),
                   COALESCE(c.registered_by_id, 0), 0, 0, 0, 0, 1
            FROM customers_customer c {cust_where}
        ) t
        GROUP BY project_id, day, channel_key, consultant_key
    """


def first_contacts_sql(project_id: int | None = None) -> str:
    """UPDATE every customer's first contact (of one project or all) from the rows."""
    where = "WHERE project_id = %(p)s" if project_id else ""
    return (
        "UPDATE customers_customer SET first_contact_at = "
        f"{_contacts_min('customers_customer.id')} {where}"
    )


def rebuild(project_id: int | None = None, using=None) -> int:
    """Count the traffic of one project (or all) again from the rows, and set the
    customers' first contacts; the traffic rows it now holds. For a load that ran with
    the triggers off, and after a change of TIME_ZONE."""
    conn = connection if using is None else using
    params = {"p": project_id}
    where = "WHERE project_id = %(p)s" if project_id else ""
    with transaction.atomic(using=conn.alias), conn.cursor() as cur:
        cur.execute(f"DELETE FROM {TABLE} {where}", params)
        cur.execute(
            f"INSERT INTO {TABLE} ({', '.join(KEY + COUNTS)}) "
            f"{counted_sql(conn.vendor, project_id)}",
            params,
        )
        rows = cur.rowcount
        cur.execute(first_contacts_sql(project_id), params)
        return rows
