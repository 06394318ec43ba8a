"""Signing a day off and reading who signed what, late or not (seed 001 三(一) and
三(四)3; the kinds are the apps', ``signoffs.kinds``).

* ``signoff_sign`` records the sign-off of a day (the kind's permission; not a day to
  come; once: a second is ``signoff_exists``) or, with ``correction``, a correction of
  a signed day (a note is required). Each is frozen and audited.
* ``signoff_deadline_set`` changes a project's deadline of a kind (``signoff.configure``).
* ``overview`` lists the days of a period per kind: signed on time, signed late,
  missing (the deadline passed without a sign-off) or open, each day that had something
  to check or was signed; ``late_count`` is the manager's count. Reads only, as of
  ``now``: nothing is written when a deadline passes.
"""

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loupan.accounts import access
from loupan.audit.services import audit_create, audit_update
from loupan.core.errors import DomainError, invalid
from loupan.core.snapshot import snapshot

from .errors import SignOffError
from .kinds import Kind, kind_of, kinds
from .models import SignOff, SignOffDeadline

MAX_DAYS_AFTER = 7
MAX_PERIOD_DAYS = 366
NOTE_MAX = 500


class Status:
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"
    OPEN = "open"


STATUS_CHOICES = [
    (Status.ON_TIME, gettext_lazy("按时签核")),
    (Status.LATE, gettext_lazy("逾期签核")),
    (Status.MISSING, gettext_lazy("逾期未签")),
    (Status.OPEN, gettext_lazy("待签核")),
]


def status_labels() -> dict[str, str]:
    return {code: str(label) for code, label in STATUS_CHOICES}


def the_kind(code) -> Kind:
    found = kind_of(str(code or ""))
    if found is None:
        raise invalid("kind", _("签核类型：无效的类型"))
    return found


def the_day(value, field: str = "day") -> datetime.date:
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value or "").strip())
    except ValueError as exc:
        raise invalid(field, _("日期：请填写有效日期（YYYY-MM-DD）")) from exc


def deadline_rule(project, kind: Kind) -> tuple[int, datetime.time]:
    row = SignOffDeadline.objects.filter(project=project, kind=kind.code).first()
    return (row.days_after, row.at) if row else (kind.days_after, kind.at)


def deadline_of(project, kind: Kind, day: datetime.date, rule=None) -> datetime.datetime:
    """When the sign-off of ``day`` is due: ``days_after`` days later at ``at`` local."""
    days_after, at = rule or deadline_rule(project, kind)
    naive = datetime.datetime.combine(day + datetime.timedelta(days=days_after), at)
    return timezone.make_aware(naive)


def signoff_sign(
    *, actor, project, kind, day, note: str = "", correction: bool = False, now=None
) -> SignOff:
    """The supervisor signs ``day`` of ``kind`` off (or corrects a signed one): the
    figures checked are frozen with the entry; late when signed after the deadline."""
    spec = the_kind(kind)
    access.require_perm(actor, spec.perm, project)
    day = the_day(day)
    now = now or timezone.now()
    if day > timezone.localdate(now):
        raise invalid("day", _("日期：不能签核尚未到来的日期"))
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise invalid("note", _("说明：不能超过 %(n)d 个字") % {"n": NOTE_MAX})
    if correction and not note:
        raise invalid("note", _("说明：更正须填写说明"))
    existing = SignOff.objects.filter(project=project, kind=spec.code, day=day)
    last = existing.order_by("-seq").first()
    if last is not None and not correction:
        raise DomainError(SignOffError.SIGNOFF_EXISTS, fields={"day": [_("该日已签核")]})
    if last is None and correction:
        raise DomainError(SignOffError.SIGNOFF_MISSING, fields={"day": [_("该日尚未签核")]})
    deadline = deadline_of(project, spec, day)
    try:
        with transaction.atomic():
            entry = SignOff.objects.create(
                project=project,
                kind=spec.code,
                day=day,
                seq=(last.seq + 1) if last else 1,
                signed_by=actor,
                signed_at=now,
                deadline=deadline,
                late=now > deadline,
                note=note,
                figures=spec.figures(project, day),
            )
            audit_create(
                actor=actor, obj=entry, extra={"correction": bool(correction), "kind": spec.code}
            )
    except IntegrityError as exc:
        # Two signed the same day at once: the second finds the first.
        raise DomainError(SignOffError.SIGNOFF_EXISTS, fields={"day": [_("该日已签核")]}) from exc
    return entry


def _days_after(value) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise invalid("days_after", _("截止日：须为整数")) from exc
    if not 0 <= number <= MAX_DAYS_AFTER:
        raise invalid(
            "days_after", _("截止日：须在当日后 0 到 %(n)d 天之间") % {"n": MAX_DAYS_AFTER}
        )
    return number


def _time(value) -> datetime.time:
    if isinstance(value, datetime.time):
        return value
    try:
        return datetime.time.fromisoformat(str(value or "").strip())
    except ValueError as exc:
        raise invalid("at", _("截止时刻：请填写有效时间（HH:MM）")) from exc


def signoff_deadline_set(*, actor, project, kind, days_after, at) -> SignOffDeadline:
    """A project's deadline of ``kind``: ``days_after`` (0–7) days after the day at
    ``at`` (``signoff.configure``: the manager, the director)."""
    access.require_perm(actor, "signoff.configure", project)
    spec = the_kind(kind)
    days, time = _days_after(days_after), _time(at)
    with transaction.atomic():
        row, created = SignOffDeadline.objects.select_for_update().get_or_create(
            project=project, kind=spec.code, defaults={"days_after": days, "at": time}
        )
        if created:
            audit_create(actor=actor, obj=row)
        else:
            before = snapshot(row)
            row.days_after, row.at = days, time
            row.save()
            audit_update(actor=actor, obj=row, before=before)
    return row


# --- reads --------------------------------------------------------------------------------


@dataclass
class DayRow:
    kind: Kind
    day: datetime.date
    deadline: datetime.datetime
    status: str
    entries: list
    project_pk: int

    @property
    def first(self):
        return self.entries[0] if self.entries else None

    @property
    def status_label(self) -> str:
        return status_labels()[self.status]

    @property
    def url(self) -> str:
        return self.kind.url(self.project_pk, self.day)


def _status(entries, deadline, now) -> str:
    if entries:
        return Status.LATE if entries[0].late else Status.ON_TIME
    return Status.MISSING if now > deadline else Status.OPEN


def entries_of(project, kind: Kind, day) -> list[SignOff]:
    return list(
        SignOff.objects.filter(project=project, kind=kind.code, day=day)
        .select_related("signed_by")
        .order_by("seq")
    )


def box(user, project, kind_code: str, day, now=None) -> dict:
    """What a checking page shows of ``day``'s sign-off: the entries, the deadline, the
    status and whether the viewer may sign."""
    spec = the_kind(kind_code)
    now = now or timezone.now()
    entries = entries_of(project, spec, day)
    labels = spec.figure_labels() if spec.figure_labels else {}
    for entry in entries:
        entry.figure_items = [
            (labels.get(k, k), v) for k, v in entry.figures.items() if not isinstance(v, list)
        ]
    deadline = deadline_of(project, spec, day)
    status = _status(entries, deadline, now)
    return {
        "kind": spec,
        "day": day,
        "entries": entries,
        "deadline": deadline,
        "status": status,
        "status_label": status_labels()[status],
        "can_sign": access.has_perm(user, spec.perm, project) and day <= timezone.localdate(now),
    }


def overview(project, start, end, *, kind=None, status=None, now=None) -> list[DayRow]:
    """Every day of ``start``…``end`` per kind that had something to check or was
    signed, with its status as of ``now``; newest first. One query for the entries and
    the kinds' own for their active days."""
    now = now or timezone.now()
    specs = [the_kind(kind)] if kind else kinds()
    entries: dict[tuple, list] = {}
    for entry in (
        SignOff.objects.filter(
            project=project, kind__in=[s.code for s in specs], day__gte=start, day__lte=end
        )
        .select_related("signed_by")
        .order_by("day", "seq")
    ):
        entries.setdefault((entry.kind, entry.day), []).append(entry)
    rows = []
    for spec in specs:
        rule = deadline_rule(project, spec)
        days = set(spec.active_days(project, start, end)) | {
            d for (k, d) in entries if k == spec.code
        }
        for day in days:
            found = entries.get((spec.code, day), [])
            deadline = deadline_of(project, spec, day, rule)
            rows.append(
                DayRow(spec, day, deadline, _status(found, deadline, now), found, project.pk)
            )
    if status:
        rows = [r for r in rows if r.status == status]
    rows.sort(key=lambda r: (r.day, r.kind.code), reverse=True)
    return rows


def late_count(project, *, days: int = 30, now=None) -> int:
    """The manager's count: sign-offs of the last ``days`` days signed late or missing."""
    now = now or timezone.now()
    end = timezone.localdate(now)
    rows = overview(project, end - datetime.timedelta(days=days), end, now=now)
    return sum(1 for r in rows if r.status in (Status.LATE, Status.MISSING))


def period(start, end) -> tuple[datetime.date, datetime.date]:
    """A filter period: the last 30 days by default; at most a year; start ≤ end."""
    today = timezone.localdate()
    end = the_day(end, "end") if end else today
    start = the_day(start, "start") if start else end - datetime.timedelta(days=30)
    if start > end:
        raise invalid("start", _("开始日期：不能晚于结束日期"))
    if (end - start).days > MAX_PERIOD_DAYS:
        raise invalid("start", _("开始日期：查询期间不能超过一年"))
    return start, end
