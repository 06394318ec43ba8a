"""The home page's dashboards (issue 15 "A dashboard per role"): what each part of the
office steers by, chosen by what the user may do on the project, not by role names:

* ``mine`` (``report.view_own`` without the office's figures: a consultant): this
  month's own funnel 来电 → 来访 → 认购 → 签约 and targets;
* ``today`` (``report.confirm``: the supervisor): today's office and whether yesterday's
  daily report is confirmed;
* ``month`` (``report.view``: the manager, the director): the month's key figures, the
  last months' sales and the units by status; ``company`` when they read several
  projects;
* ``signoffs`` (``signoff.view``: the manager, the director, the supervisor): how many
  晨检 and 主管复审 sign-offs of the last 30 days were late or are missing;
* ``money`` (``deal.confirm``: finance): today's money by method, and the to-do list
  across every project of theirs: deposits to confirm, refunds to pay.
All read; none writes.
"""

from __future__ import annotations

import datetime

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from loupan.accounts import access
from loupan.deals.models import Cancellation, Deal, DealStatus
from loupan.deals.rules import refund_due_q
from loupan.signoffs import services as signoffs

from . import charts, daily, periodic, rollup
from . import figures as fig
from .engine import Chart, Filters, may_see_office, may_see_own, period_bounds
from .models import DailyReport


def _filters(user, project, period: str, day=None, consultant=None) -> Filters:
    start, end = period_bounds(period, day or timezone.localdate())
    return Filters(user, project, start, end, consultant=consultant, own=consultant is not None)


def _funnel_chart(row: dict) -> Chart:
    labels = [_("来电"), _("首次来访"), _("认购"), _("签约")]
    values = [row["calls"], row["visits"], row["subscribed"], row["contracted"]]
    return Chart(_("本月转化漏斗"), "funnel", labels, [(_("人数/套数"), values)])


def _month_key(value) -> str:
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime("%Y-%m")


def sales_by_month(f: Filters, months: int = 6) -> Chart:
    """Subscriptions per month over the last ``months`` months (one grouped query)."""
    first = (f.end.replace(day=1) - datetime.timedelta(days=31 * (months - 1))).replace(day=1)
    span = f.with_period(first, f.end)
    rows = (
        fig.subscribed(span)
        .annotate(month=TruncMonth("subscribed_at"))
        .values("month")
        .annotate(n=Count("pk"), amount=Coalesce(Sum("total"), fig.ZERO))
        .order_by("month")
    )
    by_month = {_month_key(r["month"]): r for r in rows}
    labels, counts = [], []
    month = first
    while month <= f.end:
        key = month.strftime("%Y-%m")
        labels.append(key)
        counts.append(by_month.get(key, {}).get("n", 0))
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return Chart(_("近几个月认购套数"), "bar", labels, [(_("认购套数"), counts)])


def finance_todo(user) -> dict:
    """Deposits waiting for finance's confirmation and refunds to pay, across every
    project where the user confirms money (``deal.confirm``)."""
    projects = access.projects_with(user, "deal.confirm")
    deposits = (
        Deal.objects.filter(project_id__in=projects, status=DealStatus.PENDING)
        .select_related("project", "unit", "customer")
        .order_by("subscribed_at", "pk")
    )
    refunds = (
        Cancellation.objects.filter(refund_due_q(), deal__project_id__in=projects)
        .select_related("deal__project", "deal__unit", "deal__customer")
        .order_by("cancelled_at")
    )
    return {
        "deposits": list(deposits[:20]),
        "deposit_count": deposits.count(),
        "refunds": list(refunds[:20]),
        "refund_count": refunds.count(),
    }


def dashboard(user, project) -> dict:
    """The sections of ``user``'s home page on ``project`` (empty when none applies)."""
    result: dict = {"svgs": []}
    today = timezone.localdate()
    office = may_see_office(user, project)
    if not office and may_see_own(user, project):
        f = _filters(user, project, "month", consultant=user)
        row = rollup.key_figures(f)
        result["mine"] = {"figures": row, "targets": periodic.achievement(f)}
        result["svgs"].append(charts.svg(_funnel_chart(row), height=240))
    if access.has_perm(user, "report.confirm", project):
        f = _filters(user, project, "day")
        yesterday = today - datetime.timedelta(days=1)
        result["today"] = {
            "figures": rollup.key_figures(f),
            "closes_at": daily.closes_at(project, today),
            "yesterday": yesterday,
            "yesterday_confirmed": DailyReport.objects.filter(
                project=project, day=yesterday
            ).exists(),
        }
    if office:
        f = _filters(user, project, "month")
        result["month"] = {"figures": rollup.key_figures(f), "targets": periodic.achievement(f)}
        result["svgs"].append(charts.svg(sales_by_month(f), height=240))
        result["company"] = rollup.projects_of(user).count() > 1
    if access.has_perm(user, "signoff.view", project):
        result["signoffs"] = {"late": signoffs.late_count(project, days=30), "days": 30}
    if access.has_perm(user, "deal.confirm", project):
        f = _filters(user, project, "day")
        result["money"] = {"methods": fig.money_by_method(f), **finance_todo(user)}
    return result
