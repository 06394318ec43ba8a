"""Working days (issue 14): deadlines counted on the office calendar, across a holiday
and a make-up working day; the calendar page and its administrator."""

import datetime

import pytest

from loupan.aftersales import calendar
from loupan.core.errors import DomainError
from loupan.core.models import CalendarDay
from loupan.core.workdays import add_working_days, is_working_day, working_days_between
from tests.deals.helpers import client_of, user

D = datetime.date


def test_an_ordinary_week(db):
    CalendarDay.objects.filter(day__year=2030).delete()
    friday = D(2030, 3, 1)
    assert friday.weekday() == 4
    assert add_working_days(friday, 1) == D(2030, 3, 4)  # Monday
    assert add_working_days(friday, 5) == D(2030, 3, 8)
    assert add_working_days(friday, 0) == friday
    assert working_days_between(friday, D(2030, 3, 8)) == 5
    with pytest.raises(ValueError):
        add_working_days(friday, -1)


def test_across_the_2026_national_day_and_its_make_up_days(demo):
    # the demo holds the 2026 national calendar: 10-01..10-07 off, 09-20 (Sun) and
    # 10-10 (Sat) worked
    assert not is_working_day(D(2026, 10, 5))
    assert is_working_day(D(2026, 9, 20)) and is_working_day(D(2026, 10, 10))
    # received Friday 09-18: 1 working day → Sunday 09-20 (a make-up day)
    assert add_working_days(D(2026, 9, 18), 1) == D(2026, 9, 20)
    # received Wednesday 09-30 with 3 working days: 10-08, 10-09, 10-10 (Saturday, worked)
    assert add_working_days(D(2026, 9, 30), 3) == D(2026, 10, 10)
    assert working_days_between(D(2026, 9, 30), D(2026, 10, 10)) == 3


def test_across_the_spring_festival(demo):
    # 2026-02-15..23 off, 02-14 (Sat) and 02-28 (Sat) worked
    assert add_working_days(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert add_working_days(D(2026, 2, 13), 2) == D(2026, 2, 24)


def test_the_administrator_keeps_the_calendar(demo):
    with pytest.raises(DomainError) as exc:
        calendar.calendar_set_day(
            actor=user("consultant"), day="2030-05-06", working=False, name="x"
        )
    assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError) as exc:
        calendar.calendar_set_day(
            actor=user("sysadmin"), day="2030-05-04", working=False, name="周六"
        )
    assert exc.value.fields.keys() == {"working"}
    with pytest.raises(DomainError) as exc:
        calendar.calendar_set_day(actor=user("sysadmin"), day="2030-05-06", working=False, name="")
    assert exc.value.fields.keys() == {"name"}
    calendar.calendar_set_day(actor=user("sysadmin"), day="2030-05-06", working=False, name="假日")
    assert add_working_days(D(2030, 5, 3), 1) == D(2030, 5, 7)
    calendar.calendar_clear_day(actor=user("sysadmin"), day="2030-05-06")
    assert add_working_days(D(2030, 5, 3), 1) == D(2030, 5, 6)


def test_the_calendar_page(demo):
    page = client_of("consultant").get("/calendar/?year=2026")
    assert page.status_code == 200 and "国庆节" in page.content.decode()
    assert "calendar-form" not in page.content.decode()
    admin = client_of("sysadmin")
    assert "calendar-form" in admin.get("/calendar/?year=2026").content.decode()
    response = admin.post(
        "/calendar/set/", {"year": "2031", "day": "2031-01-06", "name": "测试假日", "working": "0"}
    )
    assert response.status_code == 302 and CalendarDay.objects.filter(day=D(2031, 1, 6)).exists()
    assert (
        client_of("consultant").post("/calendar/clear/", {"day": "2031-01-06"}).status_code == 403
    )
    assert client_of("consultant").get("/calendar/?year=abc").status_code == 200
