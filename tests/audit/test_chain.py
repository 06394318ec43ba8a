"""Tamper evidence: every entry hashes its content with the previous entry's hash, so an
edit behind the application's back, or a removed row, is found at that exact place — by
``verify_chain()`` and by ``loupan verify-audit``. On PostgreSQL the chain stays one line
under concurrent appends (an advisory lock orders them)."""

import io
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from loupan.audit.models import GENESIS_HASH, AuditAction, AuditEntry
from loupan.audit.services import audit_record, verify_chain


def _append(n, **kwargs):
    return [
        audit_record(
            actor=None,
            action=AuditAction.ACTION,
            username=kwargs.get("username", "tester"),
            object_type="test.thing",
            object_id=str(i),
            object_repr=f"第 {i} 条",
            changes={"n": [i, i + 1]},
            extra={"k": "值"},
        )
        for i in range(n)
    ]


def _before(entry):
    return AuditEntry.objects.filter(id__lt=entry.pk).count()


# Every test here runs on SQLite and, in the PostgreSQL pass, on PostgreSQL: the raw SQL
# differs only by the trigger switch above.


def test_chain_links_each_entry_to_the_one_before(db):
    a, b, c = _append(3)
    assert b.prev_hash == a.hash
    assert c.prev_hash == b.hash
    assert a.hash == a.compute_hash()
    first = AuditEntry.objects.order_by("id").first()
    assert first.prev_hash == GENESIS_HASH


def test_intact_chain(db):
    _append(5)
    total = AuditEntry.objects.count()
    assert verify_chain() == (total, None, "")
    assert verify_chain(batch_size=2) == (total, None, "")


def test_empty_chain_is_intact(db, tamper):
    tamper("DELETE FROM audit_auditentry", [])
    assert verify_chain() == (0, None, "")


def test_edited_row_is_found_at_that_row(db, tamper):
    a, b, c = _append(3)
    tamper("UPDATE audit_auditentry SET object_repr = %s WHERE id = %s", ["偷改", b.pk])
    assert verify_chain() == (_before(b), b.pk, "content")


@pytest.mark.parametrize(
    "column, value",
    [
        ("actor_username", "someone_else"),
        ("ip", "10.0.0.1"),
        ("action", "delete"),
        ("object_id", "999"),
        ("changes", '{"n": [0, 100]}'),
        ("extra", "{}"),
    ],
)
def test_any_edited_column_is_found(db, column, value, tamper):
    a, b, c = _append(3)
    tamper(f"UPDATE audit_auditentry SET {column} = %s WHERE id = %s", [value, b.pk])
    assert verify_chain()[1:] == (b.pk, "content")


def test_edited_timestamp_is_found(db, tamper):
    a, b, c = _append(3)
    tamper("UPDATE audit_auditentry SET created_at = %s WHERE id = %s", [a.created_at, c.pk])
    assert verify_chain()[1:] == (c.pk, "content")


def test_edit_with_recomputed_hash_breaks_the_next_link(db, tamper):
    a, b, c = _append(3)
    forged = AuditEntry.objects.get(pk=b.pk)
    forged.object_repr = "伪造"
    new_hash = forged.compute_hash()
    tamper(
        "UPDATE audit_auditentry SET object_repr = %s, hash = %s WHERE id = %s",
        ["伪造", new_hash, b.pk],
    )
    assert verify_chain() == (_before(c), c.pk, "prev_hash")


def test_deleted_middle_row_is_found_at_the_next_row(db, tamper):
    a, b, c = _append(3)
    tamper("DELETE FROM audit_auditentry WHERE id = %s", [b.pk])
    assert verify_chain() == (_before(c), c.pk, "prev_hash")


def test_deleted_first_row_is_found(db, tamper):
    _append(2)
    first, second = AuditEntry.objects.order_by("id")[:2]
    tamper("DELETE FROM audit_auditentry WHERE id = %s", [first.pk])
    assert verify_chain() == (0, second.pk, "prev_hash")


def test_verify_command_intact(db):
    _append(2)
    out = io.StringIO()
    call_command("verify-audit", stdout=out)
    total = AuditEntry.objects.count()
    assert "审计日志完好" in out.getvalue()
    assert f"共 {total} 条记录" in out.getvalue()
    assert f"audit trail intact: {total} entries" in out.getvalue()


def test_verify_command_names_the_edited_row(db, tamper):
    a, b, c = _append(3)
    tamper("UPDATE audit_auditentry SET object_repr = %s WHERE id = %s", ["x", b.pk])
    with pytest.raises(CommandError) as exc:
        call_command("verify-audit", stdout=io.StringIO())
    assert f"第 {b.pk} 条" in str(exc.value)
    assert "content edited" in str(exc.value)
    assert f"此前 {_before(b)} 条完好" in str(exc.value)


def test_verify_command_names_the_row_after_a_removed_one(db, tamper):
    a, b, c = _append(3)
    tamper("DELETE FROM audit_auditentry WHERE id = %s", [b.pk])
    with pytest.raises(CommandError) as exc:
        call_command("verify-audit", stdout=io.StringIO())
    assert f"第 {c.pk} 条" in str(exc.value)
    assert "previous hash mismatch" in str(exc.value)


def test_hash_covers_the_previous_hash(db):
    (a,) = _append(1)
    twin = AuditEntry(**{f.attname: getattr(a, f.attname) for f in AuditEntry._meta.fields})
    twin.prev_hash = "f" * 64
    assert twin.compute_hash() != a.hash


@pytest.mark.postgres
def test_postgres_tampering_needs_the_trigger_off_and_is_found(db, tamper):
    """On PostgreSQL an edit is refused outright; with the trigger switched off by the
    table's owner the edit and a removal still show in the chain."""
    a, b, c, d = _append(4)
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE audit_auditentry SET object_repr = %s WHERE id = %s", ["x", b.pk]
            )
    assert verify_chain()[1] is None
    tamper("DELETE FROM audit_auditentry WHERE id = %s", [c.pk])
    assert verify_chain() == (_before(d), d.pk, "prev_hash")
    tamper("UPDATE audit_auditentry SET object_repr = %s WHERE id = %s", ["x", b.pk])
    assert verify_chain() == (_before(b), b.pk, "content")
    with pytest.raises(CommandError, match=f"第 {b.pk} 条"):
        call_command("verify-audit", stdout=io.StringIO())
    # The trigger is back on after tampering.
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditentry WHERE id = %s", [a.pk])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_one_chain():
    threads, per_thread = 8, 10
    before = AuditEntry.objects.count()
    barrier = threading.Barrier(threads)
    errors = []

    def worker(index):
        try:
            barrier.wait(timeout=30)
            for i in range(per_thread):
                with transaction.atomic():
                    audit_record(
                        actor=None,
                        action=AuditAction.ACTION,
                        username=f"thread{index}",
                        object_type="test.concurrency",
                        object_id=f"{index}-{i}",
                    )
        except Exception as exc:  # reported below; a thread's exception is otherwise lost
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not errors, errors
    assert AuditEntry.objects.filter(object_type="test.concurrency").count() == 80
    total = AuditEntry.objects.count()
    assert total == before + 80
    assert verify_chain() == (total, None, "")
    # One line, no fork: no two entries claim the same predecessor.
    prevs = list(AuditEntry.objects.values_list("prev_hash", flat=True))
    assert len(set(prevs)) == len(prevs)
