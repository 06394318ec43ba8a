"""Fixtures of the audit-trail tests."""

import pytest
from django.db import connection

from loupan.accounts.models import User
from loupan.audit.models import AuditEntry


@pytest.fixture
def user(demo):
    """``user("sysadmin")``: a demo user, freshly loaded."""
    return lambda username: User.objects.get(username=username)


@pytest.fixture
def last_entry():
    """The newest audit entry (or None)."""
    return lambda: AuditEntry.objects.order_by("-id").first()


@pytest.fixture
def new_entries():
    """``mark = new_entries(); …; new_entries(mark)``: the entries written since the mark,
    oldest first."""

    def _new(mark=None):
        if mark is None:
            return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
        return list(AuditEntry.objects.filter(id__gt=mark).order_by("id"))

    return _new


@pytest.fixture
def tamper():
    """``tamper(sql, params)``: raw SQL behind the application's back, as someone with
    database access would run it. On PostgreSQL the append-only trigger is disabled for
    the statement (inside the test's transaction, so it is back afterwards)."""

    def _tamper(sql, params=()):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    "ALTER TABLE audit_auditentry DISABLE TRIGGER audit_auditentry_append_only"
                )
            cursor.execute(sql, list(params))
            if connection.vendor == "postgresql":
                cursor.execute(
                    "ALTER TABLE audit_auditentry ENABLE TRIGGER audit_auditentry_append_only"
                )

    return _tamper
