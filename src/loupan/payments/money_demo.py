"""The demo office's money (issue 13 "Done when"): deals paying by every payment method
with their schedules, receipts from a receipt book with a spoiled form, a reversal, an
invoice, overdue items with collection records, deferred payments (one approved, one
waiting), and yesterday closed by a second person. Runs after the deals and the
payment settings; built only once."""

import datetime
from decimal import Decimal

from django.utils import timezone

from loupan.approvals import services as approvals
from loupan.core.demo import at
from loupan.customers.models import Customer
from loupan.deals import services as deal_services
from loupan.deals.models import Deal, DiscountType
from loupan.inventory.models import Unit

from . import arrears, closing, services
from .models import LedgerEntry, Receipt, ReceiptBook, ScheduleItem
from .schedule import schedule_set


def demo_subscription(project, users, consultant: str, method: str, hours_ago: int = 0) -> Deal:
    """A fresh subscription paying by ``method``, made ``hours_ago`` (on the demo's
    timeline), its deposit confirmed."""
    with at(timezone.now() - datetime.timedelta(hours=hours_ago)):
        return _subscription(project, users, consultant, method)


def _subscription(project, users, consultant: str, method: str) -> Deal:
    unit = (
        Unit.objects.open_for_sale()
        .filter(project=project, use="residential")
        .exclude(list_price=None)
        .order_by("building__name", "floor", "room")
        .first()
    )
    customer = (
        Customer.objects.filter(project=project, owner=users[consultant], in_pool=False)
        .filter(deals__isnull=True)
        .order_by("registered_at")
        .first()
    )
    deal = deal_services.deal_reserve(actor=users[consultant], unit=unit, customer=customer)
    mortgage = DiscountType.objects.filter(project=project, name="按揭付款").first()
    deal = deal_services.deal_subscribe(
        actor=users[consultant],
        deal=deal,
        buyers=[(customer, "100")],
        payment_method=method,
        deposit=(unit.list_price * 5 / 100).quantize(Decimal("1")),
        discounts=[(mortgage, None)] if mortgage and method != "one_off" else [],
    )
    return deal_services.deal_confirm_deposit(actor=users["finance"], deal=deal)


def _owed(deal, seq=1) -> Decimal:
    item = ScheduleItem.objects.get(deal=deal, seq=seq, live=True)
    paid = sum((e.amount for e in LedgerEntry.objects.filter(item=item)), Decimal("0"))
    return item.amount - paid


def demo_money(context: dict) -> None:
    project, users = context["main"], context["users"]
    if ReceiptBook.objects.filter(project=project).exists():
        return
    finance, manager = users["finance"], users["manager"]
    today = timezone.localdate()
    book = services.book_issue(
        actor=finance,
        project=project,
        cashier=finance,
        first_serial=1,
        last_serial=200,
        note="2026年第1本",
    )
    services.form_spoil(actor=finance, book=book, reason="打印错位，已收回作废")

    # every payment method: instalments, provident fund and combined loans beside the
    # demo deals' commercial loans and one-off payments
    instalments = demo_subscription(project, users, "consultant", "instalments", hours_ago=3)
    demo_subscription(project, users, "consultant2", "provident", hours_ago=2)
    demo_subscription(project, users, "consultant", "combined", hours_ago=1)

    contracted = list(
        Deal.objects.filter(
            project=project, status="contracted", payment_method="one_off"
        ).order_by("pk")
    )
    # paid in full by bank transfer, the VAT invoice recorded
    full = contracted[0]
    receipt = services.payment_record(
        actor=finance,
        deal=full,
        amount=_owed(full),
        method="transfer",
        bank_reference="ICBC20261201-0001",
    )
    services.invoice_record(
        actor=finance, receipt=receipt, invoice_number="51002600001234", invoice_date=today
    )
    if len(contracted) > 1:
        part = contracted[1]
        total = part.total
        services.payment_record(
            actor=finance,
            deal=part,
            amount=(total * Decimal("0.35")).quantize(Decimal("0.01")),
            method="pos",
            bank_reference="POS-88120391",
        )
        # a receipt recorded on the wrong deal, reversed (红冲) with the manager's approval
        wrong = services.payment_record(actor=finance, deal=part, amount="20000", method="cash")
        request = services.reversal_request(
            actor=finance, receipt=wrong, reason="客户款项误记到本房号，应记入其他交易"
        )
        approvals.approval_decide(actor=manager, request=request, approve=True)
    if len(contracted) > 2:
        # 15 days overdue, chased by phone with a promise
        late = contracted[2]
        schedule_set(
            actor=finance,
            deal=late,
            rows=[
                {"kind": "full", "name": "全款", "due_date": today - datetime.timedelta(days=15)}
            ],
        )
        arrears.collection_record(
            actor=users["consultant"],
            deal=late,
            item=ScheduleItem.objects.get(deal=late, live=True),
            channel="phone",
            contact=late.customer.name,
            note="客户称银行理财本月底到期，到期后一次付清",
            promised_amount=_owed(late),
            promised_on=today + datetime.timedelta(days=20),
        )
    # instalments: the first overdue and part paid, the second deferred (approved), the
    # third asked to be deferred (waiting)
    total = instalments.total
    schedule_set(
        actor=finance,
        deal=instalments,
        rows=[
            {
                "kind": "down_payment",
                "name": "首期款",
                "percent": "40",
                "due_date": today - datetime.timedelta(days=8),
            },
            {
                "kind": "instalment",
                "name": "第2期",
                "percent": "30",
                "due_date": today + datetime.timedelta(days=30),
            },
            {
                "kind": "instalment",
                "name": "第3期",
                "due_date": today + datetime.timedelta(days=120),
            },
        ],
    )
    services.payment_record(
        actor=finance,
        deal=instalments,
        amount=(total * Decimal("0.10")).quantize(Decimal("0.01")),
        method="cheque",
        bank_reference="支票 10293847",
    )
    arrears.collection_record(
        actor=users["consultant"],
        deal=instalments,
        item=ScheduleItem.objects.get(deal=instalments, seq=1, live=True),
        channel="visit",
        contact=instalments.customer.name,
        note="客户来访，说明首期款差额下周补齐",
        promised_on=today + datetime.timedelta(days=7),
    )
    second = ScheduleItem.objects.get(deal=instalments, seq=2, live=True)
    deferral = arrears.deferral_request(
        actor=users["consultant"],
        deal=instalments,
        item=second,
        new_due_date=second.due_date + datetime.timedelta(days=60),
        reason="客户年终奖发放后支付",
    )
    approvals.approval_decide(actor=manager, request=deferral.request, approve=True)
    third = ScheduleItem.objects.get(deal=instalments, seq=3, live=True)
    arrears.deferral_request(
        actor=users["consultant"],
        deal=instalments,
        item=third,
        new_due_date=third.due_date + datetime.timedelta(days=30),
        reason="客户申请顺延一个月",
    )
    # a commercial-loan down payment part paid by cash yesterday; yesterday is closed by
    # finance and confirmed by the manager (双重复核)
    loan_deal = (
        Deal.objects.filter(project=project, status="subscribed", payment_method="commercial")
        .exclude(pk__in=Receipt.objects.filter(amount__lt=0).values("deal_id"))
        .order_by("pk")
        .first()
    )
    yesterday = today - datetime.timedelta(days=1)
    if loan_deal is not None:
        services.payment_record(
            actor=finance, deal=loan_deal, amount="30000", method="cash", paid_on=yesterday
        )
    sheet = closing.day_sheet(project, yesterday)
    close = closing.day_submit(
        actor=finance, project=project, day=yesterday, cash_counted=sheet["cash_expected"]
    )
    closing.day_review(actor=manager, close=close, approve=True)
    arrears.arrears_find()
