"""The company roll-up (seed 001 一.3: the company's sales department collects every
project's reports and analyses them together; seed 002 一.6: 上报地产公司销售部，统一分析
整理): the director and the sales department see every project they read the reports of,
side by side and summed, for one period."""

from __future__ import annotations

from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from loupan.accounts import access
from loupan.core.money import money as to_fen
from loupan.core.xlsx import col
from loupan.inventory.models import SOLD_STATUSES, Project, UnitStatus

from . import figures as fig
from .daily import total_of
from .engine import VIEW, Chart, Filters, filters_of, percent

PERIOD_KEYS = ("period", "date", "start", "end")

COLUMNS = [
    col("project", "项目", width=16),
    col("calls", "来电", "integer", 8),
    col("visits", "首次来访", "integer", 8),
    col("new", "新登记客户", "integer", 10),
    col("subscribed", "认购套数", "integer", 8),
    col("subscribed_amount", "认购金额（元）", "money", 16),
    col("contracted", "签约套数", "integer", 8),
    col("contracted_amount", "签约金额（元）", "money", 16),
    col("cancelled", "退房", "integer", 6),
    col("collected", "回款净额（元）", "money", 16),
    col("sold", "累计已售", "integer", 8),
    col("released", "已推售", "integer", 8),
    col("rate", "去化率（%）", "percent", 8),
]


def key_figures(f: Filters) -> dict:
    """One project's key figures for the period (the line of the roll-up and the
    director's dashboard)."""
    subscribed = fig.deal_sums(fig.subscribed(f))
    contracted = fig.deal_sums(fig.contracted(f))
    units = fig.units(f).aggregate(
        sold=Count("pk", filter=Q(status__in=SOLD_STATUSES)),
        released=Count("pk", filter=~Q(status=UnitStatus.NOT_RELEASED)),
    )
    traffic = fig.traffic_by(f).get((), {})
    money = to_fen(fig.money(f).aggregate(net=Coalesce(Sum("amount"), fig.ZERO))["net"])
    return {
        "project": str(f.project),
        "project_id": f.project.pk,
        "calls": traffic.get("calls", 0),
        "visits": traffic.get("first", 0),
        "new": traffic.get("new", 0),
        "subscribed": subscribed["count"],
        "subscribed_amount": subscribed["amount"],
        "contracted": contracted["count"],
        "contracted_amount": contracted["amount"],
        "cancelled": fig.cancelled(f).count(),
        "collected": money,
        "sold": units["sold"],
        "released": units["released"],
        "rate": percent(units["sold"], units["released"]),
    }


def projects_of(user):
    """The active projects whose reports ``user`` reads (``report.view``)."""
    return Project.objects.filter(pk__in=access.projects_with(user, VIEW), is_active=True).order_by(
        "name"
    )


def company(user, params) -> dict:
    """Every project of ``user`` side by side for the period of ``params`` (period,
    date, start, end), with the sum; refused naming the field for a bad period."""
    params = {k: params.get(k) for k in PERIOD_KEYS if params.get(k)}
    rows = []
    filters = None
    for project in projects_of(user):
        filters = filters_of(user, project, params)
        rows.append(key_figures(filters))
    total = total_of(rows, "project") if rows else None
    if total:
        total.pop("project_id", None)
        total["rate"] = percent(total["sold"], total["released"])
    charts = []
    if rows:
        charts.append(
            Chart(
                _("各项目认购与签约金额（元）"),
                "bar",
                [r["project"] for r in rows],
                [
                    (_("认购金额"), [r["subscribed_amount"] for r in rows]),
                    (_("签约金额"), [r["contracted_amount"] for r in rows]),
                ],
            )
        )
    return {
        "projects": rows,
        "total": total,
        "columns": COLUMNS,
        "start": filters.start if filters else None,
        "end": filters.end if filters else None,
        "charts": charts,
    }
