"""The trail is append-only: the application refuses to change or remove an entry, and on
PostgreSQL the database itself refuses UPDATE and DELETE."""

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from loupan.audit.models import AuditAction, AuditEntry
from loupan.audit.services import audit_record


@pytest.fixture
def entry(db):
    return audit_record(
        actor=None, action=AuditAction.ACTION, username="tester", object_repr="一条"
    )


def _unchanged(entry):
    fresh = AuditEntry.objects.get(pk=entry.pk)
    assert fresh.object_repr == "一条"
    assert fresh.hash == entry.hash


def test_new_entry_is_saved(entry):
    assert entry.pk is not None
    assert AuditEntry.objects.filter(pk=entry.pk, hash=entry.hash).exists()


def test_save_on_existing_row_is_refused(entry):
    entry.object_repr = "改过"
    with pytest.raises(PermissionError, match="append-only"):
        entry.save()
    with pytest.raises(PermissionError):
        entry.save(update_fields=["object_repr"])
    _unchanged(entry)


def test_instance_delete_is_refused(entry):
    with pytest.raises(PermissionError, match="append-only"):
        entry.delete()
    _unchanged(entry)


def test_queryset_update_is_refused(entry):
    with pytest.raises(PermissionError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).update(object_repr="改过")
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().update(object_repr="改过")
    _unchanged(entry)


def test_queryset_delete_is_refused(entry):
    count = AuditEntry.objects.count()
    with pytest.raises(PermissionError, match="append-only"):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.count() == count


def test_bulk_update_is_refused(entry):
    entry.object_repr = "改过"
    # bulk_update joins the caller's transaction (no savepoint): give it its own.
    with pytest.raises(PermissionError), transaction.atomic():
        AuditEntry.objects.bulk_update([entry], ["object_repr"])
    _unchanged(entry)


def test_restricted_queryset_is_append_only_too(demo, entry):
    from loupan.accounts.models import User

    auditor = User.objects.get(username="auditor")
    qs = AuditEntry.objects.restrict(auditor, "view").filter(pk=entry.pk)
    assert qs.exists()
    with pytest.raises(PermissionError):
        qs.update(object_repr="改过")
    with pytest.raises(PermissionError):
        qs.delete()
    _unchanged(entry)


def _raw(sql, params):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.postgres
def test_database_refuses_raw_update(entry):
    with pytest.raises(DatabaseError) as exc:
        _raw("UPDATE audit_auditentry SET object_repr = %s WHERE id = %s", ["改过", entry.pk])
    assert isinstance(exc.value.__cause__, psycopg.errors.InsufficientPrivilege)
    assert "append-only" in str(exc.value)
    _unchanged(entry)


@pytest.mark.postgres
def test_database_refuses_raw_delete(entry):
    count = AuditEntry.objects.count()
    with pytest.raises(DatabaseError) as exc:
        _raw("DELETE FROM audit_auditentry WHERE id = %s", [entry.pk])
    assert isinstance(exc.value.__cause__, psycopg.errors.InsufficientPrivilege)
    assert "DELETE" in str(exc.value)
    assert AuditEntry.objects.count() == count


@pytest.mark.postgres
def test_database_refuses_bulk_raw_delete(entry):
    with pytest.raises(DatabaseError):
        _raw("DELETE FROM audit_auditentry WHERE id > %s", [0])
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


@pytest.mark.postgres
def test_raw_insert_is_still_allowed(entry):
    """The trigger guards UPDATE and DELETE only: appending works (the services append)."""
    second = audit_record(actor=None, action=AuditAction.ACTION, username="tester")
    assert second.prev_hash == entry.hash
