"""Arrears and collection (issue 13 "Arrears and collection"; seed 000 催交欠款, seed 002
二.5, seed 003 款项跟进): what each item owes as of today, the daily job that finds
overdue items (``loupan run-due``), late fees computed from the ledger (never typed),
collection records, and deferred payments approved through the approval engine."""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalRequest
from loupan.audit.services import audit_create, audit_update
from loupan.core.dates import TODAY_OR_LATER, parse_date
from loupan.core.errors import conflict, invalid
from loupan.core.money import ZERO, money, to_decimal
from loupan.core.snapshot import snapshot
from loupan.deals.models import Deal

from . import rules
from .models import (
    Arrear,
    Channel,
    CollectionRecord,
    Deferral,
    LedgerEntry,
    PaymentSettings,
    Purpose,
    ScheduleItem,
)
from .schedule import settings_of

DEFERRAL = "deferral"
MONEY_FIELD = DecimalField(max_digits=14, decimal_places=2)


def paid_subquery():
    """What the ledger holds against an item (an expression for item querysets)."""
    return Coalesce(
        Subquery(
            LedgerEntry.objects.filter(item_id=OuterRef("pk"))
            .values("item_id")
            .annotate(s=Sum("amount"))
            .values("s")[:1],
            output_field=MONEY_FIELD,
        ),
        Value(ZERO),
        output_field=MONEY_FIELD,
    )


def items_with_paid(queryset=None):
    """Live schedule items with ``paid`` and ``owed`` annotated from the ledger."""
    qs = queryset if queryset is not None else ScheduleItem.objects.all()
    return (
        qs.filter(live=True).annotate(paid=paid_subquery()).annotate(owed=F("amount") - F("paid"))
    )


def overdue_items(today: datetime.date | None = None, queryset=None):
    """Items of deals still paying (认购, 签约) past their due date and not fully paid,
    as of ``today``."""
    today = today or timezone.localdate()
    return items_with_paid(queryset).filter(
        deal__status__in=rules.PAYING, due_date__lt=today, owed__gt=0
    )


def late_fee_of(item, entries, settings: PaymentSettings, today: datetime.date) -> Decimal:
    """The late fee on one item as of ``today``: each day after the due date (and the
    grace days) the day's unpaid amount times the daily rate; a payment dated on a day
    stops the fee on it from that day. Off (0) when the project charges none."""
    rate = to_decimal(settings.late_fee_daily_pct)
    if rate <= 0:
        return ZERO
    start = item.due_date + datetime.timedelta(days=settings.late_fee_grace_days + 1)
    if start > today:
        return ZERO
    payments = sorted((e.paid_on, e.amount) for e in entries if e.purpose != Purpose.LATE_FEE)
    owed = item.amount - sum((a for d, a in payments if d < start), ZERO)
    later = [(d, a) for d, a in payments if start <= d <= today]
    fee, day = Decimal("0"), start
    for paid_on, amount in later:
        if owed > 0:
            fee += owed * (paid_on - day).days
        day, owed = paid_on, owed - amount
    if owed > 0:
        fee += owed * ((today - day).days + 1)
    return money(fee * rate / 100)


@dataclass
class ItemState:
    item: ScheduleItem
    paid: Decimal
    owed: Decimal
    overdue_days: int
    late_fee: Decimal


def schedule_state(deal, today: datetime.date | None = None) -> list[ItemState]:
    """The deal's schedule as of today: paid, owed, days overdue and late fee per item
    (two queries)."""
    today = today or timezone.localdate()
    settings = settings_of(deal.project_id)
    items = list(ScheduleItem.objects.filter(deal_id=deal.pk, live=True).order_by("seq"))
    entries: dict[int, list] = {}
    for e in LedgerEntry.objects.filter(deal_id=deal.pk, item__isnull=False):
        entries.setdefault(e.item_id, []).append(e)
    paying = deal.status in rules.PAYING
    out = []
    for item in items:
        mine = entries.get(item.pk, [])
        paid = sum((e.amount for e in mine), ZERO)
        owed = item.amount - paid
        overdue = (
            (today - item.due_date).days if paying and owed > 0 and item.due_date < today else 0
        )
        fee = late_fee_of(item, mine, settings, today) if paying else ZERO
        out.append(ItemState(item, paid, owed, max(overdue, 0), fee))
    return out


def late_fee_paid(deal) -> Decimal:
    total = LedgerEntry.objects.filter(deal_id=deal.pk, purpose=Purpose.LATE_FEE).aggregate(
        s=Sum("amount")
    )["s"]
    return money(total or 0)


def late_fee_due(deal, today: datetime.date | None = None, state=None) -> Decimal:
    """The late fees computed on the deal less what has been paid of them (``state``:
    the deal's ``schedule_state`` when the caller has it already)."""
    state = state if state is not None else schedule_state(deal, today)
    accrued = sum((s.late_fee for s in state), ZERO)
    return max(money(accrued - late_fee_paid(deal)), ZERO)


# --- the daily job --------------------------------------------------------------------------


def arrears_find(*, now=None) -> dict:
    """The daily job: open an ``Arrear`` for each item newly overdue, settle those now
    paid (or deferred, or of a deal that ended). Idempotent: run it twice, nothing
    changes the second time."""
    today = timezone.localdate(now) if now else timezone.localdate()
    overdue = overdue_items(today)
    opened = 0
    with transaction.atomic():
        open_items = set(
            Arrear.objects.filter(settled_on__isnull=True).values_list("item_id", flat=True)
        )
        fresh = [
            Arrear(project_id=i.project_id, deal_id=i.deal_id, item_id=i.pk, found_on=today)
            for i in overdue.exclude(pk__in=open_items).only("pk", "project_id", "deal_id")
        ]
        Arrear.objects.bulk_create(fresh)
        opened = len(fresh)
        still = overdue.values("pk")
        settled = (
            Arrear.objects.filter(settled_on__isnull=True)
            .exclude(item_id__in=still)
            .update(settled_on=today)
        )
    return {"arrears_opened": opened, "arrears_settled": settled}


# --- collection 催款 -------------------------------------------------------------------------


def collection_record(
    *,
    actor,
    deal: Deal,
    channel: str,
    contact: str,
    note: str,
    item: ScheduleItem | None = None,
    promised_amount=None,
    promised_on=None,
) -> CollectionRecord:
    """A collection contact: who contacted whom, how, what was promised and by when."""
    rules.ensure(rules.can_collect(actor, deal))
    if channel not in Channel.values:
        raise invalid("channel", "请选择催款方式")
    contact, note = (contact or "").strip(), (note or "").strip()
    if not contact:
        raise invalid("contact", "请填写联系对象")
    if not note:
        raise invalid("note", "请填写沟通内容")
    if item is not None and item.deal_id != deal.pk:
        raise invalid("item", "该交易没有这一期款项")
    if promised_amount not in (None, ""):
        try:
            promised_amount = money(promised_amount)
        except (TypeError, ValueError) as exc:
            raise invalid("promised_amount", "承诺金额必须是数字") from exc
        if promised_amount <= 0:
            raise invalid("promised_amount", "承诺金额必须大于 0")
    else:
        promised_amount = None
    promised_on = parse_date(
        promised_on, "promised_on", when=TODAY_OR_LATER, message="承诺付款日期不能早于今天"
    )
    with transaction.atomic():
        record = CollectionRecord.objects.create(
            project_id=deal.project_id,
            deal=deal,
            item=item,
            channel=channel,
            contact=contact[:50],
            note=note[:300],
            promised_amount=promised_amount,
            promised_on=promised_on,
            by=actor,
            at=timezone.now(),
        )
        audit_create(actor=actor, obj=record, extra={"deal": deal.number})
    return record


# --- deferred payment 延期付款 ------------------------------------------------------------------


def deferral_request(
    *, actor, deal: Deal, item: ScheduleItem, new_due_date, reason: str
) -> Deferral:
    """Ask to move an item's due date (seed 002 二.5(2)): approved by whoever holds
    ``payment.approve``; only then does the date move."""
    rules.ensure(rules.can_collect(actor, deal))
    if item.deal_id != deal.pk or not item.live:
        raise invalid("item", "该交易没有这一期款项")
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", "请填写延期原因")
    new_due_date = parse_date(new_due_date, "new_due_date")
    if new_due_date is None:
        raise invalid("new_due_date", "请填写延期后的日期")
    if new_due_date <= item.due_date:
        raise invalid("new_due_date", f"延期后的日期须晚于原应付日期 {item.due_date:%Y-%m-%d}")
    owed = items_with_paid(ScheduleItem.objects.filter(pk=item.pk)).values_list("owed", flat=True)
    if not owed or owed[0] <= 0:
        raise conflict("该期款项已付清，无需延期。", "item")
    with transaction.atomic():
        request = approvals.approval_request(
            actor=actor,
            project=deal.project,
            subject=deal,
            kind=DEFERRAL,
            payload={
                "item": item.pk,
                "name": item.name,
                "amount": str(item.amount),
                "old_due_date": item.due_date.isoformat(),
                "new_due_date": new_due_date.isoformat(),
            },
            reason=reason[:300],
            level="payment.approve",
            final="payment.approve",
            busy=("该交易已有延期付款申请在审批中。", "item"),
        )
        deferral = Deferral.objects.create(
            project_id=deal.project_id,
            deal=deal,
            item=item,
            old_due_date=item.due_date,
            new_due_date=new_due_date,
            reason=reason[:300],
            request=request,
        )
        audit_create(actor=actor, obj=deferral)
    return deferral


def apply_deferral(*, actor, request: ApprovalRequest, approved: bool) -> None:
    """An approved deferral moves the item's due date (its first date is kept)."""
    if not approved:
        return
    deferral = Deferral.objects.select_related("item").get(request=request)
    item = ScheduleItem.objects.select_for_update().get(pk=deferral.item_id)
    before = snapshot(item)
    item.due_date = deferral.new_due_date
    item.save(update_fields=["due_date"])
    audit_update(actor=actor, obj=item, before=before, extra={"deferral": deferral.pk})


def collection_q(user, project) -> Q:
    """The collection list of a consultant holds their own deals; a lead's, all."""
    if rules.may_see_all(user, project):
        return Q()
    return Q(deal__consultant=user)
