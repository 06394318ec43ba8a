"""``audit_batch``: a transaction's entries join the chain together at its end, so the
chain's lock is held only from there to the commit (opening day's picks, bench/opening).
The chain they make is the one ``verify-audit`` checks, an aborted batch writes nothing,
and on PostgreSQL another transaction appends while a batch is still at work."""

import threading

import pytest
from django.db import connection

from loupan.audit.models import AuditAction, AuditEntry
from loupan.audit.services import audit_batch, audit_record, verify_chain


def _record(i, name="batch"):
    return audit_record(
        actor=None,
        action=AuditAction.ACTION,
        username=name,
        object_type="test.batch",
        object_id=str(i),
        extra={"i": i},
    )


@pytest.mark.django_db
def test_a_batch_appends_its_entries_at_its_end_in_order(demo):
    before = AuditEntry.objects.count()
    with audit_batch():
        first = _record(1)
        second = _record(2)
        assert AuditEntry.objects.count() == before  # nothing linked yet
        with audit_batch():  # nested: the outer batch appends
            third = _record(3)
        assert AuditEntry.objects.count() == before
    rows = list(AuditEntry.objects.filter(object_type="test.batch").order_by("id"))
    assert [r.object_id for r in rows] == ["1", "2", "3"]
    assert [r.pk for r in rows] == [first.pk, second.pk, third.pk]
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    previous = AuditEntry.objects.filter(id__lt=rows[0].pk).order_by("-id").first()
    assert rows[0].prev_hash == previous.hash
    assert verify_chain()[1] is None
    # an entry outside a batch is appended at once, after them
    after = _record(4)
    assert after.pk and after.prev_hash == rows[2].hash


@pytest.mark.django_db
def test_a_batch_that_fails_writes_nothing(demo):
    before = AuditEntry.objects.count()
    with pytest.raises(RuntimeError), audit_batch():
        _record(1)
        raise RuntimeError("refused")
    assert AuditEntry.objects.count() == before
    assert _record(2).pk  # and the next append is not in a batch
    assert verify_chain()[1] is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_chain_lock_is_not_held_while_a_batch_works(demo):
    recorded, appended = threading.Event(), threading.Event()
    errors = []

    def batch():
        try:
            with audit_batch():
                _record(1, "slow")
                recorded.set()
                # another transaction appends meanwhile: before batches, this waited
                # on the lock this transaction held until its commit
                assert appended.wait(10), "the other append waited for this batch"
                _record(2, "slow")
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def other():
        try:
            assert recorded.wait(10)
            _record(1, "quick")
            appended.set()
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=batch), threading.Thread(target=other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert not errors, errors
    names = list(
        AuditEntry.objects.filter(object_type="test.batch")
        .order_by("id")
        .values_list("actor_username", flat=True)
    )
    assert names == ["quick", "slow", "slow"]
    assert verify_chain()[1] is None
