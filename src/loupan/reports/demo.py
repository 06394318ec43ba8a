"""The demo office's reports (issue 15): registered last in ``ReportsConfig.ready()``
(after the deals, money and after sales the reports read). The year's targets for the
project and each consultant, what the channels cost these months, the report settings
with a recipient, and yesterday's daily report confirmed by the supervisor."""

import datetime
from decimal import Decimal

from django.utils import timezone

from loupan.customers.models import Channel

from . import daily, office
from .engine import months_of
from .models import DailyReport, Target

# a month's targets: the project's, and each consultant's share
PROJECT_TARGET = (Decimal("30000000"), 12, Decimal("12000000"))
CONSULTANT_TARGET = (Decimal("12000000"), 5, Decimal("5000000"))
SPEND = {0: Decimal("18000"), 1: Decimal("12000"), 2: Decimal("6500")}


def demo_reports(context: dict) -> None:
    project, users = context["main"], context["users"]
    if Target.objects.filter(project=project).exists():
        return
    manager, planner = users["manager"], users["planner"]
    today = timezone.localdate()
    months = months_of(today.replace(month=1, day=1), today.replace(month=12, day=31))
    for month in months:
        amount, units, collections = PROJECT_TARGET
        office.target_set(
            actor=manager,
            project=project,
            month=month,
            amount=amount,
            units=units,
            collections=collections,
        )
        for name in ("consultant", "consultant2"):
            amount, units, collections = CONSULTANT_TARGET
            office.target_set(
                actor=manager,
                project=project,
                month=month,
                consultant=users[name],
                amount=amount,
                units=units,
                collections=collections,
            )
    channels = list(Channel.objects.filter(project=project).order_by("sort_order", "pk")[:3])
    for back in (2, 1, 0):
        month = (today.replace(day=1) - datetime.timedelta(days=28 * back)).replace(day=1)
        for i, channel in enumerate(channels):
            office.spend_set(
                actor=planner,
                project=project,
                channel=channel,
                month=month,
                amount=SPEND[i],
                note="",
            )
    office.settings_save(actor=manager, project=project, recipients="sales@jincheng.example")
    yesterday = today - datetime.timedelta(days=1)
    if not DailyReport.objects.filter(project=project, day=yesterday).exists():
        daily.daily_confirm(actor=users["supervisor"], project=project, day=yesterday)
