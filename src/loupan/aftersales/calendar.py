"""The office's working-day calendar 工作日历 (issue 14 "Working days"): the administrator
keeps the public holidays and the make-up working days 调休 (``core.models.CalendarDay``);
``core.workdays`` counts every "N working days" deadline on it. Not tied to a project:
the calendar is the country's, kept by whoever holds ``calendar.manage`` anywhere."""

import datetime

from django.db import transaction

from loupan.accounts import access
from loupan.audit.services import audit_create, audit_delete, audit_update
from loupan.core.dates import parse_date
from loupan.core.errors import invalid
from loupan.core.models import CalendarDay
from loupan.core.snapshot import snapshot
from loupan.core.workdays import is_working_day

# The national calendar as the State Council announced it (国务院办公厅关于2026年部分节假日
# 安排的通知), and next year's statutory holidays as an estimate to check against the
# notice when it comes (the make-up days are announced with it).
NATIONAL = {
    2026: [
        ("2026-01-01", False, "元旦"),
        ("2026-01-02", False, "元旦"),
        ("2026-01-04", True, "元旦调休上班"),
        ("2026-02-14", True, "春节调休上班"),
        *[(f"2026-02-{d:02d}", False, "春节") for d in range(16, 21)],
        ("2026-02-23", False, "春节"),
        ("2026-02-28", True, "春节调休上班"),
        ("2026-04-06", False, "清明节"),
        *[(f"2026-05-{d:02d}", False, "劳动节") for d in range(1, 6) if d not in (2, 3)],
        ("2026-05-09", True, "劳动节调休上班"),
        ("2026-06-19", False, "端午节"),
        ("2026-09-20", True, "国庆节调休上班"),
        ("2026-09-25", False, "中秋节"),
        *[(f"2026-10-{d:02d}", False, "国庆节") for d in range(1, 8) if d not in (3, 4)],
        ("2026-10-10", True, "国庆节调休上班"),
    ],
    2027: [
        ("2027-01-01", False, "元旦（预估）"),
        ("2027-02-05", False, "春节（预估）"),
        ("2027-02-08", False, "春节（预估）"),
        ("2027-02-09", False, "春节（预估）"),
        ("2027-02-10", False, "春节（预估）"),
        ("2027-04-05", False, "清明节（预估）"),
        ("2027-05-03", False, "劳动节（预估）"),
        ("2027-06-09", False, "端午节（预估）"),
        ("2027-09-15", False, "中秋节（预估）"),
        *[(f"2027-10-{d:02d}", False, "国庆节（预估）") for d in (1, 4, 5, 6, 7)],
    ],
}


def can_manage(user) -> bool:
    return access.has_perm(user, "calendar.manage")


def _require(user) -> None:
    if not can_manage(user):
        raise access.permission_error("calendar.manage")


def calendar_set_day(*, actor, day, working, name: str) -> CalendarDay:
    """Mark a day as a holiday (``working=False``) or a make-up working day 调休
    (``working=True``); an ordinary day needs no row (use ``calendar_clear_day``)."""
    _require(actor)
    day = parse_date(day, "day")
    if day is None:
        raise invalid("day", "请选择日期")
    name = (name or "").strip()
    if not name:
        raise invalid("name", "请填写名称（如 春节、国庆节调休上班）")
    working = bool(working)
    if working and day.weekday() < 5:
        raise invalid("working", "调休上班日应为周六或周日")
    if not working and day.weekday() >= 5:
        raise invalid("working", "周末本来就休息，无需设为节假日")
    with transaction.atomic():
        row = CalendarDay.objects.select_for_update(of=("self",)).filter(day=day).first()
        if row is None:
            row = CalendarDay.objects.create(day=day, working=working, name=name[:40])
            audit_create(actor=actor, obj=row)
        else:
            before = snapshot(row)
            row.working, row.name = working, name[:40]
            row.save()
            audit_update(actor=actor, obj=row, before=before)
    return row


def calendar_clear_day(*, actor, day) -> None:
    """The day is an ordinary day again."""
    _require(actor)
    day = parse_date(day, "day")
    with transaction.atomic():
        row = CalendarDay.objects.select_for_update(of=("self",)).filter(day=day).first()
        if row is None:
            return
        before = snapshot(row)
        pk = row.pk
        row.delete()
        audit_delete(actor=actor, obj=row, before=before, object_id=pk)


def calendar_load_national(*, actor, year: int) -> int:
    """Load a year of the national calendar (``NATIONAL``); days already kept stay as
    the administrator set them. Returns how many days were added."""
    _require(actor)
    if year not in NATIONAL:
        raise invalid("year", f"没有 {year} 年的全国节假日安排，请逐日录入")
    added = 0
    with transaction.atomic():
        existing = set(CalendarDay.objects.filter(day__year=year).values_list("day", flat=True))
        for text, working, name in NATIONAL[year]:
            day = datetime.date.fromisoformat(text)
            if day in existing:
                continue
            row = CalendarDay.objects.create(day=day, working=working, name=name)
            audit_create(actor=actor, obj=row, extra={"source": "national"})
            added += 1
    return added


def month_grid(year: int, month: int) -> list[list[dict]]:
    """A month as weeks of days (Monday first) with whether each is a working day."""
    first = datetime.date(year, month, 1)
    start = first - datetime.timedelta(days=first.weekday())
    nxt = (first + datetime.timedelta(days=32)).replace(day=1)
    end = nxt + datetime.timedelta(days=(6 - (nxt - datetime.timedelta(days=1)).weekday()) % 7)
    rows = {
        r.day: r
        for r in CalendarDay.objects.filter(
            day__gte=start, day__lt=end + datetime.timedelta(days=1)
        )
    }
    exceptions = {d: r.working for d, r in rows.items()}
    weeks, day = [], start
    while day < nxt or day.weekday() != 0:
        if day.weekday() == 0:
            weeks.append([])
        weeks[-1].append(
            {
                "day": day,
                "in_month": day.month == month,
                "working": is_working_day(day, exceptions),
                "row": rows.get(day),
            }
        )
        day += datetime.timedelta(days=1)
    return weeks
