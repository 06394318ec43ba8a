"""The database itself keeps the ledger honest, on SQLite and on PostgreSQL:

* a ledger entry is never updated or deleted (a mistake is reversed by a red entry);
* no entry is written dated in a day whose sheet waits for review or is closed
  (日清日结); reopening the day (an approved action) is what lets one in again.

TRUNCATE is left to the table owner (test databases are flushed that way), as for the
audit trail (docs/operations.md). SQLite flushes a test database with DELETE and has no
TRUNCATE, so there the DELETE guard is left out: the embedded database is the demo's.
"""

from django.db import migrations

LOCKED = "('pending', 'closed')"

PG_CREATE = f"""
CREATE OR REPLACE FUNCTION payments_ledgerentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'payments_ledgerentry is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER payments_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON payments_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION payments_ledgerentry_append_only();

CREATE OR REPLACE FUNCTION payments_ledgerentry_open_day() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM payments_dayclose
               WHERE project_id = NEW.project_id AND day = NEW.paid_on
                 AND status IN {LOCKED}) THEN
        RAISE EXCEPTION 'day % is closed: no new ledger entry', NEW.paid_on
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER payments_ledgerentry_open_day
    BEFORE INSERT ON payments_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION payments_ledgerentry_open_day();
"""

PG_DROP = """
DROP TRIGGER IF EXISTS payments_ledgerentry_append_only ON payments_ledgerentry;
DROP FUNCTION IF EXISTS payments_ledgerentry_append_only();
DROP TRIGGER IF EXISTS payments_ledgerentry_open_day ON payments_ledgerentry;
DROP FUNCTION IF EXISTS payments_ledgerentry_open_day();
"""

SQLITE_CREATE = [
    """
    CREATE TRIGGER payments_ledgerentry_no_update BEFORE UPDATE ON payments_ledgerentry
    BEGIN SELECT RAISE(ABORT, 'payments_ledgerentry is append-only: UPDATE refused'); END
    """,
    f"""
    CREATE TRIGGER payments_ledgerentry_open_day BEFORE INSERT ON payments_ledgerentry
    WHEN EXISTS (SELECT 1 FROM payments_dayclose
                 WHERE project_id = NEW.project_id AND day = NEW.paid_on
                   AND status IN {LOCKED})
    BEGIN SELECT RAISE(ABORT, 'day is closed: no new ledger entry'); END
    """,
]

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS payments_ledgerentry_no_update",
    "DROP TRIGGER IF EXISTS payments_ledgerentry_open_day",
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_CREATE, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_CREATE:
            schema_editor.execute(sql, params=None)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DROP, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_DROP:
            schema_editor.execute(sql, params=None)


class Migration(migrations.Migration):
    dependencies = [("payments", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
