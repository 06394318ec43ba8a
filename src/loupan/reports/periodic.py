"""销售周报, 成交客户档案, 销售月报, 转化漏斗 and 目标达成 (issue 15; seed 002 三 填报规定:
the days are summed into the week with the 成交客户档案, the weeks and the archive into
the month with its 来电来访客户分析 and 成交客户分析, seed 002 二.3(2)).

What counts as a call, a visit, a subscription, a contract, a cancellation or money is
decided once in ``figures``; what the daily, weekly and monthly reports share is
``daily.sales_tables``; the 业主登记一览表 lines and the buyer analysis are the deals'
(``deals.reports``). This module only lays them out by day, by week, by month and by
step, each source read with one GROUP BY over the period (never a query per day, per
consultant or per row).

* ``weekly``: ``sales_tables`` of the week, the seven days, the 成交客户档案 and the
  achievement of the month(s) the week touches.
* ``buyers`` 成交客户档案: the buyers of the deals subscribed in the period.
* ``monthly``: ``sales_tables`` of the month, its weeks, the conversion funnel, the
  visitor and buyer analyses and the achievement of the month.
* ``funnel`` 转化漏斗: 来电 → 来访 → 认购 → 签约 by consultant and by channel.
* ``targets`` 目标达成: ``achievement(f)``, the targets against what was achieved (also
  the home page's dashboard).
"""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count, DateField, F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from loupan.accounts import access
from loupan.core.xlsx import col
from loupan.customers.models import Customer
from loupan.deals import reports as deal_reports

from . import daily
from . import figures as fig
from .engine import (
    Chart,
    Figure,
    Filters,
    Report,
    Rows,
    Spec,
    Table,
    may_open,
    months_of,
    percent,
    register,
)
from .models import Target

WEEKDAYS = "一二三四五六日"
# The 成交客户档案 lines a page (or the paper) shows; the xlsx and the API hold them all.
ARCHIVE_PAGE_ROWS = 500
# The fields of its columns, in their order, as ``deals.reports.owner_cells`` gives them.
OWNER_FIELDS = tuple(c.field for c in deal_reports.OWNER_COLUMNS)


# --- one GROUP BY per source ------------------------------------------------------------------


def _grouped(qs, keys: dict, **aggregates) -> dict:
    """``qs`` summed with ``aggregates`` in one GROUP BY over ``keys`` (name →
    expression): {key: row}, the key a value for one key and a tuple for several."""
    names = list(keys)
    rows = qs.annotate(**keys).values(*names).annotate(**aggregates).order_by()
    if len(names) == 1:
        return {r[names[0]]: r for r in rows}
    return {tuple(r[n] for n in names): r for r in rows}


def _local_day(field: str):
    """The local calendar day of a timestamp (the project's time zone, as the periods)."""
    return TruncDate(field, tzinfo=timezone.get_current_timezone())


def _local_month(field: str):
    """The first day of the local month of a timestamp."""
    return TruncMonth(field, tzinfo=timezone.get_current_timezone(), output_field=DateField())


def _deal_sums() -> dict:
    return {"count": Count("pk"), "amount": Coalesce(Sum("total"), fig.ZERO)}


def _user_names(ids) -> dict:
    ids = {pk for pk in ids if pk is not None}
    return {u.pk: fig.consultant_name(u) for u in get_user_model().objects.filter(pk__in=ids)}


# --- the days and the weeks -------------------------------------------------------------------

DAY_COLUMNS = [
    col("day", "日期", width=16),
    col("calls", "来电", "integer", 6),
    col("first", "首次来访", "integer", 8),
    col("returning", "复访", "integer", 6),
    col("new", "新登记客户", "integer", 10),
    col("subscribed", "认购套数", "integer", 8),
    col("subscribed_amount", "认购金额（元）", "money", 14),
    col("contracted", "签约套数", "integer", 8),
    col("contracted_amount", "签约金额（元）", "money", 14),
    col("cancelled", "退房", "integer", 6),
    col("money", "回款净额（元）", "money", 14),
]
WEEK_COLUMNS = [col("week", "周", width=24), *DAY_COLUMNS[1:]]


def _days(f: Filters) -> list[tuple[datetime.date, dict]]:
    """Each local day of ``f``'s period with its figures: one GROUP BY per source over
    the whole period (five queries, whatever its length; the traffic from the kept
    daily rows)."""
    traffic = fig.traffic_by(f, "day")
    subs = _grouped(fig.subscribed(f), {"g_day": _local_day("subscribed_at")}, **_deal_sums())
    cons = _grouped(fig.contracted(f), {"g_day": F("signed_on")}, **_deal_sums())
    cancels = _grouped(fig.cancelled(f), {"g_day": _local_day("cancelled_at")}, n=Count("pk"))
    money = _grouped(fig.money(f), {"g_day": F("paid_on")}, net=Coalesce(Sum("amount"), fig.ZERO))
    result = []
    for i in range(f.days):
        d = f.start + datetime.timedelta(days=i)
        t, s, c = traffic.get(d, {}), subs.get(d, {}), cons.get(d, {})
        result.append(
            (
                d,
                {
                    **{k: t.get(k, 0) for k in daily.TRAFFIC},
                    "subscribed": s.get("count", 0),
                    "subscribed_amount": s.get("amount", fig.ZERO),
                    "contracted": c.get("count", 0),
                    "contracted_amount": c.get("amount", fig.ZERO),
                    "cancelled": cancels.get(d, {}).get("n", 0),
                    "money": money.get(d, {}).get("net", fig.ZERO),
                },
            )
        )
    return result


def day_rows(f: Filters) -> list[dict]:
    """One row per day of the period: calls, first and returning visits, new customers,
    subscriptions and contracts (count and amount), cancellations and net money (seed
    002 三.2: the week is the sum of its 销售日统计报表)."""
    return [{"day": f"{d:%Y-%m-%d}（周{WEEKDAYS[d.weekday()]}）", **row} for d, row in _days(f)]


def week_rows(f: Filters) -> list[dict]:
    """One row per calendar week (Monday to Sunday) of the period, cut at its ends: the
    days summed (seed 002 三.3: the month is written from its weekly reports)."""
    weeks: list[tuple[datetime.date, datetime.date, dict]] = []
    for d, row in _days(f):
        if not weeks or d.weekday() == 0:
            weeks.append((d, d, dict(row)))
            continue
        first, _last, sums = weeks[-1]
        for key, value in row.items():
            sums[key] += value
        weeks[-1] = (first, d, sums)
    return [
        {
            "week": _("第%(n)s周（%(a)s—%(b)s）") % {"n": i, "a": f"{a:%m-%d}", "b": f"{b:%m-%d}"},
            **s,
        }
        for i, (a, b, s) in enumerate(weeks, start=1)
    ]


def _trend(title: str, labels: list[str], rows: list[dict]) -> Chart:
    return Chart(
        title,
        "line",
        labels,
        [
            (_("来电"), [r["calls"] for r in rows]),
            (_("来访"), [r["first"] + r["returning"] for r in rows]),
            (_("认购套数"), [r["subscribed"] for r in rows]),
            (_("签约套数"), [r["contracted"] for r in rows]),
        ],
    )


# --- 成交客户档案 ------------------------------------------------------------------------------


def archive(f: Filters) -> Rows:
    """The 成交客户档案 of the period (seed 002 三.2): one line per buyer of the deals
    subscribed in the period that still stand (``deals.reports.owners``: subscribed or
    contracted), among the deals the viewer may see, contacts masked as the viewer may
    see them (``deals.reports.owner_lines``, read for a long list by ``owner_rows``).
    Every line is there for the xlsx, built when it reads them; the page and the paper
    show the first ``ARCHIVE_PAGE_ROWS``, built alone (``first_owner_rows``), the API
    a page of them (``owner_rows_window``), with the number of lines counted by the
    database; the xlsx reads them as cells (``owner_cells``: no line dicts)."""
    deals = fig.subscribed(f).restrict(f.user, "view")
    return Rows(
        lambda: deal_reports.owner_rows(f.user, deals, links=False),
        lambda n: deal_reports.first_owner_rows(f.user, deals, n, links=False),
        lambda: archive_sums(f)["lines"],
        lambda offset, n: deal_reports.owner_rows_window(f.user, deals, offset, n, links=False),
        cells=(OWNER_FIELDS, lambda: deal_reports.owner_cells(f.user, deals)),
    )


def archive_sums(f: Filters) -> dict:
    """``deals.reports.owner_sums`` of the archive's deals, counted once per report (its
    key figures and its table's number of lines; kept in ``f.memo``)."""
    if "archive_sums" not in f.memo:
        deals = fig.subscribed(f).restrict(f.user, "view")
        f.memo["archive_sums"] = deal_reports.owner_sums(deals)
    return f.memo["archive_sums"]


def may_see_archive(f: Filters) -> bool:
    """The archive names buyers: the office's for whoever may open 成交客户档案, a
    consultant's own buyers in their own weekly report (their own deals)."""
    return may_open(f.user, f.project, BUYERS) or (
        f.own and access.has_perm(f.user, "deal.view_own", f.project)
    )


def _archive_table(f: Filters) -> Table:
    lines = archive(f)
    return Table(
        _("成交客户档案"),
        deal_reports.OWNER_COLUMNS,
        lines,
        note=_("本期认购、目前仍为认购或签约的交易，每位买受人一行"),
        limit=ARCHIVE_PAGE_ROWS,
    )


def buyers_report(f: Filters) -> Report:
    """成交客户档案 (seed 002 三.2: 每周……并同时填写《成交客户档案》): the buyers of the
    deals subscribed in the period, one line per buyer with the columns of the
    业主登记一览表; phone and ID numbers masked unless the viewer owns the customer."""
    table = _archive_table(f)
    sums = archive_sums(f)
    figures = [
        Figure(_("成交套数"), sums["deals"]),
        Figure(_("买受人"), sums["lines"]),
        Figure(_("成交金额（元）"), sums["total"], "money"),
    ]
    return Report("buyers", _("成交客户档案"), f, figures, [table])


# --- 转化漏斗 ----------------------------------------------------------------------------------

FUNNEL_COLUMNS = [
    col("name", "置业顾问", width=12),
    col("calls", "来电", "integer", 8),
    col("visits", "首次来访", "integer", 8),
    col("visit_rate", "来电→来访（%）", "percent", 12),
    col("subscribed", "认购套数", "integer", 8),
    col("subscribe_rate", "来访→认购（%）", "percent", 12),
    col("contracted", "签约套数", "integer", 8),
    col("contract_rate", "认购→签约（%）", "percent", 12),
    col("subscribed_amount", "认购金额（元）", "money", 14),
    col("contracted_amount", "签约金额（元）", "money", 14),
]
CHANNEL_FUNNEL_COLUMNS = [col("name", "认知途径", width=12), *FUNNEL_COLUMNS[1:]]

# Where each step's rows name the consultant and the channel: a call's receiver and its
# channel, a visit's consultant and its customer's channel, a deal's consultant and its
# customer's channel (the channel filter of ``figures`` reads the same paths).


def _deal_key(by: str):
    """The deal's consultant, or its customer's channel, for each way the funnel is cut
    (the traffic has both keys). The channel is read for each deal from the customers'
    (project, id) index that holds it: a year's deals joined to the customers made
    PostgreSQL read that index whole, a million entries for twenty thousand deals."""
    if by == "consultant":
        return F("consultant")
    return Subquery(
        Customer.objects.filter(project=OuterRef("project_id"), pk=OuterRef("customer_id"))
        .order_by()
        .values("channel")[:1]
    )


def _rates(row: dict) -> dict:
    row["visit_rate"] = percent(row["visits"], row["calls"])
    row["subscribe_rate"] = percent(row["subscribed"], row["visits"])
    row["contract_rate"] = percent(row["contracted"], row["subscribed"])
    return row


def funnel_deals(f: Filters) -> dict:
    """The funnel's subscriptions and contracts of the period (``figures.sold``: both
    steps in one pass over the deals) by consultant and channel together:
    {(consultant, channel): ``figures.sold_sums``}; ``funnel_rows`` sums them by one."""
    rows = (
        fig.sold(f)
        .annotate(g_who=_deal_key("consultant"), g_channel=_deal_key("channel"))
        .values("g_who", "g_channel")
        .annotate(**fig.sold_sums(f))
        .order_by()
    )
    return {(r.pop("g_who"), r.pop("g_channel")): r for r in rows}


def funnel_rows(f: Filters, by: str, deals: dict | None = None) -> list[dict]:
    """来电 → 来访 → 认购 → 签约 per consultant (``by="consultant"``) or per channel
    (``"channel"``): calls received, first visits, subscriptions and contracts of the
    period, each step's conversion from the one before (seed 002 二.1(3): the calls and
    visits that measure the advertising, followed to the deal). ``deals``:
    ``funnel_deals(f)``, read once for both ways."""
    traffic = {k: t for k, t in fig.traffic_by(f, by).items() if t["calls"] or t["first"]}
    deals = funnel_deals(f) if deals is None else deals
    sold: dict = {}
    for (who, channel), r in deals.items():
        sums = sold.setdefault(who if by == "consultant" else channel, dict.fromkeys(r, 0))
        for name, value in r.items():
            sums[name] += value
    keys = set(traffic) | set(sold)
    if by == "consultant":
        names = _user_names(keys)
        ordered = sorted(keys, key=lambda k: (k is None, names.get(k, "")))
    else:
        names = daily.channel_names(f.project)
        order = {pk: i for i, pk in enumerate(names)}
        ordered = sorted(keys, key=lambda k: (k is None, order.get(k, 0)))
    rows = []
    for key in ordered:
        s = sold.get(key, {})
        rows.append(
            _rates(
                {
                    "name": names.get(key) or daily.NO_CHANNEL,
                    "calls": traffic.get(key, {}).get("calls", 0),
                    "visits": traffic.get(key, {}).get("first", 0),
                    "subscribed": s.get("subscribed", 0),
                    "contracted": s.get("contracted", 0),
                    "subscribed_amount": s.get("subscribed_amount", fig.ZERO),
                    "contracted_amount": s.get("contracted_amount", fig.ZERO),
                }
            )
        )
    return rows


def _funnel_total(rows: list[dict]) -> dict:
    total = {"name": _("合计")}
    for key in ("calls", "visits", "subscribed", "contracted"):
        total[key] = sum(r[key] for r in rows)
    for key in ("subscribed_amount", "contracted_amount"):
        total[key] = sum((r[key] for r in rows), fig.ZERO)
    return _rates(total)


STEPS = (("calls", "来电"), ("visits", "来访"), ("subscribed", "认购"), ("contracted", "签约"))


def funnel_parts(f: Filters) -> tuple[list[Figure], list[Table], list[Chart]]:
    """The funnel's figures, its two tables (by consultant, by channel) and its chart."""
    deals = funnel_deals(f)
    people = funnel_rows(f, "consultant", deals)
    channels = funnel_rows(f, "channel", deals)
    total = _funnel_total(people)
    figures = [Figure(label, total[key]) for key, label in STEPS] + [
        Figure(_("来电→来访（%）"), total["visit_rate"], "percent"),
        Figure(_("来访→认购（%）"), total["subscribe_rate"], "percent"),
        Figure(_("认购→签约（%）"), total["contract_rate"], "percent"),
    ]
    tables = [
        Table(
            _("转化漏斗（按置业顾问）"),
            FUNNEL_COLUMNS,
            people,
            total,
            note=_("各环节为本期发生数；来访多于来电时，来电→来访超过100%"),
        ),
        Table(
            _("转化漏斗（按认知途径）"),
            CHANNEL_FUNNEL_COLUMNS,
            channels,
            _funnel_total(channels),
            note=_("来访为首次来访；成交按客户的认知途径"),
        ),
    ]
    chart = Chart(
        _("转化漏斗"),
        "funnel",
        [label for _key, label in STEPS],
        [(_("数量"), [total[key] for key, _label in STEPS])],
    )
    return figures, tables, [chart]


def funnel_report(f: Filters) -> Report:
    """转化漏斗: 来电 → 来访 → 认购 → 签约 of the period per consultant and per channel,
    with the conversion between steps (seed 002 二.1(3) and 三.3 来电来访客户分析)."""
    figures, tables, charts = funnel_parts(f)
    return Report("funnel", _("转化漏斗"), f, figures, tables, charts)


# --- 目标达成 ----------------------------------------------------------------------------------

TARGET_COLUMNS = [
    col("month", "月份", width=8),
    col("consultant", "置业顾问", width=12),
    col("target_amount", "销售额目标（元）", "money", 16),
    col("amount", "认购金额（元）", "money", 16),
    col("amount_pct", "完成率（%）", "percent", 10),
    col("target_units", "套数目标", "integer", 8),
    col("units", "认购套数", "integer", 8),
    col("units_pct", "完成率（%）", "percent", 10),
    col("target_collections", "回款目标（元）", "money", 16),
    col("collections", "回款净额（元）", "money", 16),
    col("collections_pct", "完成率（%）", "percent", 10),
]


def achievement(f: Filters) -> list[dict]:
    """For each month the period touches, the project's target (no consultant) and each
    consultant's against what was achieved from the month's first day to the end of the
    period (the whole month for a monthly report; the month to date for a week):
    sales amount and units of the subscriptions (``figures.subscribed``) and net money
    (``figures.money``), each with its achievement in percent (seed 001 一.1: the year's
    target broken down by month). The targets are those the viewer may see
    (``Target.objects.restrict``: a consultant their own); with a consultant filter only
    that consultant's rows. One grouped query per source for every month at once."""
    months = months_of(f.start, f.end)
    span = f.with_period(months[0], f.end)
    sales = _grouped(
        fig.subscribed(span),
        {"g_month": _local_month("subscribed_at"), "g_who": F("consultant")},
        **_deal_sums(),
    )
    money = _grouped(
        fig.money(span),
        {"g_month": TruncMonth("paid_on"), "g_who": fig.money_owner()},
        net=Coalesce(Sum("amount"), fig.ZERO),
    )
    targets = Target.objects.restrict(f.user, "view").filter(project=f.project, month__in=months)
    if f.consultant:
        targets = targets.filter(consultant=f.consultant)
    by_key = {(t.month, t.consultant_id): t for t in targets}
    people = {who for _m, who in [*sales, *money, *by_key]}
    if f.consultant:
        people = {f.consultant.pk}
    names = _user_names(people)

    def row(month, who, label):
        def of(source, key, default):
            if who is None:  # the project: every consultant's
                found = [r[key] for (m, _w), r in source.items() if m == month]
                return sum(found, default)
            return source.get((month, who), {}).get(key, default)

        target = by_key.get((month, who))
        amount = of(sales, "amount", fig.ZERO)
        units = of(sales, "count", 0)
        collections = of(money, "net", fig.ZERO)
        return {
            "month": f"{month:%Y-%m}",
            "month_start": month,
            "consultant": label,
            "consultant_id": who,
            "target_amount": target.amount if target else None,
            "amount": amount,
            "amount_pct": percent(amount, target.amount) if target else None,
            "target_units": target.units if target else None,
            "units": units,
            "units_pct": percent(units, target.units) if target else None,
            "target_collections": target.collections if target else None,
            "collections": collections,
            "collections_pct": percent(collections, target.collections) if target else None,
        }

    rows = []
    for month in months:
        if f.consultant is None:
            rows.append(row(month, None, _("项目合计")))
        present = {who for (m, who) in [*sales, *money, *by_key] if m == month and who is not None}
        if f.consultant:
            present = {f.consultant.pk}
        for who in sorted(present, key=lambda pk: names.get(pk, "")):
            rows.append(row(month, who, names.get(who, "")))
    return rows


def _targets_table(f: Filters, rows: list[dict]) -> Table:
    note = _("完成额自当月1日统计至本期末")
    if f.building or f.channel:
        note += _("；目标不分楼栋和认知途径，完成额按筛选条件统计")
    return Table(_("目标达成"), TARGET_COLUMNS, rows, note=note)


def targets_report(f: Filters) -> Report:
    """目标达成: each month's targets of the project and of each consultant against the
    subscriptions and net money achieved (``achievement``; seed 001 一.1); a consultant
    sees their own rows only."""
    rows = achievement(f)
    figures = []
    last = [r for r in rows if r["month_start"] == rows[-1]["month_start"]] if rows else []
    if last:
        head = last[0]
        figures = [
            Figure(_("认购金额（元）"), head["amount"], "money"),
            Figure(_("销售额完成率（%）"), head["amount_pct"], "percent"),
            Figure(_("认购套数"), head["units"]),
            Figure(_("套数完成率（%）"), head["units_pct"], "percent"),
            Figure(_("回款净额（元）"), head["collections"], "money"),
            Figure(_("回款完成率（%）"), head["collections_pct"], "percent"),
        ]
    chart = Chart(
        _("销售额目标与完成"),
        "bar",
        [f"{r['month']} {r['consultant']}" for r in rows],
        [
            (_("目标"), [r["target_amount"] or fig.ZERO for r in rows]),
            (_("完成"), [r["amount"] for r in rows]),
        ],
    )
    return Report("targets", _("目标达成"), f, figures, [_targets_table(f, rows)], [chart])


# --- 客户分析 (visitors and buyers) ------------------------------------------------------------


def visitors_of(f: Filters):
    """The distinct customers who visited in the period (``figures.visitors``)."""
    return fig.visitors(f)


def analysis_tables(f: Filters) -> list[Table]:
    """来电来访客户分析 and 成交客户分析 side by side (seed 002 二.3(2), 三.3): per
    dimension, the distinct visitors of the period and the distinct buyers of its
    subscriptions (``deals.reports.buyer_analysis``) by category, each with its share."""
    visitors = deal_reports.profile_of(fig.visitor_counts(f), f.project)
    buyers = {d["field"]: d for d in deal_reports.buyer_analysis(fig.subscribed(f), f.project)}
    tables = []
    for seen in visitors:
        bought = buyers.get(seen["field"], {"total": 0, "rows": []})
        v = {r["name"]: r["count"] for r in seen["rows"]}
        b = {r["name"]: r["count"] for r in bought["rows"]}
        names = sorted(set(v) | set(b), key=lambda n: (-v.get(n, 0), -b.get(n, 0), n))
        rows = [
            {
                "name": n,
                "visitors": v.get(n, 0),
                "visitors_pct": percent(v.get(n, 0), seen["total"]),
                "buyers": b.get(n, 0),
                "buyers_pct": percent(b.get(n, 0), bought["total"]),
            }
            for n in names
        ]
        total = {
            "name": _("合计"),
            "visitors": seen["total"],
            "visitors_pct": percent(seen["total"], seen["total"]),
            "buyers": bought["total"],
            "buyers_pct": percent(bought["total"], bought["total"]),
        }
        columns = [
            col("name", seen["label"], width=16),
            col("visitors", "来访客户", "integer", 10),
            col("visitors_pct", "占比（%）", "percent", 8),
            col("buyers", "成交客户", "integer", 10),
            col("buyers_pct", "占比（%）", "percent", 8),
        ]
        tables.append(Table(_("客户分析·%(l)s") % {"l": seen["label"]}, columns, rows, total))
    return tables


# --- the reports ------------------------------------------------------------------------------


def weekly_report(f: Filters) -> Report:
    """销售周报 (seed 002 三.2: 每周由销售经理安排销售主管根据《销售日统计报表》汇总成
    《销售周统计报表》，并同时填写《成交客户档案》): the figures and tables of the daily
    report over the week, the seven days side by side with their trend, the 成交客户档案
    (for those who may see the buyers) and the achievement of the month(s) touched."""
    figures, tables, charts = daily.sales_tables(f)
    days = day_rows(f)
    tables.insert(0, Table(_("每日汇总"), DAY_COLUMNS, days, daily.total_of(days, "day")))
    charts.insert(0, _trend(_("每日来电来访与成交"), [r["day"][5:10] for r in days], days))
    if may_see_archive(f):
        tables.append(_archive_table(f))
    tables.append(_targets_table(f, achievement(f)))
    return Report("weekly", _("销售周报"), f, figures, tables, charts)


def monthly_report(f: Filters) -> Report:
    """销售月报 (seed 002 三.3: 销售经理每月根据《销售周报表》和《成交客户档案》……进行来电
    来访客户分析、成交客户分析……完成《销售月报》): the daily report's figures and tables
    over the month, its weeks, the conversion funnel, the visitor and buyer analyses
    (seed 002 二.3(2)) and the achievement against the month's targets."""
    figures, tables, charts = daily.sales_tables(f)
    weeks = week_rows(f)
    tables.insert(0, Table(_("每周汇总"), WEEK_COLUMNS, weeks, daily.total_of(weeks, "week")))
    charts.insert(
        0, _trend(_("每周来电来访与成交"), [r["week"].split("（")[0] for r in weeks], weeks)
    )
    _funnel_figures, funnel_tables, funnel_charts = funnel_parts(f)
    tables.extend(funnel_tables)
    charts.extend(funnel_charts)
    tables.extend(analysis_tables(f))
    tables.append(_targets_table(f, achievement(f)))
    return Report("monthly", _("销售月报"), f, figures, tables, charts)


register(
    Spec(
        "weekly",
        _("销售周报"),
        _("周报"),
        weekly_report,
        period="week",
        own=True,
        personal=True,  # its 成交客户档案 names the buyers
        description=_("一周每日来电来访与成交、成交客户档案、当月目标完成情况"),
    )
)
BUYERS = register(
    Spec(
        "buyers",
        _("成交客户档案"),
        _("周报"),
        buyers_report,
        period="week",
        needs=("deal.view",),
        personal=True,
        description=_("本期认购客户的档案，每位买受人一行"),
    )
)
register(
    Spec(
        "monthly",
        _("销售月报"),
        _("月报"),
        monthly_report,
        period="month",
        own=True,
        description=_("各周汇总、转化漏斗、来访与成交客户分析、目标达成"),
    )
)
register(
    Spec(
        "funnel",
        _("转化漏斗"),
        _("月报"),
        funnel_report,
        period="month",
        own=True,
        description=_("来电、来访、认购、签约各环节数量与转化率，按置业顾问和认知途径"),
    )
)
register(
    Spec(
        "targets",
        _("目标达成"),
        _("月报"),
        targets_report,
        period="month",
        own=True,
        description=_("项目与置业顾问每月销售额、套数、回款目标的完成情况"),
    )
)
