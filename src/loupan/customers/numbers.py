"""No number belongs to two live customers of a project (撞单, seed 002), whichever of
phone and second phone holds it: ``CustomerNumber`` holds each live customer's numbers,
unique per project, and triggers on the customers keep it in the writing statement, so
that the database refuses the second of two registrations however close they come (the
services answer ``selectors.find_existing`` before, and map the refusal to the same
撞单). An anonymized customer's numbers are free again."""

from django.db import connection, transaction

from loupan.core import triggers

TABLE = "customers_customernumber"


def _insert(row: str) -> list[str]:
    """The numbers of the customer ``row`` (NEW), when live."""
    live = f"{row}.anonymized_at IS NULL"
    return [
        f"INSERT INTO {TABLE} (project_id, phone, customer_id) "
        f"SELECT {row}.project_id, {row}.phone, {row}.id WHERE {live} AND {row}.phone <> ''",
        f"INSERT INTO {TABLE} (project_id, phone, customer_id) "
        f"SELECT {row}.project_id, {row}.phone2, {row}.id WHERE {live} AND {row}.phone2 <> '' "
        f"AND {row}.phone2 <> {row}.phone",
    ]


def _delete(row: str) -> list[str]:
    return [f"DELETE FROM {TABLE} WHERE customer_id = {row}.id"]


CHANGED = (
    "OLD.phone IS NOT NEW.phone OR OLD.phone2 IS NOT NEW.phone2 OR "
    "OLD.project_id IS NOT NEW.project_id OR OLD.anonymized_at IS NOT NEW.anonymized_at"
)


def _triggers():
    return [
        (name, "customers_customer", event, when, statements)
        for name, event, when, statements in (
            ("customers_numbers_ins", "INSERT", "", _insert("NEW")),
            ("customers_numbers_upd", "UPDATE", CHANGED, _delete("OLD") + _insert("NEW")),
            ("customers_numbers_del", "DELETE", "", _delete("OLD")),
        )
    ]


def install_sql(vendor: str) -> list[str]:
    return triggers.install_sql(vendor, _triggers())


def uninstall_sql(vendor: str) -> list[str]:
    return triggers.uninstall_sql(vendor, _triggers())


def rebuild(project_id: int | None = None, using=None) -> None:
    """The numbers of the live customers (of one project, or all) written again from
    the customers: after a load with the triggers off, and when the rule arrives (a
    number two of them held before it stays with the first created)."""
    conn = connection if using is None else using
    only = "AND project_id = %(p)s" if project_id else ""
    with transaction.atomic(using=conn.alias), conn.cursor() as cur:
        cur.execute(
            f"DELETE FROM {TABLE} WHERE true {only}",
            {"p": project_id},
        )
        cur.execute(
            f"""
            INSERT INTO {TABLE} (project_id, phone, customer_id)
            SELECT project_id, phone, MIN(id) FROM (
                SELECT project_id, phone, id FROM customers_customer
                WHERE anonymized_at IS NULL AND phone <> '' {only}
                UNION ALL
                SELECT project_id, phone2, id FROM customers_customer
                WHERE anonymized_at IS NULL AND phone2 <> '' AND phone2 <> phone {only}
            ) numbers GROUP BY project_id, phone
            """,
            {"p": project_id},
        )
