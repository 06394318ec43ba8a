"""core.dbfunction: a hot path's statements as one PostgreSQL function, its body made of
the statements Python runs (their parameters as its arguments, or literals)."""

import datetime

import pytest
from django.db import ProgrammingError, connection, transaction

from loupan.core import dbfunction
from loupan.core.dbfunction import Variable

postgres = pytest.mark.postgres  # PL/pgSQL: PostgreSQL's own


@postgres
@pytest.mark.django_db
def test_render_puts_variables_and_literals_in_the_placeholders():
    sql = "SELECT %s, %s, %s, '50%%', %s WHERE x LIKE 'a%%'"
    at = datetime.datetime(2026, 12, 7, 8, 30, tzinfo=datetime.UTC)
    text = dbfunction.render(sql, [Variable("p_event"), "it's", None, at])
    assert text.startswith("SELECT p_event, 'it''s', NULL, '50%', '2026-12-07")
    assert text.endswith("WHERE x LIKE 'a%'")
    with pytest.raises(ValueError, match="more parameters"):
        dbfunction.render("SELECT %s", [1, 2])


def test_the_name_follows_the_text():
    one = dbfunction.named("demo_fn", "() RETURNS integer", "BEGIN RETURN 1; END")
    same = dbfunction.named("demo_fn", "() RETURNS integer", "BEGIN RETURN 1; END")
    two = dbfunction.named("demo_fn", "() RETURNS integer", "BEGIN RETURN 2; END")
    assert one == same and one[0] != two[0]
    assert one[0].startswith("demo_fn_") and len(one[0]) == len("demo_fn_") + 16
    assert one[1].startswith(f"CREATE OR REPLACE FUNCTION {one[0]}() RETURNS integer")


@postgres
@pytest.mark.django_db(transaction=True)
def test_ensure_creates_it_once_committed_whatever_the_callers_transaction_does():
    body = f"BEGIN RETURN p_x * 2; END -- {datetime.datetime.now().isoformat()}"
    name, create = dbfunction.named("demo_twice", "(p_x integer) RETURNS integer", body)
    try:
        with transaction.atomic():
            assert dbfunction.ensure(name, create) == name
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {name}(21)")
                assert cursor.fetchone() == (42,)
            transaction.set_rollback(True)
        # the caller's transaction rolled back; the function, created on a connection of
        # its own, stays
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = %s", [name])
            assert cursor.fetchone() == (1,)
        # asked again: known to this process, no second CREATE
        assert dbfunction.ensure(name, "SELECT broken") == name
        assert dbfunction.call((name, create), [5]) == (10,)
        # dropped under this process (its database made again): made again at the call,
        # outside a transaction; inside one the error stands (the transaction is aborted)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP FUNCTION {name}(integer)")
        with pytest.raises(ProgrammingError), transaction.atomic():
            dbfunction.call((name, create), [5])
        assert dbfunction.call((name, create), [6]) == (12,)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP FUNCTION IF EXISTS {name}(integer)")
        dbfunction.forget(name)


@postgres
@pytest.mark.django_db(transaction=True)
def test_a_role_that_may_not_create_functions_gets_unavailable():
    # production's application role does not own the schema (docs/operations.md): the
    # functions come from ``migrate``; one missing is ``Unavailable`` to the caller,
    # which runs its Python path
    with connection.cursor() as cursor:
        cursor.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = "
            "'loupan_no_ddl') THEN CREATE ROLE loupan_no_ddl; END IF; END $$"
        )
        cursor.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    body = f"BEGIN RETURN 1; END -- {datetime.datetime.now().isoformat()}"
    name, create = dbfunction.named("demo_no_ddl", "() RETURNS integer", body)
    as_that_role = f"SET ROLE loupan_no_ddl; {create}"
    try:
        with pytest.raises(dbfunction.Unavailable):
            dbfunction.ensure(name, as_that_role)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_proc WHERE proname = %s", [name])
            assert cursor.fetchone() == (0,)
    finally:
        dbfunction.forget(name)
