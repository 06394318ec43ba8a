"""The demo calendar: this year's and next year's national holidays and make-up days
(called by aftersales/demo.py, before anything counts a deadline)."""

from . import calendar


def demo_calendar(context: dict) -> None:
    admin = context["users"]["sysadmin"]
    for year in sorted(calendar.NATIONAL):
        calendar.calendar_load_national(actor=admin, year=year)
