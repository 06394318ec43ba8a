"""After the event (issue 16 "After the event: the results list, unpicked entrants,
refunds of sincerity deposits through the ledger, and the event report"): reads only.

* ``results``: the picks in the order of selection — entry number, buyer (name masked
  as the published list masks it, phone as ``customers.selectors.contact`` lets the
  viewer see it), unit, frozen price, the deal and its status now;
* ``unpicked``: the entrants without a live pick (never picked, withdrawn, or whose
  pick's deal ended) with their sincerity deposit's state in the ledger;
* ``report``: entrants, drawn, picked, unpicked, units sold, amount, sincerity held /
  refunded / converted, picks per minute, and the same by batch;
* ``export``: each of them as an xlsx (``core.xlsx.export_audited``: an audited export,
  for the office that runs the event, ``opening.manage``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q, Sum
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loupan.accounts import access
from loupan.core import xlsx
from loupan.core.masking import mask_name
from loupan.core.money import money
from loupan.customers import exports as customer_exports
from loupan.customers.selectors import contact
from loupan.deals.models import DealStatus
from loupan.payments.models import EntryKind, LedgerEntry, Purpose

from .models import Batch, Entry, EntryStatus, EventUnit, Pick
from .services import entry_reference

ZERO = Decimal("0.00")
C = xlsx.col


def sincerity_states(event) -> dict[int, dict]:
    """Per entry of ``event``, what the ledger says of its sincerity deposit (one grouped
    query): ``received`` (net of red entries), ``refunded``, ``converted`` (carried into
    a deal and not come back), ``held`` (what is still there, refundable)."""
    references = {
        entry_reference(e): e.pk
        for e in Entry.objects.filter(event=event).only("pk", "number", "event_id")
    }
    states = {
        pk: {"received": ZERO, "refunded": ZERO, "converted": ZERO, "held": ZERO}
        for pk in references.values()
    }
    rows = (
        LedgerEntry.objects.filter(
            project_id=event.project_id,
            purpose=Purpose.SINCERITY,
            deal__isnull=True,
            reference__in=list(references),
        )
        .values("reference", "kind")
        .annotate(s=Sum("amount"))
        .order_by()
    )
    for row in rows:
        state = states[references[row["reference"]]]
        amount = money(row["s"] or 0)
        if row["kind"] in (EntryKind.RECEIPT, EntryKind.REVERSAL):
            state["received"] += amount
        elif row["kind"] == EntryKind.REFUND:
            state["refunded"] -= amount
        elif row["kind"] == EntryKind.CARRY:
            state["converted"] -= amount
        state["held"] += amount
    return states


def sincerity_label(event, state: dict) -> str:
    """A sincerity state in words (what the lists show)."""
    if not event.sincerity_amount:
        return _("不收诚意金")
    if state["held"] > 0:
        return _("暂收，可退")
    if state["refunded"] > 0:
        return _("已退还")
    if state["converted"] > 0:
        return _("已转定金")
    return _("未收")


def _deal_label(deal) -> str:
    return str(DealStatus(deal.status_now).label)


def _pending_label(pick) -> str:
    """A pick without its deal: being written, or refused with the reason."""
    if pick.seal_error:
        return _("未能生成交易：%(r)s") % {"r": pick.seal_error}
    return _("交易生成中")


def _live_picks(event) -> set[int]:
    """The picks whose deal still holds its unit."""
    return set(
        Pick.objects.filter(
            Q(deal__units__live=True) | Q(deal__isnull=True, seal_error=""), event=event
        ).values_list("pk", flat=True)
    )


def results(event, viewer) -> list[dict]:
    """The picks in the order of selection (position, then the buyer's n-th unit)."""
    prices = {
        unit_id: (unit_price, list_price)
        for unit_id, unit_price, list_price in EventUnit.objects.filter(event=event).values_list(
            "unit_id", "unit_price", "list_price"
        )
    }
    rows = []
    for pick in (
        Pick.objects.filter(event=event)
        .select_related("entry__customer", "unit", "deal")
        .order_by("entry__position", "seq", "pk")
    ):
        customer, deal = pick.entry.customer, pick.deal
        unit_price, list_price = prices.get(pick.unit_id, (None, None))
        rows.append(
            {
                "id": pick.pk,
                "position": pick.entry.position,
                "number": pick.entry.number,
                "buyer": mask_name(customer.name),
                "phone": contact(viewer, customer)["phone"],
                "unit": pick.unit.number,
                "unit_price": unit_price,
                "list_price": list_price,
                "total": deal.total if deal else None,
                "deal": (deal.number or deal.reservation_number) if deal else "",
                "deal_id": deal.pk if deal else None,
                "deal_status": _deal_label(deal) if deal else _pending_label(pick),
                "via": str(pick.get_via_display()),
                "at": pick.at,
            }
        )
    return rows


def unpicked(event, viewer) -> list[dict]:
    """The entrants without a live pick, in order (drawn ones first), with their
    sincerity deposit's state."""
    live = set(Pick.objects.filter(pk__in=_live_picks(event)).values_list("entry_id", flat=True))
    lapsed = set(Pick.objects.filter(event=event).values_list("entry_id", flat=True)) - live
    states = sincerity_states(event)
    rows = []
    for entry in (
        Entry.objects.filter(event=event)
        .exclude(pk__in=live)
        .select_related("customer")
        .order_by("position", "number")
    ):
        state = states.get(entry.pk)
        if entry.status != EntryStatus.ACTIVE:
            why = str(entry.get_status_display())
        elif entry.pk in lapsed:
            why = _("所选交易已失效")
        elif entry.position is None:
            why = _("未参加摇号")
        else:
            why = _("未选房")
        rows.append(
            {
                "id": entry.pk,
                "position": entry.position,
                "number": entry.number,
                "buyer": mask_name(entry.customer.name),
                "phone": contact(viewer, entry.customer)["phone"],
                "why": why,
                "received": state["received"],
                "held": state["held"],
                "refunded": state["refunded"],
                "converted": state["converted"],
                "sincerity": sincerity_label(event, state),
            }
        )
    return rows


def _per_minute(picks: list) -> Decimal:
    """Picks per minute over the span from the first pick to the last (a minute at
    least)."""
    if not picks:
        return ZERO
    times = sorted(p["at"] for p in picks)
    minutes = max(Decimal(1), Decimal((times[-1] - times[0]).total_seconds()) / 60)
    return (Decimal(len(picks)) / minutes).quantize(Decimal("0.01"), ROUND_HALF_UP)


def report(event) -> dict:
    """The event report 开盘报告: figures and the same by batch."""
    entries = Entry.objects.filter(event=event)
    positions = dict(entries.filter(position__isnull=False).values_list("pk", "position"))
    live = _live_picks(event)
    picks = list(
        Pick.objects.filter(event=event).values(
            "pk", "entry_id", "unit_id", "at", "deal__total", "deal__status"
        )
    )
    prices = dict(EventUnit.objects.filter(event=event).values_list("unit_id", "list_price"))
    sold = [p for p in picks if p["pk"] in live]
    amount = sum(
        (
            money(
                p["deal__total"] if p["deal__total"] is not None else prices.get(p["unit_id"]) or 0
            )
            for p in sold
        ),
        ZERO,
    )
    picked_entries = {p["entry_id"] for p in picks}
    states = sincerity_states(event).values()
    batches = []
    for batch in Batch.objects.filter(event=event).order_by("number"):
        inside = {pk for pk, pos in positions.items() if batch.first <= pos <= batch.last}
        mine = [p for p in picks if p["entry_id"] in inside]
        batches.append(
            {
                "number": batch.number,
                "positions": f"{batch.first}–{batch.last}",
                "starts_at": batch.starts_at,
                "ends_at": batch.ends_at,
                "entrants": len(inside),
                "picked": len({p["entry_id"] for p in mine}),
                "picks": len(mine),
                "per_minute": _per_minute(mine),
            }
        )
    units = EventUnit.objects.filter(event=event).count()
    return {
        "entrants": entries.count(),
        "active": entries.filter(status=EntryStatus.ACTIVE).count(),
        "drawn": len(positions),
        "picked": len(picked_entries),
        "unpicked": len(set(positions) - picked_entries),
        "units": units,
        "picks": len(picks),
        "sold": len(sold),
        "unsold": units - len(sold),
        "amount": amount,
        "held": sum((s["held"] for s in states), ZERO),
        "refunded": sum((s["refunded"] for s in states), ZERO),
        "converted": sum((s["converted"] for s in states), ZERO),
        "per_minute": _per_minute(picks),
        "batches": batches,
    }


# --- exports ------------------------------------------------------------------------------

RESULT_COLUMNS = [
    C("position", "选房顺序", "integer", width=8),
    C("number", "认筹号", "code", width=10),
    C("buyer", "买受人", width=10),
    C("phone", "手机", "code", width=14),
    C("unit", "房间", width=12),
    C("unit_price", "单价（元）", "money"),
    C("list_price", "总价（元）", "money", width=14),
    C("total", "成交总价（元）", "money", width=14),
    C("deal", "保留单/认购书号", "code", width=18),
    C("deal_status", "交易状态", width=10),
    C("via", "方式", width=10),
    C("at", "选房时间", "datetime", width=18),
]
UNPICKED_COLUMNS = [
    C("position", "选房顺序", "integer", width=8),
    C("number", "认筹号", "code", width=10),
    C("buyer", "客户", width=10),
    C("phone", "手机", "code", width=14),
    C("why", "情况", width=14),
    C("received", "诚意金已收（元）", "money", width=14),
    C("held", "暂收可退（元）", "money", width=14),
    C("refunded", "已退还（元）", "money", width=14),
    C("converted", "已转定金（元）", "money", width=14),
    C("sincerity", "诚意金状态", width=12),
]
REPORT_COLUMNS = [C("item", "项目", width=24), C("value", "数值", width=18)]
REPORT_ITEMS = [
    ("entrants", gettext_lazy("认筹（含退筹）")),
    ("active", gettext_lazy("有效认筹")),
    ("drawn", gettext_lazy("参加摇号")),
    ("picked", gettext_lazy("已选房客户")),
    ("unpicked", gettext_lazy("未选房客户")),
    ("units", gettext_lazy("开盘房源")),
    ("picks", gettext_lazy("选房次数")),
    ("sold", gettext_lazy("成交套数（交易有效）")),
    ("unsold", gettext_lazy("未售套数")),
    ("amount", gettext_lazy("成交金额（元）")),
    ("held", gettext_lazy("诚意金暂收（元）")),
    ("refunded", gettext_lazy("诚意金已退（元）")),
    ("converted", gettext_lazy("诚意金已转定金（元）")),
    ("per_minute", gettext_lazy("每分钟选房")),
]
KINDS = {
    "results": ("开盘选房结果", RESULT_COLUMNS),
    "unpicked": ("未选房客户", UNPICKED_COLUMNS),
    "report": ("开盘报告", REPORT_COLUMNS),
}


def may_export(user, project) -> bool:
    """The event's lists leave as files for the office that runs it."""
    return access.has_perm(user, "opening.manage", project)


def _rows(kind: str, event, viewer):
    if kind == "results":
        return ([r[c.field] for c in RESULT_COLUMNS] for r in results(event, viewer))
    if kind == "unpicked":
        return ([r[c.field] for c in UNPICKED_COLUMNS] for r in unpicked(event, viewer))
    figures = report(event)
    rows = [[str(label), figures[key]] for key, label in REPORT_ITEMS]
    for b in figures["batches"]:
        rows.append(
            [
                f"第{b['number']}批（顺序号 {b['positions']}）",
                f"{b['picked']}/{b['entrants']} 人选房，{b['picks']} 套，每分钟 {b['per_minute']}",
            ]
        )
    return iter(rows)


def export(*, actor, event, kind: str) -> bytes:
    """One of the lists as xlsx, audited as an export of the event's ``kind``."""
    if not may_export(actor, event.project_id):
        raise access.permission_error("opening.manage")
    # it names the customers: with the manager's consent where the project wants it
    customer_exports.require_consent(event.project_id)
    sheet, columns = KINDS[kind]
    with translation.override("zh-hans"):  # the file is Chinese whatever the viewer's language
        content, _count = xlsx.export_audited(
            actor=actor,
            project=event.project,
            what=f"opening.{kind}",
            sheet=sheet,
            columns=columns,
            rows=_rows(kind, event, actor),
            filters={"event": event.pk, "report": kind},
        )
    return content
