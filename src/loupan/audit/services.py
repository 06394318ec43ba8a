"""Writing the audit trail. Services call these inside their own transaction, so an
action and its entry are committed together or not at all.

Appending links an entry to the one before it under a lock that is held until the
transaction commits, so the time between a transaction's first append and its commit is
spent one transaction at a time. A service whose transaction does much work after its
first entry and runs many times at once (opening day's pick) wraps it in
``audit_batch()``: its entries are appended together at the end of the block, and the
lock is held only from there to the commit. The chain is the same."""

from contextlib import contextmanager
from contextvars import ContextVar

from django.db import connection, transaction
from django.utils import timezone

from loupan.core import context
from loupan.core.snapshot import diff, json_value, snapshot

from .models import GENESIS_HASH, AuditAction, AuditEntry

# Any constant: the key of the PostgreSQL advisory lock that orders appends to the chain.
_CHAIN_LOCK_KEY = 0x4C4F5550  # "LOUP"


def _lock_chain():
    """Serialize appends so that every entry links to the one before it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", [_CHAIN_LOCK_KEY])


# the entries of the open ``audit_batch`` of this thread (None: append at once)
_pending: ContextVar[list | None] = ContextVar("loupan_audit_pending", default=None)


def _append(entries) -> None:
    """Link ``entries`` to the end of the chain, in order (the lock is held from here
    to the commit); each is stamped with the time it joined the chain."""
    _lock_chain()
    last = AuditEntry.objects.order_by("-id").values_list("hash", flat=True).first()
    now = timezone.now()
    for entry in entries:
        entry.created_at = now
        entry.prev_hash = last or GENESIS_HASH
        entry.hash = entry.compute_hash()
        last = entry.hash
    if len(entries) == 1:
        entries[0].save(force_insert=True)
    else:  # one INSERT for the batch, in chain order (ids ascend with it)
        AuditEntry.objects.bulk_create(entries)


@contextmanager
def audit_batch():
    """A transaction (``transaction.atomic``) whose audit entries are appended to the
    chain together at its end instead of one by one, so that the chain's lock is held
    only from that append to the commit, not while the rest of the transaction runs.
    Entries are written only if the block ends without an exception; code inside must
    not swallow the rollback of a savepoint that recorded an entry (the entry would
    still be appended). Nested, the outer batch appends."""
    if _pending.get() is not None:
        with transaction.atomic():
            yield
        return
    pending: list = []
    token = _pending.set(pending)
    try:
        with transaction.atomic():
            yield
            _pending.set(None)
            if pending:
                _append(pending)
    finally:
        _pending.reset(token)


def object_label(obj) -> str:
    return f"{obj._meta.app_label}.{obj._meta.model_name}"


def project_of(obj):
    """The project an object belongs to, if any (for scoping the trail)."""
    if obj is None:
        return None
    if obj._meta.label == "inventory.Project":
        return obj.pk
    return getattr(obj, "project_id", None)


def audit_record(
    *,
    actor,
    action: str,
    obj=None,
    changes: dict | None = None,
    extra: dict | None = None,
    project_id=None,
    object_type: str = "",
    object_id="",
    object_repr: str = "",
    username: str = "",
) -> AuditEntry:
    """Append one entry to the hash chain, in the caller's transaction (inside an
    ``audit_batch``, at the end of the batch: the entry returned is saved then)."""
    info = context.current()
    actor_obj = actor if actor is not None and getattr(actor, "pk", None) else None
    entry = AuditEntry(
        created_at=timezone.now(),
        actor=actor_obj,
        actor_username=(actor_obj.get_username() if actor_obj else username)[:150],
        ip=info.ip,
        project_id=project_id if project_id is not None else project_of(obj),
        action=str(action),
        object_type=object_type or (object_label(obj) if obj is not None else ""),
        object_id=str(object_id or (obj.pk if obj is not None else "")),
        object_repr=(object_repr or (str(obj) if obj is not None else ""))[:200],
        changes=json_value(changes or {}),
        extra=json_value(extra or {}),
    )
    pending = _pending.get()
    if pending is not None:
        pending.append(entry)
        return entry
    with transaction.atomic():
        _append([entry])
    return entry


def audit_create(*, actor, obj, extra=None) -> AuditEntry:
    return audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=obj,
        changes=diff(None, snapshot(obj)),
        extra=extra,
    )


def _auto_now_fields(obj) -> set[str]:
    """Fields Django stamps on every save (``auto_now``): not a change anyone made."""
    return {f.attname for f in obj._meta.concrete_fields if getattr(f, "auto_now", False)}


def audit_update(*, actor, obj, before: dict, extra=None) -> AuditEntry | None:
    """Record the changed fields; nothing is written when nothing changed (a timestamp
    that ``auto_now`` moved on save alone is not a change)."""
    changes = diff(before, snapshot(obj))
    for name in _auto_now_fields(obj):
        changes.pop(name, None)
    if not changes:
        return None
    return audit_record(
        actor=actor, action=AuditAction.UPDATE, obj=obj, changes=changes, extra=extra
    )


def audit_delete(*, actor, obj, before: dict, object_id, extra=None) -> AuditEntry:
    return audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        obj=obj,
        object_id=object_id,
        changes=diff(before, None),
        extra=extra,
    )


def audit_export(*, actor, what: str, count: int, project_id=None, filters: dict | None = None):
    return audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type=what,
        project_id=project_id,
        extra={"rows": count, "filters": filters or {}},
    )


def verify_chain(batch_size: int = 2000):
    """Walk the chain in order; return ``(checked, first_broken_entry_id or None, reason)``."""
    prev = GENESIS_HASH
    checked = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=batch_size):
        if entry.prev_hash != prev:
            return checked, entry.pk, "prev_hash"
        if entry.compute_hash() != entry.hash:
            return checked, entry.pk, "content"
        prev = entry.hash
        checked += 1
    return checked, None, ""
