"""The lockout after failed logins, as an office behind one address survives it (issue
12): an account is locked after ``AXES_FAILURE_LIMIT`` (5) failures from anywhere; an
address alone only after ``LOUPAN_LOCKOUT_ADDRESS_FAILURES`` (50) failures across any
accounts (credential stuffing), so one person's typos never lock the whole office out.
django-axes records the attempts; this handler weighs each lockout parameter against its
own limit. ``locks`` and ``lock_lift`` let an administrator see and lift them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone

from loupan.audit.models import AuditAction
from loupan.audit.services import audit_record
from loupan.core.errors import invalid

from . import access

MANAGE = "user.manage"


def limit_of(parameter) -> int:
    """The failures that lock one lockout parameter: an address alone takes many more
    than an account."""
    if parameter == "ip_address":
        return int(getattr(settings, "LOUPAN_LOCKOUT_ADDRESS_FAILURES", 50))
    return int(settings.AXES_FAILURE_LIMIT)


class OfficeLockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler with a limit per lockout parameter: the failures
    it reports are the worst parameter's, scaled to axes' own limit, so that axes locks
    when any parameter reaches its limit."""

    def get_failures(self, request, credentials=None) -> int:
        base = get_failure_limit(request, credentials)
        worst = 0
        parameters = settings.AXES_LOCKOUT_PARAMETERS
        for parameter, attempts in zip(
            parameters, self.get_user_attempts(request, credentials), strict=True
        ):
            n = attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0
            worst = max(worst, n * base // limit_of(parameter))
        return worst


@dataclass
class Lock:
    kind: str  # "username" or "ip_address"
    value: str
    failures: int
    limit: int
    last: datetime.datetime

    @property
    def locked(self) -> bool:
        return self.failures >= self.limit


def locks() -> list[Lock]:
    """The accounts and addresses with failures within the cool-off, locked first."""
    recent = AccessAttempt.objects.all()
    if settings.AXES_COOLOFF_TIME is not None:
        recent = recent.filter(attempt_time__gte=timezone.now() - settings.AXES_COOLOFF_TIME)
    out = []
    for kind in ("username", "ip_address"):
        rows = (
            recent.exclude(**{kind: None})
            .values(kind)
            .annotate(n=Sum("failures_since_start"), last=Max("attempt_time"))
            .order_by()
        )
        for r in rows:
            if r[kind] and r["n"]:
                out.append(Lock(kind, r[kind], r["n"], limit_of(kind), r["last"]))
    out.sort(key=lambda lock: (not lock.locked, -lock.last.timestamp()))
    return out


def lock_lift(*, actor, kind: str, value: str) -> int:
    """Lift the lock (and forget the failures) of an account or an address
    (``user.manage``); audited. The attempts cleared."""
    access.require_perm(actor, MANAGE)
    if kind not in ("username", "ip_address"):
        raise invalid("kind", "应为账号或地址")
    if not value:
        raise invalid("value", "必填")
    with transaction.atomic():
        removed, _ = AccessAttempt.objects.filter(**{kind: value}).delete()
        audit_record(
            actor=actor,
            action=AuditAction.ACTION,
            object_type="axes.accessattempt",
            object_id=value[:64],
            object_repr=("解除账号锁定 %s" if kind == "username" else "解除地址锁定 %s") % value,
            extra={"kind": kind, "value": value, "attempts": removed},
        )
    return removed
