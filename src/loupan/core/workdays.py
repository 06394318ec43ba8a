"""Working days 工作日 (issue 14 "Working days"): every deadline of "N working days" in the
system is counted here, on the office's calendar (``CalendarDay``: public holidays and
the make-up working days 调休 that the administrator keeps), never by hand.

``add_working_days(start, n)`` is the day ``n`` working days after ``start`` (the day
``start`` itself does not count: a complaint received on Friday with 1 working day to
answer is due on Monday); ``working_days_between(a, b)`` counts the working days after
``a`` up to and including ``b``."""

import datetime

from .models import CalendarDay

ONE_DAY = datetime.timedelta(days=1)
# a deadline further than this many calendar days is refused as a mistake
HORIZON_DAYS = 3660


def exceptions_between(start: datetime.date, end: datetime.date) -> dict[datetime.date, bool]:
    """The calendar's exceptions from ``start`` to ``end`` (read once for many counts)."""
    return dict(
        CalendarDay.objects.filter(day__gte=start, day__lte=end).values_list("day", "working")
    )


def is_working_day(day: datetime.date, exceptions: dict | None = None) -> bool:
    """Monday to Friday unless a holiday; Saturday and Sunday only as a 调休 day."""
    if exceptions is None:
        exceptions = exceptions_between(day, day)
    if day in exceptions:
        return exceptions[day]
    return day.weekday() < 5


def add_working_days(start, n: int) -> datetime.date:
    """The ``n``-th working day after ``start`` (``n`` ≥ 0; 0 gives ``start``)."""
    if isinstance(start, datetime.datetime):
        start = start.date()
    if n < 0:
        raise ValueError("n must not be negative")
    if n == 0:
        return start
    # enough calendar days for n working days even across the Spring Festival
    window = start + datetime.timedelta(days=n * 2 + 30)
    exceptions = exceptions_between(start, window)
    day, left = start, n
    while left:
        day += ONE_DAY
        if day > window:
            window = day + datetime.timedelta(days=n * 2 + 30)
            exceptions.update(exceptions_between(day, window))
        if day - start > datetime.timedelta(days=HORIZON_DAYS):
            raise ValueError("deadline too far")
        if is_working_day(day, exceptions):
            left -= 1
    return day


def working_days_between(start: datetime.date, end: datetime.date, exceptions=None) -> int:
    """The working days after ``start`` up to and including ``end`` (0 when ``end`` is
    not after ``start``); ``exceptions``: the calendar already read
    (``exceptions_between``) when counting many periods."""
    if end <= start:
        return 0
    if exceptions is None:
        exceptions = exceptions_between(start, end)
    count, day = 0, start
    while day < end:
        day += ONE_DAY
        count += is_working_day(day, exceptions)
    return count
