"""The payment schedule 付款计划 of a deal: generated from its payment method when the
deposit is confirmed (the subscription takes effect), adjusted at contract (the loan is
expected from the signing), and edited by finance (instalment amounts or percentages
with their dates). The items always sum to the deal total to the fen; the deposit counts
toward the first item (issue 13 "Schedules and receipts")."""

import datetime
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Sum

from loupan.audit.services import audit_record
from loupan.core.dates import parse_date
from loupan.core.errors import invalid
from loupan.core.money import ZERO, money, to_decimal
from loupan.deals.models import Deal, PaymentMethod

from . import rules
from .errors import PaymentError
from .models import LOAN_KINDS, ItemKind, LedgerEntry, PaymentSettings, ScheduleItem


def settings_of(project) -> PaymentSettings:
    """The project's payment settings (the defaults when none were saved)."""
    pk = getattr(project, "pk", project)
    return PaymentSettings.objects.filter(project_id=pk).first() or PaymentSettings(project_id=pk)


def min_down_payment(project, total, second_home: bool = False) -> Decimal:
    """The least down payment the project allows on ``total`` (rounded up to the fen)."""
    s = settings_of(project)
    pct = s.min_down_pct_second if second_home else s.min_down_pct_first
    return (to_decimal(total) * pct / 100).quantize(Decimal("0.01"), rounding="ROUND_CEILING")


@dataclass(frozen=True)
class Planned:
    kind: str
    name: str
    amount: Decimal
    due_date: datetime.date


# Instalments 分期付款 by default: half at the down-payment date, then a quarter at three
# and at six months; finance edits them to what the agreement says.
INSTALMENT_SHARES = (Decimal("50"), Decimal("25"), Decimal("25"))


def split(total: Decimal, shares) -> list[Decimal]:
    """``total`` split by percentages, each rounded half up to the fen, the last taking
    the remainder so that the parts sum to ``total`` exactly."""
    parts = [
        (total * to_decimal(s) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        for s in shares[:-1]
    ]
    return [*parts, total - sum(parts, ZERO)]


def plan(
    *, method: str, total, down_payment=None, start: datetime.date, settings: PaymentSettings
) -> list[Planned]:
    """The schedule a payment method gives (pure: no database).

    * 一次性付款: the full amount ``full_payment_days`` after ``start``;
    * 分期付款: ``INSTALMENT_SHARES`` of the total, the first at the down-payment date;
    * 商贷 / 公积金 / 组合贷: the down payment (the deal's, else the project's minimum
      for a first home) by the down-payment date, and the loan expected from the bank
      ``loan_days`` after ``start`` (组合贷: the provident part and the commercial part,
      half each until the mortgage names the amounts)."""
    total = money(total)
    down_due = start + datetime.timedelta(days=settings.down_payment_days)
    if method == PaymentMethod.ONE_OFF or total == ZERO:
        return [
            Planned(
                ItemKind.FULL,
                "全款",
                total,
                start + datetime.timedelta(days=settings.full_payment_days),
            )
        ]
    if method == PaymentMethod.INSTALMENTS:
        parts = split(total, INSTALMENT_SHARES)
        return [
            Planned(
                ItemKind.DOWN_PAYMENT if i == 0 else ItemKind.INSTALMENT,
                "首期款" if i == 0 else f"第{i + 1}期",
                part,
                down_due + datetime.timedelta(days=90 * i),
            )
            for i, part in enumerate(parts)
        ]
    pct = settings.min_down_pct_first
    least = (total * pct / 100).quantize(Decimal("0.01"), rounding="ROUND_CEILING")
    down = money(down_payment) if down_payment not in (None, "") else least
    down = min(max(down, least), total)
    loan = total - down
    loan_due = start + datetime.timedelta(days=settings.loan_days)
    items = [Planned(ItemKind.DOWN_PAYMENT, "首付款", down, down_due)]
    if loan == ZERO:
        return items
    if method == PaymentMethod.PROVIDENT:
        items.append(Planned(ItemKind.PROVIDENT_LOAN, "公积金贷款", loan, loan_due))
    elif method == PaymentMethod.COMBINED:
        provident, commercial = split(loan, (Decimal("50"), Decimal("50")))
        items.append(Planned(ItemKind.PROVIDENT_LOAN, "公积金贷款", provident, loan_due))
        if commercial:
            items.append(Planned(ItemKind.COMMERCIAL_LOAN, "商业贷款", commercial, loan_due))
    else:
        items.append(Planned(ItemKind.COMMERCIAL_LOAN, "商业贷款", loan, loan_due))
    return items


def live_items(deal):
    return ScheduleItem.objects.filter(deal_id=deal.pk, live=True).order_by("seq", "pk")


def paid_by_item(deal) -> dict[int, Decimal]:
    """What the ledger holds against each schedule item of ``deal`` (receipts less their
    reversals), in one query."""
    rows = (
        LedgerEntry.objects.filter(deal_id=deal.pk, item__isnull=False)
        .values("item_id")
        .annotate(paid=Sum("amount"))
    )
    return {r["item_id"]: r["paid"] for r in rows}


def schedule_generate(*, actor, deal: Deal, start: datetime.date | None = None) -> list:
    """Write the deal's schedule from its payment method if it has none (inside the
    caller's transaction: deposit confirmation, an exchange)."""
    existing = list(live_items(deal))
    if existing:
        return existing
    start = start or (deal.subscribed_at.date() if deal.subscribed_at else datetime.date.today())
    planned = plan(
        method=deal.payment_method,
        total=deal.total or ZERO,
        down_payment=deal.down_payment,
        start=start,
        settings=settings_of(deal.project_id),
    )
    items = ScheduleItem.objects.bulk_create(
        ScheduleItem(
            project_id=deal.project_id,
            deal=deal,
            seq=i + 1,
            kind=p.kind,
            name=p.name,
            amount=p.amount,
            due_date=p.due_date,
            original_due_date=p.due_date,
        )
        for i, p in enumerate(planned)
    )
    audit_record(
        actor=actor,
        action="create",
        obj=deal,
        changes={"schedule": [[p.name, str(p.amount), p.due_date.isoformat()] for p in planned]},
    )
    return items


def schedule_on_contract(*, actor, deal: Deal) -> None:
    """At contract the loan is expected ``loan_days`` after the signing: unpaid loan
    items move there (the rest of the schedule stands)."""
    if not deal.signed_on:
        return
    due = deal.signed_on + datetime.timedelta(days=settings_of(deal.project_id).loan_days)
    paid = paid_by_item(deal)
    moved = []
    for item in live_items(deal).filter(kind__in=LOAN_KINDS):
        if paid.get(item.pk, ZERO) == ZERO and item.due_date < due:
            item.due_date = item.original_due_date = due
            item.save(update_fields=["due_date", "original_due_date"])
            moved.append(item.name)
    if moved:
        audit_record(
            actor=actor,
            action="update",
            obj=deal,
            changes={"schedule_loan_due": [moved, due.isoformat()]},
        )


def _parse_rows(deal, rows) -> list[Planned]:
    """Rows of an edited schedule: ``kind``, ``name``, ``amount`` or ``percent`` (of
    the total), ``due_date``; the last row with neither takes the remainder."""
    total = money(deal.total or 0)
    out: list[Planned] = []
    if not rows:
        raise invalid("items", "付款计划至少要有一期")
    running = ZERO
    for i, row in enumerate(rows):
        field = f"items[{i}]"
        kind = row.get("kind") or ItemKind.INSTALMENT
        if kind not in ItemKind.values:
            raise invalid(f"{field}.kind", "款项类型无效")
        if kind == ItemKind.SETTLEMENT:
            raise invalid(f"{field}.kind", "面积补差款由售后核算生成，不在此编辑")
        name = (row.get("name") or "").strip() or str(ItemKind(kind).label)
        due = parse_date(row.get("due_date"), f"{field}.due_date")
        if due is None:
            raise invalid(f"{field}.due_date", "请填写应付日期")
        amount, percent = row.get("amount"), row.get("percent")
        try:
            if amount not in (None, ""):
                value = money(amount)
            elif percent not in (None, ""):
                value = (total * to_decimal(percent) / 100).quantize(
                    Decimal("0.01"), rounding=ROUND_HALF_UP
                )
            elif i == len(rows) - 1:
                value = total - running
            else:
                raise invalid(f"{field}.amount", "请填写金额或比例")
        except (TypeError, ValueError) as exc:
            raise invalid(f"{field}.amount", "金额或比例必须是数字") from exc
        if value < 0:
            raise invalid(f"{field}.amount", "金额不能为负数")
        running += value
        out.append(Planned(kind, name[:50], value, due))
    if running != total:
        raise invalid(
            "items",
            f"付款计划合计 {running} 元，须等于成交总价 {total} 元",
            code=PaymentError.SCHEDULE_SUM,
        )
    return out


def schedule_set(*, actor, deal: Deal, rows) -> list[ScheduleItem]:
    """Finance sets the schedule (the agreement's instalments, amounts or percentages):
    item N keeps what was paid against it and may not fall below it; the items sum to
    the deal total to the fen; the down payment is at least the project's minimum. An
    area settlement's item (面积补差款, after sales') stays as it is, beside them."""
    rules.ensure(rules.can_edit_schedule(actor, deal))
    with transaction.atomic():
        deal = Deal.objects.select_for_update().get(pk=deal.pk)
        rules.ensure(rules.can_edit_schedule(actor, deal))
        planned = _parse_rows(deal, rows)
        loans = [p for p in planned if p.kind in LOAN_KINDS]
        if loans:
            down = sum((p.amount for p in planned if p.kind not in LOAN_KINDS), ZERO)
            least = min_down_payment(deal.project_id, deal.total)
            if down < least:
                raise invalid(
                    "items",
                    f"贷款以外的款项合计 {down} 元，低于项目最低首付 {least} 元",
                    code=PaymentError.DOWN_PAYMENT_TOO_LOW,
                )
        paid = paid_by_item(deal)
        # the area settlement's item (面积补差款) is after sales', beside the price's
        everything = list(live_items(deal))
        current = [i for i in everything if i.kind != ItemKind.SETTLEMENT]
        next_seq = max((i.seq for i in everything), default=0) + 1
        before = [[i.name, str(i.amount), i.due_date.isoformat()] for i in current]
        for i, item in enumerate(current):
            if i < len(planned):
                if planned[i].amount < paid.get(item.pk, ZERO):
                    raise invalid(
                        f"items[{i}].amount",
                        f"该期已收 {paid[item.pk]} 元，金额不能低于已收",
                    )
            elif paid.get(item.pk, ZERO) != ZERO:
                raise invalid("items", f"第{i + 1}期已有收款，不能删除")
        result = []
        for i, p in enumerate(planned):
            if i < len(current):
                item = current[i]
                if item.due_date != p.due_date:
                    item.original_due_date = item.original_due_date or p.due_date
                item.kind, item.name, item.amount, item.due_date = (
                    p.kind,
                    p.name,
                    p.amount,
                    p.due_date,
                )
                if item.original_due_date is None:
                    item.original_due_date = p.due_date
                item.save()
            else:
                item = ScheduleItem.objects.create(
                    project_id=deal.project_id,
                    deal=deal,
                    seq=next_seq,
                    kind=p.kind,
                    name=p.name,
                    amount=p.amount,
                    due_date=p.due_date,
                    original_due_date=p.due_date,
                )
                next_seq += 1
            result.append(item)
        for item in current[len(planned) :]:
            item.live = False
            item.save(update_fields=["live"])
        audit_record(
            actor=actor,
            action="update",
            obj=deal,
            changes={
                "schedule": [
                    before,
                    [[p.name, str(p.amount), p.due_date.isoformat()] for p in planned],
                ]
            },
        )
    return result
