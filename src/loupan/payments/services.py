"""The ledger's actions (issue 13 "One ledger", "Schedules and receipts"; seed 000 出纳):
record money received with its receipt, the deposit as the deal's first receipt, refunds
paid out, an exchange's carry-over, red reversals 红冲 through the approval engine,
receipt books and spoiled forms, the VAT invoice recorded against a receipt.

Every function here writes in one transaction with its audit entry, and every ledger row
is appended, never changed. Money in a day whose sheet is closed (or waits for review)
is refused here with ``day_closed`` and, should anything slip by, by the database."""

import datetime
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from loupan.accounts import access
from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalRequest
from loupan.audit.services import audit_create, audit_record, audit_update
from loupan.core.dates import PAST_OR_TODAY, parse_date
from loupan.core.errors import conflict, invalid
from loupan.core.money import ZERO, money
from loupan.core.numbering import next_number
from loupan.core.snapshot import snapshot
from loupan.deals.models import Deal

from . import rules
from .arrears import late_fee_due
from .errors import PaymentError
from .models import (
    LOAN_KINDS,
    LOCKED_CLOSE_STATUSES,
    RECEIVED_METHODS,
    DayClose,
    EntryKind,
    LedgerEntry,
    Method,
    PaymentSettings,
    Purpose,
    Receipt,
    ReceiptBook,
    SpoiledForm,
)
from .schedule import live_items, paid_by_item, schedule_generate

REVERSAL = "reversal"
# What else a reversal undoes, registered by the parts of payments in ``apps.py`` (a
# mortgage whose disbursement is reversed): ``follow(actor=, receipt=)``, run in the
# deciding transaction after the red entries.
REVERSAL_FOLLOWERS: list = []


# --- reads ----------------------------------------------------------------------------------


def received_of(deal) -> Decimal:
    """What the buyer has paid on the deal toward its price, as the ledger holds it:
    deposit and payments, less refunds, carries out and reversals (late fees apart)."""
    total = (
        LedgerEntry.objects.filter(deal_id=deal.pk)
        .exclude(purpose=Purpose.LATE_FEE)
        .aggregate(s=Sum("amount"))["s"]
    )
    return money(total or 0)


def held_for(customer_id, reference: str) -> Decimal:
    """What the ledger still holds for a customer under ``reference`` before there is a
    deal (the sincerity deposit 诚意金: received, less refunds, carries into a deal and
    reversals); ``payments.sincerity`` acts on it."""
    total = LedgerEntry.objects.filter(
        customer_id=customer_id,
        reference=reference,
        purpose=Purpose.SINCERITY,
        deal__isnull=True,
    ).aggregate(s=Sum("amount"))["s"]
    return money(total or 0)


def receipt_mark(receipt: Receipt, entries=None) -> str:
    """作废 for a receipt reversed on the day it was issued (before the day closed), 红冲
    for one reversed later; "" for a receipt that stands."""
    entries = list(entries if entries is not None else receipt.entries.all())
    reversals = [getattr(e, "reversed_by", None) for e in entries]
    reversals = [r for r in reversals if r is not None]
    if not reversals:
        return ""
    return "作废" if all(r.paid_on == receipt.paid_on for r in reversals) else "红冲"


# --- guards ---------------------------------------------------------------------------------


def lock_project_money(project_id) -> PaymentSettings:
    """Lock the project's payment settings row: recording money and closing a day queue
    here, so that a day's sheet never misses an entry written while it was closing."""
    PaymentSettings.objects.get_or_create(project_id=project_id)
    return PaymentSettings.objects.select_for_update().get(project_id=project_id)


def day_open(project_id, day: datetime.date, field: str = "paid_on") -> None:
    """Refuse an entry dated in a day whose sheet waits for review or is closed."""
    if DayClose.objects.filter(
        project_id=project_id, day=day, status__in=LOCKED_CLOSE_STATUSES
    ).exists():
        raise invalid(
            field,
            f"{day:%Y-%m-%d} 已日结或日结待复核，不能再记入；如需补记请申请重开该日",
            code=PaymentError.DAY_CLOSED,
        )


def _insert(entries: list[LedgerEntry]) -> list[LedgerEntry]:
    """Append entries; the database's own refusal (a closed day) becomes the error."""
    try:
        with transaction.atomic():
            for entry in entries:
                entry.save(force_insert=True)
    except IntegrityError as exc:
        if "closed" in str(exc):
            raise invalid(
                "paid_on", "该日已日结，不能再记入", code=PaymentError.DAY_CLOSED
            ) from exc
        raise
    return entries


def _date(value, field: str) -> datetime.date:
    """The day money moved: today when not given, never later than today."""
    return parse_date(value, field, default_today=True, when=PAST_OR_TODAY)


def _amount(value, field: str = "amount") -> Decimal:
    try:
        amount = money(value)
    except (TypeError, ValueError) as exc:
        raise invalid(field, "金额必须是数字") from exc
    if not amount.is_finite() or amount <= 0:
        raise invalid(field, "金额必须大于 0")
    if amount >= Decimal("1e12"):
        raise invalid(field, "金额过大")
    return amount


def _method(value, allowed=RECEIVED_METHODS) -> str:
    if value not in [m.value for m in allowed]:
        raise invalid("method", "请选择收款方式")
    return value


def payer_of(deal) -> str:
    return deal.customer.name if deal.customer_id else ""


# --- receipts -------------------------------------------------------------------------------


def _allocate(deal, amount: Decimal, method: str, allocations) -> list[tuple]:
    """Split ``amount`` over the deal's schedule items: as asked (``allocations``: pairs
    of item id and amount), else oldest due first. A mortgage disbursement goes to the
    loan items only. Nothing is taken beyond what an item still owes."""
    items = list(live_items(deal))
    if not items:
        raise conflict("该交易还没有付款计划。", "item", PaymentError.NO_SCHEDULE)
    paid = paid_by_item(deal)
    owed = {i.pk: i.amount - paid.get(i.pk, ZERO) for i in items}
    by_id = {i.pk: i for i in items}
    if allocations:
        out = []
        for n, (item_id, part) in enumerate(allocations):
            item = by_id.get(int(item_id)) if str(item_id).isdigit() else None
            if item is None:
                raise invalid(f"allocations[{n}].item", "该交易没有这一期款项")
            part = _amount(part, f"allocations[{n}].amount")
            if part > owed[item.pk]:
                raise invalid(
                    f"allocations[{n}].amount",
                    f"{item.name}尚欠 {owed[item.pk]} 元，不能收 {part} 元",
                    code=PaymentError.OVERPAID,
                )
            owed[item.pk] -= part
            out.append((item, part))
        if sum((p for _, p in out), ZERO) != amount:
            raise invalid("allocations", "各期分配金额之和须等于收款金额")
        return out
    candidates = [
        i for i in items if (i.kind in LOAN_KINDS) == (method == Method.MORTGAGE) and owed[i.pk] > 0
    ]
    left, out = amount, []
    for item in sorted(candidates, key=lambda i: (i.due_date, i.seq)):
        part = min(left, owed[item.pk])
        if part > 0:
            out.append((item, part))
            left -= part
        if left == ZERO:
            break
    if left > 0:
        outstanding = sum((owed[i.pk] for i in candidates), ZERO)
        raise invalid(
            "amount",
            f"收款 {amount} 元超过{'贷款' if method == Method.MORTGAGE else ''}未收金额 {outstanding} 元",
            code=PaymentError.OVERPAID,
        )
    return out


def _next_serial(actor, project_id):
    """The cashier's next printed-form serial from their open receipt book, if any."""
    book = (
        ReceiptBook.objects.select_for_update()
        .filter(project_id=project_id, cashier=actor)
        .order_by("first_serial")
        .filter(next_serial__lte=F("last_serial"))
        .first()
    )
    if book is None:
        return None, None
    serial = book.next_serial
    book.next_serial += 1
    book.save(update_fields=["next_serial"])
    return book, serial


def _issue(
    *, actor, deal, amount, method, paid_on, payer, bank_reference, bank, parts, purpose, note
) -> Receipt:
    book, serial = _next_serial(actor, deal.project_id)
    receipt = Receipt.objects.create(
        project_id=deal.project_id,
        deal=deal,
        number=next_number(deal.project, "receipt"),
        amount=amount,
        method=method,
        paid_on=paid_on,
        payer=payer,
        book=book,
        form_serial=serial,
        cashier=actor,
        issued_at=timezone.now(),
    )
    _insert(
        [
            LedgerEntry(
                project_id=deal.project_id,
                deal=deal,
                item=item,
                kind=EntryKind.RECEIPT,
                purpose=purpose,
                method=method,
                amount=part,
                paid_on=paid_on,
                payer=payer,
                bank=bank,
                bank_reference=bank_reference,
                receipt=receipt,
                reason=note,
                created_by=actor,
            )
            for item, part in parts
        ]
    )
    audit_create(
        actor=actor,
        obj=receipt,
        extra={
            "deal": deal.number,
            "items": [[item.name if item else "", str(part)] for item, part in parts],
        },
    )
    return receipt


def payment_record(
    *,
    actor,
    deal: Deal,
    amount,
    method: str,
    paid_on=None,
    payer: str = "",
    bank_reference: str = "",
    bank: str = "",
    allocations=None,
    late_fee: bool = False,
    note: str = "",
) -> Receipt:
    """Finance records money received against the schedule (cash, transfer, POS,
    cheque, mortgage disbursement) and issues the receipt: its number is the project's
    next gapless one, allocated in this transaction; its form serial is the next of the
    cashier's receipt book. A late fee 滞纳金 is paid against no item, up to what is
    due."""
    rules.ensure(rules.can_record(actor, deal))
    amount = _amount(amount)
    method = _method(method)
    paid_on = _date(paid_on, "paid_on")
    payer = (payer or "").strip() or payer_of(deal)
    if (
        method in (Method.TRANSFER, Method.POS, Method.MORTGAGE)
        and not (bank_reference or "").strip()
    ):
        raise invalid("bank_reference", "转账、刷卡和按揭放款须填写银行流水号")
    with transaction.atomic():
        lock_project_money(deal.project_id)
        deal = (
            Deal.objects.select_for_update().select_related("project", "customer").get(pk=deal.pk)
        )
        rules.ensure(rules.can_record(actor, deal))
        day_open(deal.project_id, paid_on)
        if late_fee:
            due = late_fee_due(deal)
            if amount > due:
                raise invalid(
                    "amount", f"应收滞纳金 {due} 元，不能收 {amount} 元", code=PaymentError.OVERPAID
                )
            parts, purpose = [(None, amount)], Purpose.LATE_FEE
        else:
            parts, purpose = _allocate(deal, amount, method, allocations), Purpose.PRICE
        return _issue(
            actor=actor,
            deal=deal,
            amount=amount,
            method=method,
            paid_on=paid_on,
            payer=payer,
            bank_reference=(bank_reference or "").strip(),
            bank=(bank or "").strip(),
            parts=parts,
            purpose=purpose,
            note=(note or "").strip()[:200],
        )


def deposit_received(
    *, actor, deal: Deal, method=Method.TRANSFER, paid_on=None, payer="", bank_reference=""
) -> Receipt | None:
    """The deposit confirmed by finance is the deal's first receipt (called by
    ``deals.services.deal_confirm_deposit`` in its transaction, through
    ``deals.ports.money``): the schedule is generated, the deposit counts toward its
    first item.

    A sincerity deposit 诚意金 already carried into the deal (``payments.sincerity``)
    is part of the deposit: it is placed on the schedule now, and the receipt is for the
    rest only — none when the carried money covers the whole deposit."""
    method = _method(method or Method.TRANSFER)
    paid_on = _date(paid_on, "paid_on")
    lock_project_money(deal.project_id)
    day_open(deal.project_id, paid_on)
    items = schedule_generate(actor=actor, deal=deal)
    first = sorted(items, key=lambda i: i.seq)[0]
    carried = sum((held for _c, _r, held in carried_deposit(deal)), ZERO)
    room = first.amount
    if carried > 0:
        carried_to_schedule(actor=actor, deal=deal, items=items, paid_on=paid_on)
        room = max(first.amount - paid_by_item(deal).get(first.pk, ZERO), ZERO)
    amount = money(deal.deposit) - carried
    if amount <= 0:
        return None
    return _issue(
        actor=actor,
        deal=deal,
        amount=amount,
        method=method,
        paid_on=paid_on,
        payer=(payer or "").strip() or payer_of(deal),
        bank_reference=(bank_reference or "").strip(),
        bank="",
        parts=([(first, min(amount, room))] if room > 0 else [])
        + ([(None, amount - room)] if amount > room else []),
        purpose=Purpose.DEPOSIT,
        note="定金",
    )


def carried_deposit(deal) -> list[tuple[int, str, Decimal]]:
    """Money carried into the deal as its deposit from what a customer held (a sincerity
    deposit 诚意金) and not yet placed on a schedule item, per customer and reference:
    ``(customer_id, reference, amount)``."""
    rows = (
        LedgerEntry.objects.filter(
            deal_id=deal.pk, kind=EntryKind.CARRY, purpose=Purpose.DEPOSIT, item__isnull=True
        )
        .values("customer_id", "reference")
        .annotate(s=Sum("amount"))
        .order_by("customer_id", "reference")
    )
    out = [(r["customer_id"], r["reference"], money(r["s"] or 0)) for r in rows]
    return [row for row in out if row[2] > 0]


def carried_to_schedule(*, actor, deal: Deal, items, paid_on) -> Decimal:
    """Place the deposit carried into the deal (``carried_deposit``) on its schedule:
    the buyer's items oldest first (never the loan's), never beyond what an item still
    owes. Each part is a pair of carry entries inside the deal — out of the unplaced
    money, onto the item — so what the deal has received does not change and what each
    item has been paid is right. What no item owes stays unplaced (it still counts as
    received). Inside the caller's transaction, after ``lock_project_money``."""
    groups = carried_deposit(deal)
    if not groups:
        return ZERO
    paid = paid_by_item(deal)
    order = sorted((i for i in items if i.kind not in LOAN_KINDS), key=lambda i: (i.seq, i.pk))
    owed = {i.pk: i.amount - paid.get(i.pk, ZERO) for i in order}
    placed, lines = ZERO, []
    for customer_id, reference, held in groups:
        left = held
        for item in order:
            part = min(left, owed[item.pk])
            if part <= 0:
                continue
            common = {
                "project_id": deal.project_id,
                "deal": deal,
                "customer_id": customer_id,
                "reference": reference,
                "kind": EntryKind.CARRY,
                "purpose": Purpose.DEPOSIT,
                "method": Method.CARRY,
                "paid_on": paid_on,
                "payer": payer_of(deal),
                "reason": f"转入的定金计入{item.name}"[:200],
                "created_by": actor,
            }
            (out,) = _insert([LedgerEntry(amount=-part, **common)])
            _insert([LedgerEntry(item=item, amount=part, counterpart=out, **common)])
            owed[item.pk] -= part
            left -= part
            placed += part
            lines.append([reference, item.name, str(part)])
            if left == 0:
                break
    if lines:
        audit_record(actor=actor, action="create", obj=deal, changes={"carried_deposit": lines})
    return placed


# --- refunds and carries ----------------------------------------------------------------------


def refund_paid(
    *,
    actor,
    deal: Deal,
    amount,
    method=Method.TRANSFER,
    paid_on=None,
    bank_reference="",
    reason="退房退款",
) -> LedgerEntry:
    """A refund paid out by finance: one negative entry of the ledger (a cancellation's,
    called by ``deals.changes.cancellation_refund_paid`` in its transaction; an area
    settlement's, by after sales)."""
    method = _method(
        method or Method.TRANSFER, [m for m in RECEIVED_METHODS if m != Method.MORTGAGE]
    )
    paid_on = _date(paid_on, "paid_on")
    lock_project_money(deal.project_id)
    day_open(deal.project_id, paid_on)
    entry = LedgerEntry(
        project_id=deal.project_id,
        deal=deal,
        kind=EntryKind.REFUND,
        method=method,
        amount=-money(amount),
        paid_on=paid_on,
        payer=payer_of(deal),
        bank_reference=(bank_reference or "").strip(),
        reason=(reason or "退款")[:200],
        created_by=actor,
    )
    _insert([entry])
    audit_create(actor=actor, obj=entry, extra={"deal": deal.number})
    return entry


def exchanged(*, actor, old: Deal, new: Deal) -> None:
    """An exchange's new deal takes over the old deal's receipts: a carry out of the old
    deal and the same amount carried into the new one, against its new schedule (called
    by ``deals.changes.apply_exchange`` in its transaction)."""
    received = received_of(old)
    items = schedule_generate(actor=actor, deal=new, start=timezone.localdate())
    if received <= 0:
        return
    today = timezone.localdate()
    lock_project_money(old.project_id)
    day_open(old.project_id, today)
    out = LedgerEntry(
        project_id=old.project_id,
        deal=old,
        kind=EntryKind.CARRY,
        method=Method.CARRY,
        amount=-received,
        paid_on=today,
        payer=payer_of(old),
        reason=f"换房结转至 {new.number}",
        created_by=actor,
    )
    _insert([out])
    left, entries = received, []
    for item in sorted(items, key=lambda i: i.seq):
        part = min(left, item.amount)
        if part > 0:
            entries.append((item, part))
            left -= part
    if left > 0:
        entries.append((None, left))
    ins = [
        LedgerEntry(
            project_id=new.project_id,
            deal=new,
            item=item,
            kind=EntryKind.CARRY,
            purpose=Purpose.PRICE,
            method=Method.CARRY,
            amount=part,
            paid_on=today,
            payer=payer_of(new),
            counterpart=out,
            reason=f"由 {old.number} 换房结转",
            created_by=actor,
        )
        for item, part in entries
    ]
    _insert(ins)
    audit_create(actor=actor, obj=out, extra={"from": old.number, "to": new.number})


# --- reversal 红冲 ----------------------------------------------------------------------------


def reversal_request(*, actor, receipt: Receipt, reason: str) -> ApprovalRequest:
    """Finance asks to reverse a receipt 红冲 (a mistake: wrong amount, wrong deal): the
    approval engine sends it to whoever holds ``payment.approve``; approved, each of its
    entries gets its red entry, the receipt stays, marked."""
    rules.ensure(rules.can_request_reversal(actor, receipt))
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", "请填写红冲原因")
    if LedgerEntry.objects.filter(reverses__receipt=receipt).exists():
        raise conflict("该收据已红冲。", "receipt", PaymentError.ALREADY_REVERSED)
    _ensure_still_held(receipt)
    with transaction.atomic():
        return approvals.approval_request(
            actor=actor,
            project=receipt.project,
            subject=receipt,
            kind=REVERSAL,
            payload={
                "receipt": receipt.number,
                "amount": str(receipt.amount),
                # a sincerity deposit's receipt has no deal: what it was held for
                "deal": receipt.deal.number if receipt.deal_id else receipt.reference,
            },
            reason=reason,
            level="payment.approve",
            final="payment.approve",
            busy=("该收据已有红冲申请在审批中。", "receipt"),
        )


def _ensure_still_held(receipt: Receipt) -> None:
    """A sincerity deposit's receipt is reversed only while its money is still held for
    the customer (not yet refunded, nor carried into a deal)."""
    if receipt.deal_id is None and held_for(receipt.customer_id, receipt.reference) < (
        receipt.amount
    ):
        raise conflict(
            "该诚意金已退还或已转为定金，不能红冲。", "receipt", PaymentError.NOTHING_HELD
        )


def apply_reversal(*, actor, request: ApprovalRequest, approved: bool) -> None:
    """An approved reversal writes one red entry per entry of the receipt, dated today
    (a closed day is never touched), with the reason."""
    if not approved:
        return
    receipt = Receipt.objects.select_related("deal").get(pk=request.subject_id)
    today = timezone.localdate()
    lock_project_money(receipt.project_id)
    day_open(receipt.project_id, today)
    originals = list(receipt.entries.filter(reversed_by__isnull=True, kind=EntryKind.RECEIPT))
    if not originals:
        raise conflict("该收据已红冲。", "receipt", PaymentError.ALREADY_REVERSED)
    _ensure_still_held(receipt)
    reds = [
        LedgerEntry(
            project_id=e.project_id,
            deal_id=e.deal_id,
            customer_id=e.customer_id,
            reference=e.reference,
            item_id=e.item_id,
            kind=EntryKind.REVERSAL,
            purpose=e.purpose,
            method=e.method,
            amount=-e.amount,
            paid_on=today,
            payer=e.payer,
            bank=e.bank,
            bank_reference=e.bank_reference,
            receipt=receipt,
            reverses=e,
            reason=request.reason[:200],
            created_by=actor,
        )
        for e in originals
    ]
    _insert(reds)
    audit_create(actor=actor, obj=receipt, extra={"reversal": request.pk, "reason": request.reason})
    for follow in REVERSAL_FOLLOWERS:
        follow(actor=actor, receipt=receipt)


# --- receipt books, spoiled forms, invoices ----------------------------------------------------


def _serial(value, field) -> int:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError) as exc:
        raise invalid(field, "号码必须是整数") from exc
    if n <= 0 or n > 99_999_999:
        raise invalid(field, "号码须在 1 与 99999999 之间")
    return n


def book_issue(*, actor, project, cashier, first_serial, last_serial, note="") -> ReceiptBook:
    """Issue a receipt book (a range of printed form serials) to a cashier 票据领用; the
    ranges of a project never overlap."""
    rules.ensure(rules.can_keep_books(actor, project))
    first = _serial(first_serial, "first_serial")
    last = _serial(last_serial, "last_serial")
    if last < first:
        raise invalid("last_serial", "终止号不能小于起始号")
    if not access.has_perm(cashier, "payment.record", project):
        raise invalid("cashier", "领用人须是本项目的财务人员")
    with transaction.atomic():
        lock_project_money(project.pk)
        if ReceiptBook.objects.filter(
            project_id=project.pk, first_serial__lte=last, last_serial__gte=first
        ).exists():
            raise invalid(
                "first_serial", "号段与已发放的收据本重叠", code=PaymentError.BOOK_OVERLAP
            )
        book = ReceiptBook.objects.create(
            project_id=project.pk,
            cashier=cashier,
            first_serial=first,
            last_serial=last,
            next_serial=first,
            issued_by=actor,
            issued_at=timezone.now(),
            note=(note or "").strip()[:200],
        )
        audit_create(actor=actor, obj=book)
    return book


def form_spoil(*, actor, book: ReceiptBook, reason: str) -> SpoiledForm:
    """A printed form spoiled (misprint, torn) 作废: its serial (the book's next) is used
    up and kept with the reason."""
    rules.ensure(rules.can_keep_books(actor, book.project))
    reason = (reason or "").strip()
    if not reason:
        raise invalid("reason", "请填写作废原因")
    with transaction.atomic():
        book = ReceiptBook.objects.select_for_update().get(pk=book.pk)
        if book.next_serial > book.last_serial:
            raise conflict("收据本已用完。", "book", PaymentError.NO_RECEIPT_FORM)
        spoiled = SpoiledForm.objects.create(
            book=book, serial=book.next_serial, reason=reason[:200], by=actor, at=timezone.now()
        )
        book.next_serial += 1
        book.save(update_fields=["next_serial"])
        audit_create(actor=actor, obj=spoiled, extra={"book": str(book)})
    return spoiled


def invoice_record(*, actor, receipt: Receipt, invoice_number: str, invoice_date=None) -> Receipt:
    """The VAT invoice 发票 is issued outside Loupan: its number and date are recorded
    against the receipt."""
    rules.ensure(rules.can_keep_books(actor, receipt.project))
    number = (invoice_number or "").strip()
    if not number:
        raise invalid("invoice_number", "请填写发票号码")
    if len(number) > 40:
        raise invalid("invoice_number", "发票号码过长")
    invoice_date = _date(invoice_date, "invoice_date")
    with transaction.atomic():
        receipt = Receipt.objects.select_for_update().get(pk=receipt.pk)
        before = snapshot(receipt)
        receipt.invoice_number, receipt.invoice_date = number, invoice_date
        receipt.save(update_fields=["invoice_number", "invoice_date"])
        audit_update(actor=actor, obj=receipt, before=before)
    return receipt
