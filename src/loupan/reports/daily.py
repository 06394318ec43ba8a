"""销售日报 and 销售日动态表 (seed 002 二.1(2)(3) and 三.1; seed 001 三(三): the day's work
summed up by 17:30), and the supervisor's confirmation of a day.

* ``daily_report``: the day's calls and visits (new and returning) by channel and by
  consultant, reservations, subscriptions, contracts and cancellations with counts,
  areas and amounts, collections by method and the units by status.
* ``daily_dynamics`` 销售日动态表: the day's callers and visitors, what they asked most,
  and the calls and visits per channel that the advertising is measured by.
* ``daily_confirm``: the supervisor confirms a closed day; its figures are frozen
  (``DailyReport``); ``daily_differences`` shows what changed in the data since.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections import Counter

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from loupan.accounts import access
from loupan.audit.models import AuditAction
from loupan.audit.services import audit_record
from loupan.core.dates import PAST_OR_TODAY, parse_date
from loupan.core.errors import DomainError, ErrorCode
from loupan.core.xlsx import col
from loupan.customers.models import Channel
from loupan.inventory.models import SOLD_STATUSES, UnitStatus

from . import figures as fig
from .engine import (
    Chart,
    Figure,
    Filters,
    Report,
    Spec,
    Table,
    as_json,
    filters_of,
    percent,
    register,
)
from .errors import ReportError
from .models import DailyReport, ReportSettings

NO_CHANNEL = "未填写"


def settings_of(project) -> ReportSettings:
    """The project's report settings (the defaults until the manager saves them)."""
    found = ReportSettings.objects.filter(project=project).first()
    return found or ReportSettings(project=project)


def closes_at(project, day: datetime.date) -> datetime.datetime:
    """When ``day``'s report closes (the project's closing time, 17:30 by default)."""
    return timezone.make_aware(datetime.datetime.combine(day, settings_of(project).close_time))


def channel_names(project) -> dict:
    return dict(Channel.objects.filter(project=project).values_list("pk", "name"))


# the traffic a report shows (research calls are counted apart)
TRAFFIC = ("calls", "first", "returning", "new")


def traffic_by_channel(f: Filters) -> list[dict]:
    """Calls, first and returning visits and new customers per channel 认知途径 (the
    figures the advertising is measured by)."""
    names = channel_names(f.project)
    rows: dict = {}

    def row(key):
        return rows.setdefault(
            key,
            {
                "channel": names.get(key, NO_CHANNEL),
                "calls": 0,
                "first": 0,
                "returning": 0,
                "new": 0,
            },
        )

    for key, t in fig.traffic_by(f, "channel").items():
        if any(t[name] for name in TRAFFIC):
            r = row(key)
            for name in TRAFFIC:
                r[name] += t[name]
    order = {pk: i for i, pk in enumerate(names)}
    return [rows[k] for k in sorted(rows, key=lambda k: (k is None, order.get(k, 0)))]


def _count_by(qs, field: str) -> dict:
    return dict(qs.values_list(field).annotate(n=Count("pk")).order_by())


def by_consultant(f: Filters) -> list[dict]:
    """Each consultant's day: calls received, visits (first and returning), new customers,
    reservations, subscriptions, contracts and cancellations with amounts."""
    traffic = {
        pk: t for pk, t in fig.traffic_by(f, "consultant").items() if any(t[k] for k in TRAFFIC)
    }
    reserved = _count_by(fig.reserved(f), "consultant")
    sold = fig.sold_by_consultant(f)  # subscriptions and contracts in one pass
    cancels = _count_by(fig.cancelled(f), "deal__consultant")
    ids = set(traffic) | set(reserved) | set(sold) | set(cancels)
    ids.discard(None)
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in=ids)}
    rows = []
    for pk in sorted(ids, key=lambda pk: fig.consultant_name(users.get(pk))):
        s = sold.get(pk, {})
        rows.append(
            {
                "consultant": fig.consultant_name(users.get(pk)),
                **{k: traffic.get(pk, {}).get(k, 0) for k in TRAFFIC},
                "reserved": reserved.get(pk, 0),
                "subscribed": s.get("subscribed", 0),
                "subscribed_amount": s.get("subscribed_amount", fig.ZERO),
                "contracted": s.get("contracted", 0),
                "contracted_amount": s.get("contracted_amount", fig.ZERO),
                "cancelled": cancels.get(pk, 0),
            }
        )
    return rows


def deal_flow(f: Filters) -> list[dict]:
    """Reservations, subscriptions, contracts, exchanges and cancellations: counts,
    areas and amounts."""
    rows = [
        {"kind": _("预留"), **fig.deal_sums(fig.reserved(f))},
        {"kind": _("认购"), **fig.step_sums(f, "subscribed")},
        {"kind": _("签约"), **fig.step_sums(f, "contracted")},
        {"kind": _("换房"), **fig.deal_sums(fig.exchanges(f), "deal__")},
        {"kind": _("退房"), **fig.deal_sums(fig.cancelled(f), "deal__")},
    ]
    return rows


def units_table(f: Filters) -> list[dict]:
    counts = fig.units_by_status(f)
    total = sum(counts.values())
    return [
        {
            "status": str(label),
            "units": counts.get(value, 0),
            "pct": percent(counts.get(value, 0), total),
        }
        for value, label in UnitStatus.choices
    ]


CHANNEL_COLUMNS = [
    col("channel", "认知途径", width=14),
    col("calls", "来电", "integer", 8),
    col("first", "首次来访", "integer", 8),
    col("returning", "复访", "integer", 8),
    col("new", "新登记客户", "integer", 10),
]
CONSULTANT_COLUMNS = [
    col("consultant", "置业顾问", width=10),
    col("calls", "来电", "integer", 6),
    col("first", "首访", "integer", 6),
    col("returning", "复访", "integer", 6),
    col("new", "新登记", "integer", 6),
    col("reserved", "预留", "integer", 6),
    col("subscribed", "认购套数", "integer", 8),
    col("subscribed_amount", "认购金额（元）", "money", 14),
    col("contracted", "签约套数", "integer", 8),
    col("contracted_amount", "签约金额（元）", "money", 14),
    col("cancelled", "退房", "integer", 6),
]
FLOW_COLUMNS = [
    col("kind", "类型", width=8),
    col("count", "套数", "integer", 8),
    col("area", "面积（㎡）", "area", 12),
    col("amount", "金额（元）", "money", 16),
]
MONEY_COLUMNS = [
    col("method", "收付方式", width=12),
    col("count", "笔数", "integer", 6),
    col("received", "收款（元）", "money", 14),
    col("refunded", "退款（元）", "money", 14),
    col("net", "净额（元）", "money", 14),
]
UNIT_COLUMNS = [
    col("status", "状态", width=10),
    col("units", "套数", "integer", 8),
    col("pct", "占比（%）", "percent", 8),
]


def total_of(rows: list[dict], label_key: str, label=None) -> dict:
    """The summing row of ``rows``: numbers summed, the label column says 合计."""
    total: dict = {label_key: label or _("合计")}
    for row in rows:
        for key, value in row.items():
            if key == label_key or isinstance(value, str) or value is None:
                continue
            if key == "pct":
                continue
            total[key] = total.get(key, 0) + value
    return total


def sales_tables(f: Filters) -> tuple[list[Figure], list[Table], list[Chart]]:
    """The figures, tables and charts the daily, weekly and monthly reports share."""
    channels = traffic_by_channel(f)
    consultants = by_consultant(f)
    flow = deal_flow(f)
    money = fig.money_by_method(f)
    unit_rows = units_table(f)
    research = fig.traffic_by(f).get((), {}).get("research", 0)
    calls = sum(r["calls"] for r in channels)
    first = sum(r["first"] for r in channels)
    returning = sum(r["returning"] for r in channels)
    sold = sum(
        r["units"]
        for r, (value, _l) in zip(unit_rows, UnitStatus.choices, strict=True)
        if value in SOLD_STATUSES
    )
    available = next(
        r["units"]
        for r, (v, _l) in zip(unit_rows, UnitStatus.choices, strict=True)
        if v == UnitStatus.AVAILABLE
    )
    figures = [
        Figure(_("来电"), calls),
        Figure(_("首次来访"), first),
        Figure(_("复访"), returning),
        Figure(_("新登记客户"), sum(r["new"] for r in channels)),
        Figure(_("认购套数"), flow[1]["count"]),
        Figure(_("认购金额（元）"), flow[1]["amount"], "money"),
        Figure(_("签约套数"), flow[2]["count"]),
        Figure(_("签约金额（元）"), flow[2]["amount"], "money"),
        Figure(_("退房套数"), flow[4]["count"]),
        Figure(_("回款净额（元）"), sum((r["net"] for r in money), fig.ZERO), "money"),
        Figure(_("已售套数"), sold),
        Figure(_("可售套数"), available),
    ]
    tables = [
        Table(
            _("来电来访（按认知途径）"),
            CHANNEL_COLUMNS,
            channels,
            total_of(channels, "channel"),
            note=_("同行调研来电 %(n)s 个，不计入渠道") % {"n": research} if research else "",
        ),
        Table(_("置业顾问"), CONSULTANT_COLUMNS, consultants, total_of(consultants, "consultant")),
        Table(_("成交与退房"), FLOW_COLUMNS, flow),
        Table(_("回款（按收付方式）"), MONEY_COLUMNS, money, total_of(money, "method")),
        Table(_("房源状态（当前）"), UNIT_COLUMNS, unit_rows, total_of(unit_rows, "status")),
    ]
    charts = [
        Chart(
            _("来电来访（按认知途径）"),
            "bar",
            [r["channel"] for r in channels],
            [
                (_("来电"), [r["calls"] for r in channels]),
                (_("首次来访"), [r["first"] for r in channels]),
            ],
        ),
        Chart(
            _("房源状态"),
            "pie",
            [r["status"] for r in unit_rows],
            [(_("套数"), [r["units"] for r in unit_rows])],
        ),
    ]
    return figures, tables, charts


def daily_report(f: Filters) -> Report:
    """销售日报 of ``f.start``–``f.end`` (one day unless asked for more)."""
    figures, tables, charts = sales_tables(f)
    report = Report("daily", _("销售日报"), f, figures, tables, charts)
    if f.start == f.end and not (f.building or f.consultant or f.channel):
        confirmed = (
            DailyReport.objects.filter(project=f.project, day=f.start)
            .select_related("confirmed_by")
            .first()
        )
        report.extra["closes_at"] = closes_at(f.project, f.start)
        if confirmed is not None:
            report.extra["confirmed_by"] = fig.consultant_name(confirmed.confirmed_by)
            report.extra["confirmed_at"] = confirmed.confirmed_at
            report.extra["digest"] = confirmed.digest
            changes = differences(confirmed.figures, as_json(report))
            report.extra["changes"] = len(changes)
            if changes:
                report.tables.append(
                    Table(
                        _("确认后的更正"),
                        DIFF_COLUMNS,
                        changes,
                        note=_("确认后数据发生的变化；已确认的日报不变"),
                    )
                )
    return report


# --- 销售日动态表 -------------------------------------------------------------------------------

VISITOR_COLUMNS = [
    col("at", "时间", "datetime", 16),
    col("kind", "类型", width=6),
    col("name", "客户", width=10),
    col("channel", "认知途径", width=12),
    col("consultant", "接待人", width=10),
    col("question", "关注问题 / 备注", width=30),
]
QUESTION_COLUMNS = [col("question", "问题", width=30), col("count", "次数", "integer", 8)]


def daily_dynamics(f: Filters) -> Report:
    """销售日动态表: the day's callers and visitors, the questions asked most, the calls
    and visits per channel (seed 002 二.1(3): 据此编制《销售日动态表》)."""
    names = channel_names(f.project)
    people = []
    for c in fig.calls(f).select_related("received_by").order_by("called_at")[:500]:
        people.append(
            {
                "at": c.called_at,
                "kind": _("来电"),
                "name": c.name,
                "channel": names.get(c.channel_id, ""),
                "consultant": fig.consultant_name(c.received_by),
                "question": c.question,
            }
        )
    for v in fig.visits(f).select_related("customer", "consultant").order_by("visited_at")[:500]:
        people.append(
            {
                "at": v.visited_at,
                "kind": _("首访") if v.is_first else _("复访"),
                "name": v.customer.name,
                "channel": names.get(v.customer.channel_id, ""),
                "consultant": fig.consultant_name(v.consultant),
                "question": v.note,
            }
        )
    people.sort(key=lambda r: r["at"])
    asked = Counter()
    for text in fig.calls(f).exclude(question="").values_list("question", flat=True)[:5000]:
        asked[text.strip()] += 1
    for text in fig.visits(f).exclude(note="").values_list("note", flat=True)[:5000]:
        asked[text.strip()] += 1
    questions = [{"question": q, "count": n} for q, n in asked.most_common(10)]
    channels = traffic_by_channel(f)
    report = Report(
        "dynamics",
        _("销售日动态表"),
        f,
        [
            Figure(_("来电"), sum(r["calls"] for r in channels)),
            Figure(_("来访"), sum(r["first"] + r["returning"] for r in channels)),
        ],
        [
            Table(
                _("来电来访（按认知途径）"),
                CHANNEL_COLUMNS,
                channels,
                total_of(channels, "channel"),
            ),
            Table(_("客户关注问题"), QUESTION_COLUMNS, questions),
            Table(_("来电来访客户记录"), VISITOR_COLUMNS, people),
        ],
        [
            Chart(
                _("来电来访（按认知途径）"),
                "bar",
                [r["channel"] for r in channels],
                [
                    (_("来电"), [r["calls"] for r in channels]),
                    (_("来访"), [r["first"] + r["returning"] for r in channels]),
                ],
            )
        ],
    )
    return report


# --- confirmation -----------------------------------------------------------------------------

DIFF_COLUMNS = [
    col("where", "位置", width=24),
    col("item", "项目", width=16),
    col("frozen", "确认时", width=14),
    col("now", "现在", width=14),
]


def canonical(data) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def differences(frozen: dict, current: dict) -> list[dict]:
    """What differs between a confirmed day's frozen figures and today's reading of the
    same day: key figures and table cells, named by table, row and column."""
    changes = []
    then = {f["label"]: f["value"] for f in frozen.get("figures", [])}
    for f in current.get("figures", []):
        if then.get(f["label"]) != f["value"]:
            changes.append(
                {
                    "where": _("关键指标"),
                    "item": f["label"],
                    "frozen": then.get(f["label"]),
                    "now": f["value"],
                }
            )
    old_tables = {t["title"]: t for t in frozen.get("tables", [])}
    for table in current.get("tables", []):
        old = old_tables.get(table["title"])
        if old is None:
            continue
        key = table["columns"][0]["key"]
        headers = {c["key"]: c["header"] for c in table["columns"]}
        old_rows = {r.get(key): r for r in old["rows"]}
        for row in table["rows"]:
            before = old_rows.pop(row.get(key), {})
            for k, v in row.items():
                if (
                    k != key
                    and before.get(k) != v
                    and not (before.get(k) is None and v in (0, "0.00"))
                ):
                    changes.append(
                        {
                            "where": f"{table['title']} · {row.get(key)}",
                            "item": headers.get(k, k),
                            "frozen": before.get(k),
                            "now": v,
                        }
                    )
        for gone in old_rows:
            changes.append(
                {
                    "where": f"{table['title']} · {gone}",
                    "item": _("整行"),
                    "frozen": _("有"),
                    "now": _("无"),
                }
            )
    return changes


def can_confirm(user, project) -> tuple[bool, DomainError | None]:
    if not access.has_perm(user, "report.confirm", project):
        return False, DomainError(ErrorCode.PERMISSION_DENIED, _("您没有审核确认销售日报的权限"))
    return True, None


def daily_confirm(*, actor, project, day, note: str = "") -> DailyReport:
    """The supervisor confirms ``day``'s 销售日报 after it closes (seed 002 三.1: 下班前交由
    销售主管整理汇总): its figures for the whole office are frozen with their SHA-256,
    once; the audit trail records it."""
    ok, refusal = can_confirm(actor, project)
    if not ok:
        raise refusal
    day = parse_date(
        day, "day", default_today=True, when=PAST_OR_TODAY, message=_("不能确认未来的日报")
    )
    if timezone.now() < closes_at(project, day):
        raise DomainError(
            ReportError.DAY_OPEN,
            _("当日日报 %(t)s 截止，截止后才能确认")
            % {"t": settings_of(project).close_time.strftime("%H:%M")},
            {"day": [_("尚未到日报截止时间")]},
        )
    filters = filters_of(actor, project, {"start": day.isoformat(), "end": day.isoformat()})
    figures = as_json(daily_report(filters))
    figures.pop("extra", None)
    text = canonical(figures)
    with transaction.atomic():
        try:
            with transaction.atomic():
                report = DailyReport.objects.create(
                    project=project,
                    day=day,
                    figures=json.loads(text),
                    digest=hashlib.sha256(text.encode()).hexdigest(),
                    note=note[:300],
                    confirmed_by=actor,
                    confirmed_at=timezone.now(),
                )
        except IntegrityError as exc:
            raise DomainError(
                ReportError.ALREADY_CONFIRMED, fields={"day": [_("该日日报已确认")]}
            ) from exc
        audit_record(
            actor=actor,
            action=AuditAction.ACTION,
            obj=report,
            project_id=project.pk,
            extra={"action": "daily_confirm", "day": day.isoformat(), "digest": report.digest},
        )
    return report


def daily_differences(report: DailyReport, user) -> list[dict]:
    """The corrections since ``report`` was confirmed (empty when none)."""
    current = as_json(
        daily_report(
            filters_of(
                user,
                report.project,
                {"start": report.day.isoformat(), "end": report.day.isoformat()},
            )
        )
    )
    return differences(report.figures, current)


register(
    Spec(
        "daily",
        _("销售日报"),
        _("日报"),
        daily_report,
        period="day",
        own=True,
        description=_("来电来访、成交、回款与房源状态，主管每日截止后审核确认"),
    )
)
register(
    Spec(
        "dynamics",
        _("销售日动态表"),
        _("日报"),
        daily_dynamics,
        period="day",
        needs=("customer.view",),
        description=_("当日来电来访客户、关注问题、各认知途径来电来访量"),
    )
)
