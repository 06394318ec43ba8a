"""Analyses 分析报表 (issue 15 "Analyses"): four reports built on the report engine, each
a builder that only reads and answers with grouped queries (one GROUP BY or one
aggregate per table, never a Python loop over the rows of a big table).

* ``channels`` 渠道效果分析 (seed 002 二.1(3)): what each channel 认知途径 cost and what
  it brought — calls, first visits, new customers, subscriptions, contracts — with the
  cost per call, per visit and per deal, per channel and per month.
* ``sellthrough`` 去化分析 (seed 002 二.1(2)): sell-through by building, layout, area,
  floor and price band (and use), units sold per month, ageing of the unsold stock and
  the held ratio 销控比例 at each month end.
* ``collections`` 回款分析 (seed 002 二.5): planned against received by month, by
  method, the mortgage pipeline and the arrears by age, each read through the payments
  app's own rules (live schedule items of paying deals, ``overdue_items``).
* ``compliance`` 系统执行考核 (seed 004 二 and 六): per consultant, late registrations,
  late or missing contract scans, incomplete customer files and customers followed up
  too rarely, against the project's ``ReportSettings``.

What counts as a call, a visit, a subscription, money in or a sold unit is decided once
in ``figures``; working days once in ``core.workdays``; what is owed and overdue once in
``payments.arrears``.
"""

from __future__ import annotations

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db import connection, models
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateTimeField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, TruncDate, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from loupan.core.money import money
from loupan.core.workdays import exceptions_between, working_days_between
from loupan.core.xlsx import col
from loupan.customers.models import (
    OWNED_ACTIVE,
    Channel,
    Customer,
    FollowUp,
)
from loupan.deals.models import Deal
from loupan.inventory.models import Building, Layout, UnitStatus, UnitStatusChange, UnitUse
from loupan.payments import rules as payment_rules
from loupan.payments.arrears import items_with_paid, overdue_items
from loupan.payments.models import Mortgage, MortgageStage, ScheduleItem

from . import figures as fig
from .daily import MONEY_COLUMNS, NO_CHANNEL, settings_of, total_of
from .engine import (
    Chart,
    Figure,
    Filters,
    Report,
    Spec,
    Table,
    day_start,
    month_end,
    months_of,
    percent,
    ratio,
    register,
)
from .models import REQUIRED_FIELD_CHOICES, ChannelSpend

ZERO = fig.ZERO
TWO_PLACES = models.DecimalField(max_digits=16, decimal_places=2)
UNKNOWN = "未知"
# Detail tables list at most this many rows of each kind (the counts are always whole).
DETAIL_LIMIT = 200


def _month(value) -> datetime.date:
    """The first day of the month of a truncated date or (aware) datetime."""
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    return value.replace(day=1)


def _total(field, **extra) -> Coalesce:
    """The sum of a money or area column (0 when none); ``_fen`` rounds it."""
    return Coalesce(Sum(field, **extra), ZERO, output_field=TWO_PLACES)


def _fen(rows, *keys):
    """Grouped rows with their sums ``keys`` rounded to the fen (SQLite sums decimals
    as floats: 8730.96 comes back 8730.96000000001)."""
    for row in rows:
        for key in keys:
            row[key] = money(row[key])
        yield row


def _count_by(qs, field: str) -> dict:
    return dict(qs.values_list(field).annotate(n=Count("pk")).order_by())


def _users(ids) -> dict:
    ids = {pk for pk in ids if pk is not None}
    return {u.pk: u for u in get_user_model().objects.filter(pk__in=ids)}


def _filtered(f: Filters) -> bool:
    return bool(f.building or f.consultant)


# --- 渠道效果分析 ---------------------------------------------------------------------------------

CHANNEL_COLUMNS = [
    col("channel", "认知途径", width=14),
    col("spend", "推广费用（元）", "money", 14),
    col("calls", "来电", "integer", 8),
    col("visits", "首次来访", "integer", 8),
    col("new", "新登记客户", "integer", 10),
    col("subscribed", "认购套数", "integer", 8),
    col("subscribed_amount", "认购金额（元）", "money", 14),
    col("contracted", "签约套数", "integer", 8),
    col("per_call", "每来电成本（元）", "money", 12),
    col("per_visit", "每来访成本（元）", "money", 12),
    col("per_deal", "每成交成本（元）", "money", 12),
]
CHANNEL_MONTH_COLUMNS = [
    col("month", "月份", width=10),
    col("channel", "认知途径", width=14),
    col("spend", "推广费用（元）", "money", 14),
    col("calls", "来电", "integer", 8),
    col("visits", "首次来访", "integer", 8),
    col("subscribed", "认购套数", "integer", 8),
    col("per_deal", "每成交成本（元）", "money", 12),
]


def _costs(row: dict, allocate: bool) -> dict:
    """Cost per call, per first visit and per subscription (None when nothing to divide
    by, or when the figures are one consultant's or one building's share)."""
    spend = row.get("spend") or ZERO
    for key, count in (("per_call", "calls"), ("per_visit", "visits"), ("per_deal", "subscribed")):
        row[key] = ratio(spend, row.get(count)) if allocate else None
    return row


def channels(f: Filters) -> Report:
    """渠道效果分析 (seed 002 二.1(3): 为广告效果测评提供参照). Per channel 认知途径 of the project
    (and 未填写 for none) over the period: the spend (``ChannelSpend`` of the months the
    period touches, whole months), calls (peer research left out), first visits and new
    customers (``figures``), subscriptions and contracts of deals whose customer came by
    the channel (an exchange's new deal is not a new sale), and spend per call, per
    first visit and per subscription (None when there is none). The same per month.

    The spend belongs to the whole office: filtered to a consultant or a building the
    costs per call, visit and deal are left empty rather than charged to a share. The
    building filter narrows the deals only (calls and visits have no building)."""
    allocate = not _filtered(f)
    months = months_of(f.start, f.end)
    spend_qs = ChannelSpend.objects.filter(
        project=f.project, month__gte=months[0], month__lte=f.end
    )
    if f.channel:
        spend_qs = spend_qs.filter(channel=f.channel)
    spend = {
        r["channel"]: r["s"]
        for r in _fen(spend_qs.values("channel").annotate(s=_total("amount")).order_by(), "s")
    }
    traffic = fig.traffic_by(f, "channel")
    calls, visits, new = (
        {k: t[name] for k, t in traffic.items()} for name in ("calls", "first", "new")
    )
    deal_sums = {"count": Count("pk"), "amount": _total("total")}
    subs = {
        r["customer__channel"]: r
        for r in _fen(
            fig.subscribed(f).values("customer__channel").annotate(**deal_sums).order_by(),
            "amount",
        )
    }
    cons = _count_by(fig.contracted(f), "customer__channel")

    channel_rows = Channel.objects.filter(project=f.project).order_by("sort_order", "name")
    if f.channel:
        channel_rows = channel_rows.filter(pk=f.channel.pk)
    names = {c.pk: c.name for c in channel_rows}
    active = {c.pk for c in channel_rows if c.is_active}
    keys = [pk for pk in names if pk in active] + [pk for pk in names if pk not in active]
    if not f.channel:
        keys.append(None)
    rows = []
    for key in keys:
        row = {
            "channel": names.get(key, NO_CHANNEL),
            "spend": spend.get(key, ZERO),
            "calls": calls.get(key, 0),
            "visits": visits.get(key, 0),
            "new": new.get(key, 0),
            "subscribed": subs.get(key, {}).get("count", 0),
            "subscribed_amount": subs.get(key, {}).get("amount", ZERO),
            "contracted": cons.get(key, 0),
        }
        busy = any(row[k] for k in ("spend", "calls", "visits", "new", "subscribed", "contracted"))
        if key is not None and key not in active and not busy:
            continue  # a channel no longer used, with nothing in the period
        # no spend is ever booked to "no channel": its costs are not zero, they are unknown
        rows.append(_costs(row, allocate and key is not None))
    total = _costs(total_of(rows, "channel"), allocate)

    # per month: spend, calls, first visits and subscriptions of each channel
    monthly: dict = {}

    def cell(month, key):
        return monthly.setdefault(
            (month, key), {"spend": ZERO, "calls": 0, "visits": 0, "subscribed": 0}
        )

    for r in _fen(spend_qs.values("month", "channel").annotate(s=_total("amount")).order_by(), "s"):
        cell(_month(r["month"]), r["channel"])["spend"] += r["s"]
    for (m, key), t in fig.traffic_by(f, "m", "channel", m=TruncMonth("day")).items():
        if t["calls"] or t["first"]:
            cell(_month(m), key)["calls"] += t["calls"]
            cell(_month(m), key)["visits"] += t["first"]
    subscribed = fig.subscribed(f).annotate(m=TruncMonth("subscribed_at"))
    for r in subscribed.values("m", "customer__channel").annotate(n=Count("pk")).order_by():
        cell(_month(r["m"]), r["customer__channel"])["subscribed"] += r["n"]
    order = {key: i for i, key in enumerate(keys)}
    month_rows = []
    for (month, key), values in sorted(
        monthly.items(), key=lambda kv: (kv[0][0], order.get(kv[0][1], len(order)))
    ):
        if key not in order:
            continue
        row = {"month": f"{month:%Y-%m}", "channel": names.get(key, NO_CHANNEL), **values}
        row["per_deal"] = ratio(row["spend"], row["subscribed"]) if allocate else None
        month_rows.append(row)

    notes = [_("推广费用按月填报，统计期间涉及的月份按整月计入")]
    if not allocate:
        notes.append(_("按置业顾问或楼栋筛选时不分摊推广费用，单位成本不计算"))
    if f.building:
        notes.append(_("楼栋筛选只作用于认购与签约，来电来访不分楼栋"))
    figures = [
        Figure(_("推广费用（元）"), total.get("spend", ZERO), "money"),
        Figure(_("来电"), total.get("calls", 0)),
        Figure(_("首次来访"), total.get("visits", 0)),
        Figure(_("认购套数"), total.get("subscribed", 0)),
        Figure(_("每来电成本（元）"), total["per_call"], "money"),
        Figure(_("每来访成本（元）"), total["per_visit"], "money"),
        Figure(_("每成交成本（元）"), total["per_deal"], "money"),
    ]
    charts = [
        Chart(
            _("各认知途径来电、来访与成交"),
            "bar",
            [r["channel"] for r in rows],
            [
                (_("来电"), [r["calls"] for r in rows]),
                (_("首次来访"), [r["visits"] for r in rows]),
                (_("认购套数"), [r["subscribed"] for r in rows]),
            ],
        )
    ]
    costed = [r for r in rows if r["per_deal"] is not None]
    if costed:
        charts.append(
            Chart(
                _("每成交成本（元）"),
                "hbar",
                [r["channel"] for r in costed],
                [(_("每成交成本（元）"), [r["per_deal"] for r in costed])],
            )
        )
    return Report(
        "channels",
        _("渠道效果分析"),
        f,
        figures,
        [
            Table(_("按认知途径"), CHANNEL_COLUMNS, rows, total),
            Table(_("按月份与认知途径"), CHANNEL_MONTH_COLUMNS, month_rows),
        ],
        charts,
        notes,
    )


# --- 去化分析 ------------------------------------------------------------------------------------

AREA_BANDS = [
    ("<90㎡", None, 90),
    ("90–120㎡", 90, 120),
    ("120–144㎡", 120, 144),
    ("≥144㎡", 144, None),
]
# 低区 1–6 (no lift needed, the garden floors), 中区 7–18, 高区 19 and above; basements apart.
FLOOR_BANDS = [("低区（1–6层）", 1, 7), ("中区（7–18层）", 7, 19), ("高区（19层及以上）", 19, None)]
UNDERGROUND = "地下"
WAN = 10_000
PRICE_BANDS = [
    ("<150万", None, 150 * WAN),
    ("150–200万", 150 * WAN, 200 * WAN),
    ("200–300万", 200 * WAN, 300 * WAN),
    ("≥300万", 300 * WAN, None),
]
UNPRICED = "未定价"
# Parking and storage sold on their own are priced per space: banded apart, so that
# they do not fill the smallest area and price bands.
ANCILLARY = (UnitUse.PARKING, UnitUse.STORAGE)
ANCILLARY_LABEL = "车位/储藏室"
AGE_BANDS = [("0–30天", 30), ("31–90天", 90), ("91–180天", 180), ("181–365天", 365)]
AGE_OVER = ">365天"
NO_LAYOUT = "未设户型"

STOCK_COLUMNS = [
    col("group", "分组", width=14),
    col("total", "总套数", "integer", 8),
    col("released", "已推", "integer", 8),
    col("sold", "已售", "integer", 8),
    col("reserved", "预留", "integer", 8),
    col("held", "销控保留", "integer", 8),
    col("available", "可售", "integer", 8),
    col("sold_area", "已售面积（㎡）", "area", 12),
    col("pct", "去化率（%）", "percent", 10),
]
AGE_COLUMNS = [
    col("band", "可售天数", width=12),
    col("units", "套数", "integer", 8),
    col("area", "建筑面积（㎡）", "area", 12),
    col("amount", "表价合计（元）", "money", 16),
]
HELD_COLUMNS = [
    col("date", "截至", width=12),
    col("released", "已推套数", "integer", 10),
    col("held", "销控保留", "integer", 10),
    col("pct", "保留比例（%）", "percent", 10),
]


def stock_units(f: Filters):
    """The units the sell-through counts: the project's (the building filter applied),
    with each unit's status as of now (``current_status``), attached parking and
    storage left out (they are sold with their home and counted in it)."""
    return fig.units(f).filter(attached_to__isnull=True).as_of_now()


def _stock_sums() -> dict:
    return {
        "total": Count("pk"),
        "released": Count("pk", filter=~Q(status=UnitStatus.NOT_RELEASED)),
        "sold": Count("pk", filter=fig.sold_q()),
        "reserved": Count("pk", filter=Q(current_status=UnitStatus.RESERVED)),
        "held": Count("pk", filter=Q(current_status=UnitStatus.HELD)),
        "available": Count("pk", filter=Q(current_status=UnitStatus.AVAILABLE)),
        "sold_area": _total("gross_area", filter=fig.sold_q()),
    }


def _band_case(field: str, bands, first=(), default=UNKNOWN) -> Case:
    """A CASE giving each row its band's label: ``bands`` as (label, from, below)."""
    whens = list(first)
    for label, low, high in bands:
        q = Q()
        if low is not None:
            q &= Q(**{f"{field}__gte": low})
        if high is not None:
            q &= Q(**{f"{field}__lt": high})
        whens.append(When(q, then=Value(label)))
    return Case(*whens, default=Value(default), output_field=CharField())


def _stock_table(qs, key, labels: list[tuple]) -> tuple[list[dict], dict]:
    """One GROUP BY of ``qs`` on ``key`` (a field or an expression): a row per label
    ((key value, label) in order; groups not named come last), with the sell-through."""
    grouped = {
        r["k"]: r
        for r in _fen(
            qs.annotate(k=key).values("k").annotate(**_stock_sums()).order_by(), "sold_area"
        )
    }
    named = dict(labels)
    order = [k for k, _label in labels] + [k for k in grouped if k not in named]
    rows = []
    for k in order:
        if k not in grouped:
            continue
        r = grouped[k]
        rows.append(
            {
                "group": str(named.get(k, k)),
                **{name: r[name] for name in _stock_sums()},
                "pct": percent(r["sold"], r["released"]),
            }
        )
    total = total_of(rows, "group")
    total["pct"] = percent(total.get("sold", 0), total.get("released", 0))
    return rows, total


def _held_history(f: Filters, units) -> list[dict]:
    """Released and held units at each month end of the period (today for the current
    month; months not begun yet are left out), reconstructed from ``UnitStatusChange``.

    Every status move writes one change with its ``from_status`` and ``to_status``, so
    the number of units in a status at an instant T is the number now less the moves
    into it since T plus the moves out of it since T. One aggregate over the changes
    since the first month end answers every month (attached units left out, the building
    filter applied; the status stored, as the changes record it)."""
    now = timezone.now()
    points = []
    for first in months_of(f.start, f.end):
        day = min(month_end(first), f.end)
        at = min(day_start(day + datetime.timedelta(days=1)), now)
        if day_start(first) > now:
            break
        points.append((min(day, timezone.localdate()), at))
    if not points:
        return []
    current = units.aggregate(
        held=Count("pk", filter=Q(status=UnitStatus.HELD)),
        released=Count("pk", filter=~Q(status=UnitStatus.NOT_RELEASED)),
    )
    changes = UnitStatusChange.objects.filter(
        unit__in=units.values("pk"), created_at__gte=points[0][1]
    )
    sums = {}
    for i, (_day, at) in enumerate(points):
        since = Q(created_at__gte=at)
        sums[f"in_held_{i}"] = Count("pk", filter=since & Q(to_status=UnitStatus.HELD))
        sums[f"out_held_{i}"] = Count("pk", filter=since & Q(from_status=UnitStatus.HELD))
        sums[f"out_nr_{i}"] = Count("pk", filter=since & Q(from_status=UnitStatus.NOT_RELEASED))
        sums[f"in_nr_{i}"] = Count("pk", filter=since & Q(to_status=UnitStatus.NOT_RELEASED))
    moved = changes.aggregate(**sums)
    rows = []
    for i, (day, _at) in enumerate(points):
        held = current["held"] - moved[f"in_held_{i}"] + moved[f"out_held_{i}"]
        released = current["released"] - moved[f"out_nr_{i}"] + moved[f"in_nr_{i}"]
        rows.append(
            {
                "date": day.isoformat(),
                "released": released,
                "held": held,
                "pct": percent(held, released),
            }
        )
    return rows


def _age_band(since: datetime.date | None, today: datetime.date) -> str:
    """The ageing band of a unit first available on the local day ``since`` (未知
    without one): the first band whose days back from ``today`` reach that day."""
    if since is None:
        return UNKNOWN
    for label, days in AGE_BANDS:
        if since >= today - datetime.timedelta(days=days):
            return label
    return AGE_OVER


def sellthrough(f: Filters) -> Report:
    """去化分析 (seed 002 二.1(2): 按楼栋、户型、面积、楼层、总价分析去化). Counted over the
    project's units as they stand now, attached parking and storage (``Unit.attached_to``)
    left out because they are sold with their home; every other unit counts, and the
    by-use table tells homes from shops, apartments and stand-alone parking.

    * Per group: total, released (not 未推), sold (``SOLD_STATUSES``), reserved, held
      (销控保留) and available as of now (a hold or reservation that has run out reads
      available), sold gross area, and sell-through = sold / released.
    * Groups: building; layout; gross-area band (<90, 90–120, 120–144, ≥144 ㎡); floor
      band (地下, 低区 1–6, 中区 7–18, 高区 ≥19); list-price band (<150, 150–200,
      200–300, ≥300 万元; 未定价 without a list price); use. Parking and storage have
      their own area and price band.
    * Units sold per month by building: subscriptions of the period (``figures``: an
      exchange's new deal is not a sale; the consultant and channel filters apply).
    * Ageing of the released, unsold units: days since the unit first became available
      (its earliest ``UnitStatusChange`` to 可售; 未知 without one), as of today.
    * Held ratio at each month end: held / released, see ``_held_history``.

    The consultant and channel filters apply to the sales per month only (a unit has
    neither)."""
    units = stock_units(f)
    buildings = Building.objects.filter(project=f.project).order_by("sort_order", "name")
    if f.building:
        buildings = buildings.filter(pk=f.building.pk)
    buildings = list(buildings)
    layouts = list(Layout.objects.filter(project=f.project).order_by("name"))
    ancillary = [When(use__in=ANCILLARY, then=Value(ANCILLARY_LABEL))]
    dims = [
        (_("按楼栋"), F("building_id"), [(b.pk, b.name) for b in buildings]),
        (
            _("按户型"),
            F("layout_id"),
            [(x.pk, x.name) for x in layouts] + [(None, NO_LAYOUT)],
        ),
        (
            _("按面积段"),
            _band_case("gross_area", AREA_BANDS, ancillary),
            [(b[0], b[0]) for b in AREA_BANDS] + [(ANCILLARY_LABEL, ANCILLARY_LABEL)],
        ),
        (
            _("按楼层段"),
            _band_case("floor", FLOOR_BANDS, [When(floor__lt=1, then=Value(UNDERGROUND))]),
            [(b[0], b[0]) for b in FLOOR_BANDS] + [(UNDERGROUND, UNDERGROUND)],
        ),
        (
            _("按总价段"),
            _band_case(
                "list_price",
                PRICE_BANDS,
                [*ancillary, When(list_price__isnull=True, then=Value(UNPRICED))],
            ),
            [(b[0], b[0]) for b in PRICE_BANDS]
            + [(ANCILLARY_LABEL, ANCILLARY_LABEL), (UNPRICED, UNPRICED)],
        ),
        (_("按用途"), F("use"), [(u.value, u.label) for u in UnitUse]),
    ]
    tables = []
    for title, key, labels in dims:
        rows, total = _stock_table(units, key, labels)
        tables.append(Table(title, STOCK_COLUMNS, rows, total))
    overall = tables[0].total  # every table sums the same units

    # units sold per month, by building
    months = months_of(f.start, f.end)
    sold = {}
    grouped = (
        fig.subscribed(f)
        .annotate(m=TruncMonth("subscribed_at"))
        .values("m", "unit__building")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for r in grouped:
        key = (_month(r["m"]), r["unit__building"])
        sold[key] = sold.get(key, 0) + r["n"]
    selling = {b for _m, b in sold}
    shown = [b for b in buildings if b.pk in selling]
    month_columns = [col("month", "月份", width=10)] + [
        col(f"b{b.pk}", b.name, "integer", 8) for b in shown
    ]
    month_columns.append(col("units", "合计", "integer", 8))
    month_rows = []
    for m in months:
        row = {"month": f"{m:%Y-%m}"}
        for b in shown:
            row[f"b{b.pk}"] = sold.get((m, b.pk), 0)
        row["units"] = sum(n for (mm, _b), n in sold.items() if mm == m)
        month_rows.append(row)

    # ageing of the released, unsold units (as of today): one GROUP BY the local day each
    # unit first became available (the subquery read once a unit, not once a band), the
    # days put in their bands here
    today = timezone.localdate()
    first_available = Subquery(
        UnitStatusChange.objects.filter(unit=OuterRef("pk"), to_status=UnitStatus.AVAILABLE)
        .order_by()
        .values("unit")
        .annotate(at=Min("created_at"))
        .values("at")[:1],
        output_field=DateTimeField(),
    )
    unsold = (
        units.exclude(status=UnitStatus.NOT_RELEASED)
        .exclude(fig.sold_q())
        .annotate(since=TruncDate(first_available, tzinfo=timezone.get_current_timezone()))
        .values("since")
        .annotate(
            units=Count("pk"),
            area=_total("gross_area"),
            amount=_total("list_price"),
        )
        .order_by()
    )
    ages: dict = {}
    for r in _fen(unsold, "area", "amount"):
        label = _age_band(r["since"], today)
        band = ages.setdefault(label, {"units": 0, "area": ZERO, "amount": ZERO})
        for key in ("units", "area", "amount"):
            band[key] += r[key]
    age_rows = [
        {"band": label, **ages[label]}
        for label in [b[0] for b in AGE_BANDS] + [AGE_OVER, UNKNOWN]
        if label in ages
    ]

    held_rows = _held_history(f, fig.units(f).filter(attached_to__isnull=True))

    figures = [
        Figure(_("总套数"), overall.get("total", 0)),
        Figure(_("已推套数"), overall.get("released", 0)),
        Figure(_("已售套数"), overall.get("sold", 0)),
        Figure(_("去化率（%）"), overall.get("pct"), "percent"),
        Figure(_("销控保留"), overall.get("held", 0)),
        Figure(_("期间认购套数"), sum(r["units"] for r in month_rows)),
    ]
    tables += [
        Table(
            _("各月认购套数（按楼栋）"),
            month_columns,
            month_rows,
            total_of(month_rows, "month"),
            note=_("换房生成的新交易不计为新的销售"),
        ),
        Table(
            _("未售房源库龄"),
            AGE_COLUMNS,
            age_rows,
            total_of(age_rows, "band"),
            note=_("已推未售房源自首次可售之日起至今的天数"),
        ),
        Table(
            _("销控保留比例（月末）"),
            HELD_COLUMNS,
            held_rows,
            note=_("由房间状态变更记录倒推各月末的已推与保留套数"),
        ),
    ]
    building_rows = tables[0].rows
    charts = [
        Chart(
            _("各楼栋去化率（%）"),
            "bar",
            [r["group"] for r in building_rows],
            [(_("去化率（%）"), [r["pct"] or 0 for r in building_rows])],
        ),
        Chart(
            _("各月认购套数"),
            "line",
            [r["month"] for r in month_rows],
            [(b.name, [r[f"b{b.pk}"] for r in month_rows]) for b in shown]
            or [(_("认购套数"), [r["units"] for r in month_rows])],
        ),
        Chart(
            _("销控保留比例（%）"),
            "line",
            [r["date"] for r in held_rows],
            [(_("保留比例（%）"), [r["pct"] or 0 for r in held_rows])],
        ),
    ]
    notes = [_("附属车位、储藏室随主房成交，不单独计数")]
    if f.consultant or f.channel:
        notes.append(_("置业顾问与认知途径筛选只作用于各月认购套数"))
    return Report("sellthrough", _("去化分析"), f, figures, tables, charts, notes)


# --- 回款分析 ------------------------------------------------------------------------------------

ARREAR_BANDS = [("1–30天", 30), ("31–60天", 60), ("61–90天", 90)]
ARREAR_OVER = ">90天"
AGES = [label for label, _days in ARREAR_BANDS] + [ARREAR_OVER]
PENDING_STAGES = (MortgageStage.COLLECTING, MortgageStage.SUBMITTED, MortgageStage.APPROVED)

PLAN_COLUMNS = [
    col("month", "月份", width=10),
    col("items", "应收笔数", "integer", 8),
    col("planned", "计划应收（元）", "money", 16),
    col("paid", "计划款已收（元）", "money", 16),
    col("owed", "计划款未收（元）", "money", 16),
    col("received", "实际回款（元）", "money", 16),
    col("pct", "回款完成率（%）", "percent", 10),
]
BANK_COLUMNS = [
    col("bank", "贷款银行", width=16),
    *[col(s.value, str(s.label), "integer", 8) for s in MortgageStage],
    col("count", "合计笔数", "integer", 8),
    col("amount", "贷款金额（元）", "money", 16),
    col("pending", "待放款金额（元）", "money", 16),
]
STAGE_COLUMNS = [
    col("stage", "办理阶段", width=12),
    col("count", "笔数", "integer", 8),
    col("amount", "贷款金额（元）", "money", 16),
]
ARREAR_COLUMNS = [
    col("band", "逾期天数", width=10),
    col("items", "逾期款项", "integer", 8),
    col("deals", "涉及交易", "integer", 8),
    col("owed", "逾期金额（元）", "money", 16),
]


def collections(f: Filters) -> Report:
    """回款分析 (seed 002 二.5 资金回笼管理).

    * Planned against received by month: planned = the schedule items due in the month,
      of deals still paying (认购, 签约: ``payments.rules.PAYING``), live items only
      (``payments.arrears.items_with_paid``, which also gives what the ledger holds
      against them and what they still owe); received = the ledger's money of the month
      (``figures.money``: signed, refunds and red entries subtract, carries left out).
      Completion = received / planned.
    * By method: ``figures.money_by_method``.
    * Mortgage pipeline as of now: the mortgages of paying deals by bank and stage, with
      the loan amounts (commercial + provident) and what still waits for disbursement.
    * Arrears by age as of today: ``payments.arrears.overdue_items`` (the payments app's
      "overdue"), in bands of days past the due date 1–30, 31–60, 61–90, >90.

    The building, consultant and channel filters apply through the deal."""
    scope = fig.deal_scope(f, "deal__")
    today = timezone.localdate()
    # the live items of the period (``items_with_paid``'s rule, its per-item ``paid``
    # left unread) by month, and what the ledger holds against them by the same month:
    # ``paid`` is the sum of the ledger rows against an item (``paid_subquery``), here
    # summed over a join of the items with their entries in one grouped query instead
    # of a subquery an item; what they owe is the rest (``owed`` = amount − paid)
    items = items_with_paid(
        ScheduleItem.objects.filter(
            scope,
            deal__status__in=payment_rules.PAYING,
            due_date__gte=f.start,
            due_date__lte=f.end,
        )
    ).annotate(m=TruncMonth("due_date"))
    planned = {
        _month(r["m"]): r
        for r in _fen(
            items.values("m").annotate(items=Count("pk"), planned=_total("amount")).order_by(),
            "planned",
        )
    }
    paid = {
        _month(r["m"]): r["entered"]
        for r in _fen(
            items.values("m").annotate(entered=_total("entries__amount")).order_by(),
            "entered",
        )
    }
    for month, row in planned.items():
        row["paid"] = paid.get(month, ZERO)
        row["owed"] = row["planned"] - row["paid"]
    received = {
        _month(r["m"]): r["net"]
        for r in _fen(
            fig.money(f)
            .annotate(m=TruncMonth("paid_on"))
            .values("m")
            .annotate(net=_total("amount"))
            .order_by(),
            "net",
        )
    }
    plan_rows = []
    for m in months_of(f.start, f.end):
        p = planned.get(m, {})
        row = {
            "month": f"{m:%Y-%m}",
            "items": p.get("items", 0),
            "planned": p.get("planned", ZERO),
            "paid": p.get("paid", ZERO),
            "owed": p.get("owed", ZERO),
            "received": received.get(m, ZERO),
        }
        row["pct"] = percent(row["received"], row["planned"])
        plan_rows.append(row)
    plan_total = total_of(plan_rows, "month")
    plan_total["pct"] = percent(plan_total.get("received", 0), plan_total.get("planned", 0))

    methods = fig.money_by_method(f)

    loan = F("commercial_amount") + F("provident_amount")
    pipeline = _fen(
        Mortgage.objects.filter(scope, deal__status__in=payment_rules.PAYING)
        .values("bank", "stage")
        .annotate(n=Count("pk"), amount=_total(loan))
        .order_by(),
        "amount",
    )
    banks: dict = {}
    stages = {s.value: {"count": 0, "amount": ZERO} for s in MortgageStage}
    for r in pipeline:
        bank = banks.setdefault(
            r["bank"],
            {
                "bank": r["bank"],
                **{s.value: 0 for s in MortgageStage},
                "count": 0,
                "amount": ZERO,
                "pending": ZERO,
            },
        )
        bank[r["stage"]] += r["n"]
        bank["count"] += r["n"]
        bank["amount"] += r["amount"]
        if r["stage"] in PENDING_STAGES:
            bank["pending"] += r["amount"]
        stages[r["stage"]]["count"] += r["n"]
        stages[r["stage"]]["amount"] += r["amount"]
    bank_rows = sorted(banks.values(), key=lambda r: r["bank"])
    stage_rows = [{"stage": str(s.label), **stages[s.value]} for s in MortgageStage]

    overdue = overdue_items(today, ScheduleItem.objects.filter(scope))
    band = Case(
        *[
            When(due_date__gte=today - datetime.timedelta(days=days), then=Value(label))
            for label, days in ARREAR_BANDS
        ],
        default=Value(ARREAR_OVER),
        output_field=CharField(),
    )
    # one GROUP BY band and deal: the bands' sums, and the deals counted once in the total
    # though a deal may owe in two bands
    arrears = {label: {"band": label, "items": 0, "deals": 0, "owed": ZERO} for label in AGES}
    owing = set()
    for r in _fen(
        overdue.annotate(band=band)
        .values("band", "deal")
        .annotate(items=Count("pk"), owed=_total("owed"))
        .order_by(),
        "owed",
    ):
        row = arrears[r["band"]]
        row["items"] += r["items"]
        row["deals"] += 1
        row["owed"] += r["owed"]
        owing.add(r["deal"])
    arrear_rows = list(arrears.values())
    arrear_total = total_of(arrear_rows, "band")
    arrear_total["deals"] = len(owing)

    figures = [
        Figure(_("计划应收（元）"), plan_total.get("planned", ZERO), "money"),
        Figure(_("实际回款（元）"), plan_total.get("received", ZERO), "money"),
        Figure(_("回款完成率（%）"), plan_total["pct"], "percent"),
        Figure(_("逾期金额（元）"), arrear_total.get("owed", ZERO), "money"),
        Figure(_("按揭待放款（元）"), sum((r["pending"] for r in bank_rows), ZERO), "money"),
    ]
    tables = [
        Table(_("计划与实际回款（按月）"), PLAN_COLUMNS, plan_rows, plan_total),
        Table(_("回款（按收付方式）"), MONEY_COLUMNS, methods, total_of(methods, "method")),
        Table(
            _("按揭进度（按银行）"),
            BANK_COLUMNS,
            bank_rows,
            total_of(bank_rows, "bank"),
            note=_("在途交易（认购、签约）的按揭，截至目前"),
        ),
        Table(_("按揭进度（按阶段）"), STAGE_COLUMNS, stage_rows, total_of(stage_rows, "stage")),
        Table(
            _("逾期欠款账龄"),
            ARREAR_COLUMNS,
            arrear_rows,
            arrear_total,
            note=_("截至今日 %(d)s 已过应付日期且未付清的款项") % {"d": today.isoformat()},
        ),
    ]
    charts = [
        Chart(
            _("计划与实际回款（元）"),
            "bar",
            [r["month"] for r in plan_rows],
            [
                (_("计划应收"), [r["planned"] for r in plan_rows]),
                (_("实际回款"), [r["received"] for r in plan_rows]),
            ],
        ),
        Chart(
            _("按揭进度"),
            "bar",
            [r["stage"] for r in stage_rows],
            [(_("笔数"), [r["count"] for r in stage_rows])],
        ),
        Chart(
            _("逾期欠款账龄（元）"),
            "bar",
            [r["band"] for r in arrear_rows],
            [(_("逾期金额"), [r["owed"] for r in arrear_rows])],
        ),
    ]
    return Report("collections", _("回款分析"), f, figures, tables, charts)


# --- 系统执行考核 ---------------------------------------------------------------------------------

COMPLIANCE_COLUMNS = [
    col("consultant", "置业顾问", width=10),
    col("late_entry", "录入超时", "integer", 8),
    col("late_scan", "扫描件超时", "integer", 10),
    col("missing_scan", "扫描件未上传", "integer", 10),
    col("incomplete", "资料不全", "integer", 8),
    col("few_follow_ups", "跟进不足", "integer", 8),
    col("total", "合计", "integer", 8),
]
COMPLIANCE_KEYS = ("late_entry", "late_scan", "missing_scan", "incomplete", "few_follow_ups")
FIELD_COLUMNS = [col("field", "必填项", width=12), col("count", "缺失客户数", "integer", 10)]
DETAIL_COLUMNS = [
    col("kind", "问题", width=12),
    col("consultant", "置业顾问", width=10),
    col("name", "客户", width=12),
    col("contract", "合同编号", width=18),
    col("date", "日期", width=12),
    col("detail", "说明", width=36),
]
# how far back (or on) a deadline walk may go before it gives up: a calendar mistake
WALK_DAYS = 400
# the rows a detail list may walk, one by one, to find its first ones (``_walk``)
WALK_ROWS = 20_000


def _runs(days, value_of) -> list[tuple[datetime.date, object]]:
    """(last day, value) for each run of consecutive ``days`` sharing ``value_of(day)``:
    a short CASE instead of one branch per day."""
    runs: list = []
    for day in days:
        value = value_of(day)
        if runs and runs[-1][1] == value:
            runs[-1] = (day, value)
        else:
            runs.append((day, value))
    return runs


def _days(start: datetime.date, end: datetime.date):
    day = start
    while day <= end:
        yield day
        day += datetime.timedelta(days=1)


def _entry_cutoff(day: datetime.date, limit: int, calendar) -> datetime.date:
    """The first contact day from which a registration on ``day`` is in time: a contact
    on an earlier day is more than ``limit`` working days before it."""
    contact = day - datetime.timedelta(days=1)
    for _step in range(WALK_DAYS):
        if working_days_between(contact, day, calendar) > limit:
            break
        contact -= datetime.timedelta(days=1)
    return contact + datetime.timedelta(days=1)


def _scan_deadline(day: datetime.date, limit: int, calendar) -> datetime.date:
    """The first day on which a scan of a contract signed on ``day`` is late: more than
    ``limit`` working days after the signing."""
    scan = day + datetime.timedelta(days=1)
    for _step in range(WALK_DAYS):
        if working_days_between(day, scan, calendar) > limit:
            break
        scan += datetime.timedelta(days=1)
    return scan


def _missing_q(name: str) -> Q | None:
    """A customer lacks ``name``: an empty relation, an empty text or an empty value."""
    try:
        field = Customer._meta.get_field(name)
    except FieldDoesNotExist:  # a setting naming no field checks nothing
        return None
    q = Q()
    if field.null or field.is_relation:
        q |= Q(**{f"{name}__isnull": True})
    if isinstance(field, models.CharField | models.TextField):
        q |= Q(**{name: ""})
    return q or None


def _steps(model, name: str, op: str, steps: list[tuple]) -> RawSQL:
    """The step function of a deadline per day over ``model``'s column ``name``: the
    instant of the first (bound, instant) of ``steps`` (bounds ascending) whose
    ``<name> <op> bound`` holds, NULL when none does, as ``CASE WHEN … THEN … END``
    with one branch per step would give it. Written as SQL at once (``Case(When(…))``
    resolves and compiles each of a year's 250 steps as an expression, for every query
    that uses it: a third of a second of Python per report) and as a binary search
    (nested CASEs: some 8 comparisons a row instead of 125 for a year's half a million
    registrations)."""
    ops = connection.ops
    column = f"{ops.quote_name(model._meta.db_table)}.{ops.quote_name(name)}"
    field = model._meta.get_field(name)
    bound = (
        ops.adapt_datetimefield_value
        if isinstance(field, DateTimeField)
        else ops.adapt_datefield_value
    )
    params: list = []

    def search(lo: int, hi: int) -> str:
        """The first step of steps[lo:hi] that holds (one of them holds, or none of
        steps[lo:] does)."""
        if hi - lo == 1:
            params.extend((bound(steps[lo][0]), ops.adapt_datetimefield_value(steps[lo][1])))
            return f"CASE WHEN {column} {op} %s THEN %s END"
        mid = (lo + hi) // 2
        params.append(bound(steps[mid - 1][0]))
        head = f"CASE WHEN {column} {op} %s THEN "
        return f"{head}{search(lo, mid)} ELSE {search(mid, hi)} END"

    if not steps:
        return RawSQL("NULL", (), output_field=DateTimeField())
    return RawSQL(search(0, len(steps)), params, output_field=DateTimeField())


def _walk(found: int, among: int) -> bool:
    """Whether a detail list had better walk the ``among`` rows in order, checking each,
    to find the first ``DETAIL_LIMIT`` of the ``found`` ones: when they are common
    enough to be met within ``WALK_ROWS`` rows."""
    return found > 0 and DETAIL_LIMIT * among <= found * WALK_ROWS


def compliance(f: Filters) -> Report:
    """系统执行考核 (seed 004 二 系统录入的及时性与完整性, 六 考核): per consultant over the
    period, against the project's ``ReportSettings`` (``daily.settings_of``), working
    days counted on the office's calendar (``core.workdays.working_days_between``):

    * 录入超时 — customers registered in the period (``figures.registrations``: by who
      registered them) more than ``entry_days`` working days after the first contact,
      the earliest of their linked calls (``CallRecord.customer``) and their visits;
      a customer with neither is not late.
    * 扫描件超时 / 扫描件未上传 — contracts signed in the period (``figures.contracted``,
      by the deal's consultant) whose scan (``Deal.contract_scanned_at``) came more
      than ``scan_days`` working days after ``signed_on``, or that still has none once
      that deadline has passed (as of now).
    * 资料不全 — customers registered in the period, owned (not in the pool, not
      anonymized), lacking any of ``required_fields`` (by owner; names that are not
      customer fields are ignored).
    * 跟进不足 — the owner's active customers (owned, not in the pool, not anonymized,
      not 成交) with fewer than ``min_follow_ups`` follow-ups in the ``follow_up_days``
      days before the period end (or now, if earlier); only customers registered
      before that window began count, a newer one has not had the whole window.

    A detail table names the offending customers and contracts (names only, at most
    ``DETAIL_LIMIT`` of each kind), so the office's view needs ``customer.view``; a
    consultant opens their own. The building filter applies to contracts only."""
    settings = settings_of(f.project)
    now = timezone.now()
    margin = datetime.timedelta(days=60 + 3 * max(settings.entry_days, settings.scan_days))
    calendar = exceptions_between(f.start - margin, f.end + margin)
    details: list[dict] = []
    overflow: list[str] = []

    def add_details(kind: str, count: int, rows) -> None:
        details.extend(rows)
        if count > DETAIL_LIMIT:
            overflow.append(kind)

    # 录入超时: the cutoff of each registration day, as a CASE on registered_at, against
    # the customer's first contact (the earliest linked call or visit, which the
    # database keeps on the customer: ``customers.traffic``), read from the index.
    registrations = fig.registrations(f)
    runs = _runs(_days(f.start, f.end), lambda d: _entry_cutoff(d, settings.entry_days, calendar))
    cutoff = _steps(
        Customer,
        "registered_at",
        "<",
        [(day_start(last + datetime.timedelta(days=1)), day_start(ok)) for last, ok in runs],
    )
    late_entries = registrations.alias(cutoff=cutoff).filter(first_contact_at__lt=F("cutoff"))
    late_entry = _count_by(late_entries, "registered_by")
    n = sum(late_entry.values())
    registered = registrations.count()
    late_listed = late_entries.only(
        "name", "registered_by", "registered_at", "first_contact_at"
    ).order_by("registered_at", "pk")[:DETAIL_LIMIT]
    add_details(
        _("录入超时"),
        n,
        [
            {
                "kind": _("录入超时"),
                "consultant_id": c.registered_by_id,
                "name": c.name,
                "date": timezone.localdate(c.registered_at).isoformat(),
                "detail": _("首次接触 %(first)s，登记 %(reg)s，超过 %(n)s 个工作日")
                % {
                    "first": timezone.localdate(c.first_contact_at).isoformat(),
                    "reg": timezone.localdate(c.registered_at).isoformat(),
                    "n": settings.entry_days,
                },
            }
            for c in late_listed
        ],
    )

    # 扫描件: the first late day of each signing day, as a CASE on signed_on
    runs = _runs(_days(f.start, f.end), lambda d: _scan_deadline(d, settings.scan_days, calendar))
    deadline = _steps(Deal, "signed_on", "<=", [(last, day_start(late)) for last, late in runs])
    contracts = fig.contracted(f).annotate(deadline=deadline)
    late_scans = contracts.filter(contract_scanned_at__gte=F("deadline"))
    missing_scans = contracts.filter(contract_scanned_at__isnull=True, deadline__lte=now)
    late_scan = _count_by(late_scans, "consultant")
    missing_scan = _count_by(missing_scans, "consultant")
    for kind, qs, counts in (
        (_("扫描件超时"), late_scans, late_scan),
        (_("扫描件未上传"), missing_scans, missing_scan),
    ):
        add_details(
            kind,
            sum(counts.values()),
            [
                {
                    "kind": kind,
                    "consultant_id": d.consultant_id,
                    "name": d.customer.name,
                    "contract": d.contract_number,
                    "date": d.signed_on.isoformat(),
                    "detail": (
                        _("签约 %(s)s，上传 %(u)s，超过 %(n)s 个工作日")
                        % {
                            "s": d.signed_on.isoformat(),
                            "u": timezone.localdate(d.contract_scanned_at).isoformat(),
                            "n": settings.scan_days,
                        }
                        if d.contract_scanned_at
                        else _("签约 %(s)s，%(n)s 个工作日内未上传扫描件")
                        % {"s": d.signed_on.isoformat(), "n": settings.scan_days}
                    ),
                }
                for d in qs.select_related("customer")
                .only(
                    "consultant",
                    "contract_number",
                    "signed_on",
                    "contract_scanned_at",
                    "customer__name",
                )
                .order_by("signed_on", "pk")[:DETAIL_LIMIT]
            ],
        )

    # 资料不全: registered in the period, owned, lacking a required field
    labels = dict(REQUIRED_FIELD_CHOICES)
    missing = {name: q for name in settings.required_fields if (q := _missing_q(name))}
    owned = Customer.objects.filter(
        project=f.project,
        registered_at__gte=f.since,
        registered_at__lt=f.until,
        owner__isnull=False,
        in_pool=False,
        anonymized_at__isnull=True,
    )
    if f.consultant:
        owned = owned.filter(owner=f.consultant)
    if f.channel:
        owned = owned.filter(channel=f.channel)
    field_rows = []
    incomplete: dict = {}
    if missing:
        any_missing = Q()
        for q in missing.values():
            any_missing |= q
        lacking = owned.filter(any_missing)
        # per owner, the customers lacking any field and those lacking each one: one
        # pass over the period's registrations (a customer lacking a field lacks any)
        per_owner = list(
            lacking.values("owner")
            .annotate(
                n=Count("*"), **{f"m_{name}": Count("pk", filter=q) for name, q in missing.items()}
            )
            .order_by()
        )
        incomplete = {r["owner"]: r["n"] for r in per_owner}
        field_rows = [
            {
                "field": str(labels.get(name) or Customer._meta.get_field(name).verbose_name),
                "count": sum(r[f"m_{name}"] for r in per_owner),
            }
            for name in missing
        ]
        flags = {
            f"m_{name}": ExpressionWrapper(q, output_field=BooleanField())
            for name, q in missing.items()
        }
        add_details(
            _("资料不全"),
            sum(incomplete.values()),
            [
                {
                    "kind": _("资料不全"),
                    "consultant_id": r["owner"],
                    "name": r["name"],
                    "date": timezone.localdate(r["registered_at"]).isoformat(),
                    "detail": _("缺少：%(f)s")
                    % {
                        "f": "、".join(
                            row["field"]
                            for name, row in zip(missing, field_rows, strict=True)
                            if r[f"m_{name}"]
                        )
                    },
                }
                for r in lacking.annotate(**flags)
                .values("owner", "name", "registered_at", *flags)
                .order_by("registered_at", "pk")[:DETAIL_LIMIT]
            ],
        )

    # 跟进不足: the active customers per owner less those with enough follow-ups in the
    # window (both grouped; "IN (… GROUP BY … HAVING)" is a semi-join, where a NOT IN
    # over a million customers would not be)
    window_end = min(f.until, now)
    window_start = window_end - datetime.timedelta(days=settings.follow_up_days)
    active = Customer.objects.filter(
        OWNED_ACTIVE, project=f.project, registered_at__lt=window_start
    )
    if f.consultant:
        active = active.filter(owner=f.consultant)
    if f.channel:
        active = active.filter(channel=f.channel)
    # the window's follow-ups by time alone (the ``at`` index, no join): the customers
    # they are matched with are the project's already
    in_window = FollowUp.objects.filter(at__gte=window_start, at__lt=window_end)
    few: dict = {}
    if settings.min_follow_ups > 0:
        enough = (
            in_window.values("customer")
            .annotate(n=Count("*"))
            .filter(n__gte=settings.min_follow_ups)
            .values("customer")
        )
        followed = _count_by(active.filter(pk__in=enough), "owner")
        owned = _count_by(active, "owner")
        for owner, n in owned.items():
            if n > followed.get(owner, 0):
                few[owner] = n - followed.get(owner, 0)
        # the names, walking the (project, owner, last_follow_up_at) index, the longest
        # forgotten first, each one's count in the window read for the listed rows only:
        # when too few follow-ups are common, the walk checks each customer's count and
        # finds the first ones soonest; when they are rare, the active customers less
        # those followed enough (EXCEPT, both read once) do not walk them all
        done = Coalesce(
            Subquery(
                in_window.filter(customer=OuterRef("pk"))
                .order_by()
                .values("customer")
                .annotate(n=Count("*"))
                .values("n")[:1]
            ),
            0,
        )
        if _walk(sum(few.values()), sum(owned.values())):
            listing = active.annotate(done=done).filter(done__lt=settings.min_follow_ups)
        else:
            rare = active.order_by().values("pk").difference(enough.order_by())
            listing = active.filter(pk__in=rare).annotate(done=done)
        listed = listing.values("owner", "name", "last_follow_up_at", "done").order_by(
            "owner_id", "last_follow_up_at", "pk"
        )[:DETAIL_LIMIT]
        add_details(
            _("跟进不足"),
            sum(few.values()),
            [
                {
                    "kind": _("跟进不足"),
                    "consultant_id": r["owner"],
                    "name": r["name"],
                    "date": (
                        timezone.localdate(r["last_follow_up_at"]).isoformat()
                        if r["last_follow_up_at"]
                        else ""
                    ),
                    "detail": _("近 %(d)s 天跟进 %(n)s 次，应至少 %(m)s 次")
                    % {
                        "d": settings.follow_up_days,
                        "n": r["done"],
                        "m": settings.min_follow_ups,
                    },
                }
                for r in listed
            ],
        )

    counts = {
        "late_entry": late_entry,
        "late_scan": late_scan,
        "missing_scan": missing_scan,
        "incomplete": incomplete,
        "few_follow_ups": few,
    }
    ids = set().union(*(c.keys() for c in counts.values()))
    if f.consultant:
        ids.add(f.consultant.pk)
    ids.discard(None)
    users = _users(ids)
    rows = []
    for pk in sorted(ids, key=lambda pk: (fig.consultant_name(users.get(pk)), pk)):
        row = {"consultant": fig.consultant_name(users.get(pk))}
        row.update({key: counts[key].get(pk, 0) for key in COMPLIANCE_KEYS})
        row["total"] = sum(row[key] for key in COMPLIANCE_KEYS)
        rows.append(row)
    total = total_of(rows, "consultant")
    for key in (*COMPLIANCE_KEYS, "total"):
        total.setdefault(key, 0)
    for d in details:
        d["consultant"] = fig.consultant_name(users.get(d.pop("consultant_id")))
        d.setdefault("contract", "")

    signed = fig.contracted(f).count()
    figures = [
        Figure(_("新登记客户"), registered),
        Figure(_("录入超时"), total["late_entry"]),
        Figure(
            _("录入及时率（%）"), percent(registered - total["late_entry"], registered), "percent"
        ),
        Figure(_("签约套数"), signed),
        Figure(_("扫描件超时"), total["late_scan"]),
        Figure(_("扫描件未上传"), total["missing_scan"]),
        Figure(_("资料不全"), total["incomplete"]),
        Figure(_("跟进不足"), total["few_follow_ups"]),
    ]
    notes = [
        _("录入时限 %(e)s 个工作日，扫描件时限 %(s)s 个工作日，跟进要求 %(d)s 天内至少 %(m)s 次")
        % {
            "e": settings.entry_days,
            "s": settings.scan_days,
            "d": settings.follow_up_days,
            "m": settings.min_follow_ups,
        }
    ]
    if overflow:
        notes.append(
            _("明细只列出每类前 %(n)s 条：%(k)s") % {"n": DETAIL_LIMIT, "k": "、".join(overflow)}
        )
    if f.building:
        notes.append(_("楼栋筛选只作用于合同扫描件"))
    return Report(
        "compliance",
        _("系统执行考核"),
        f,
        figures,
        [
            Table(_("按置业顾问"), COMPLIANCE_COLUMNS, rows, total),
            Table(_("缺失的必填项"), FIELD_COLUMNS, field_rows),
            Table(_("问题明细"), DETAIL_COLUMNS, details, note=_("只列姓名，不含联系方式")),
        ],
        [
            Chart(
                _("各置业顾问问题数"),
                "hbar",
                [r["consultant"] for r in rows],
                [(_("合计"), [r["total"] for r in rows])],
            )
        ],
        notes,
    )


register(
    Spec(
        "channels",
        _("渠道效果分析"),
        _("分析"),
        channels,
        period="month",
        description=_("各认知途径的推广费用、来电来访、成交与单位成本"),
    )
)
register(
    Spec(
        "sellthrough",
        _("去化分析"),
        _("分析"),
        sellthrough,
        period="year",
        description=_("按楼栋、户型、面积、楼层、总价的去化率，月度销售、库龄与销控比例"),
    )
)
register(
    Spec(
        "collections",
        _("回款分析"),
        _("分析"),
        collections,
        period="year",
        needs=("payment.view",),
        description=_("计划与实际回款、收款方式、按揭进度与逾期账龄"),
    )
)
register(
    Spec(
        "compliance",
        _("系统执行考核"),
        _("分析"),
        compliance,
        period="month",
        own=True,
        # it names customers: the office's view is for those who see the customers
        needs=("customer.view",),
        description=_("客户录入及时性、合同扫描件、资料完整性与跟进频次"),
    )
)
