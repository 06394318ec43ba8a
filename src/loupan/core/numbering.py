"""Gapless document numbers per project and kind (ENGINEERING.md: allocated inside the
writing transaction, per project and type, gapless and unique under concurrency).

An app registers its kinds with their prefix in ``AppConfig.ready()`` (deals: 保留单 BL,
认购书 RG, 合同 HT; payments: 收据 SJ; opening: 认筹号 …); ``next_number`` then gives
``<prefix>-<project code>-000001``. The counter row stays locked until the calling
transaction ends, so concurrent writers queue here and a rolled-back one gives its number
back; outside a transaction it refuses to run, since the lock would end at once.
"""

from django.db import transaction

from .models import DocumentCounter

_PREFIXES: dict[str, str] = {}


def register(kind: str, prefix: str) -> None:
    _PREFIXES[kind] = prefix


def prefix_of(kind: str) -> str:
    return _PREFIXES.get(kind, kind.upper())


def _bump(scope: int, kind: str) -> int | None:
    """Take the counter's next number: one UPDATE … RETURNING, which locks the row until
    the transaction ends; None when the counter has no row yet."""
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote(DocumentCounter._meta.db_table)} SET {quote('last')} = "
            f"{quote('last')} + 1 WHERE {quote('scope')} = %s AND {quote('kind')} = %s "
            f"RETURNING {quote('last')}",
            [scope, kind],
        )
        row = cursor.fetchone()
    return None if row is None else row[0]


def next_number(project, kind: str) -> str:
    """The next gapless number of ``kind`` in ``project`` (its ``pk`` and ``code``)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_number must run inside the writing transaction")
    last = _bump(project.pk, kind)
    if last is None:  # the kind's first number in the project
        DocumentCounter.objects.get_or_create(scope=project.pk, kind=kind)
        last = _bump(project.pk, kind)
    return f"{prefix_of(kind)}-{project.code}-{last:06d}"
