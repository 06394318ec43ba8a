"""The ledger, the schedule, receipts, reversals, refunds and carries (issue 13 "One
ledger", "Schedules and receipts"): services, their refusals, and the database's own
guards."""

import datetime
from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st

from loupan.approvals import services as approvals
from loupan.core.errors import DomainError
from loupan.deals import changes
from loupan.deals.models import Deal, DealStatus
from loupan.payments import closing, services
from loupan.payments.models import (
    EntryKind,
    LedgerEntry,
    PaymentSettings,
    Purpose,
    Receipt,
    ReceiptBook,
    ScheduleItem,
)
from loupan.payments.schedule import plan, schedule_set
from tests.deals.helpers import free_unit, project, subscribed, user
from tests.testing import race

TODAY = datetime.date(2026, 12, 6)


def record(deal, amount, method="cash", **kw):
    return services.payment_record(
        actor=user("finance"), deal=deal, amount=amount, method=method, **kw
    )


# --- schedule ---------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    total=st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2),
    method=st.sampled_from(["one_off", "instalments", "commercial", "provident", "combined"]),
    down=st.one_of(st.none(), st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2)),
)
def test_a_schedule_sums_to_the_total_to_the_fen(total, method, down):
    items = plan(
        method=method,
        total=total,
        down_payment=down,
        start=TODAY,
        settings=PaymentSettings(min_down_pct_first=Decimal("15")),
    )
    assert sum(i.amount for i in items) == total
    assert all(i.amount >= 0 and i.amount == i.amount.quantize(Decimal("0.01")) for i in items)
    if method in ("commercial", "provident", "combined") and total:
        assert items[0].amount >= (total * Decimal("0.15")).quantize(Decimal("0.01"))


def test_the_confirmed_deposit_is_the_first_receipt_against_the_first_item(demo):
    deal = subscribed(deposit="50000")
    items = list(ScheduleItem.objects.filter(deal=deal).order_by("seq"))
    assert [i.kind for i in items] == ["down_payment", "commercial_loan"]
    assert sum(i.amount for i in items) == deal.total
    assert items[0].amount >= (deal.total * Decimal("0.15")).quantize(Decimal("0.01"))
    receipt = Receipt.objects.get(deal=deal)
    assert receipt.number.startswith("SJ-CHW-") and receipt.amount == Decimal("50000.00")
    entry = receipt.entries.get()
    assert entry.item == items[0] and entry.purpose == Purpose.DEPOSIT
    assert services.received_of(deal) == Decimal("50000.00")
    assert changes.received_of(deal) == Decimal("50000.00")


def test_finance_sets_instalments_by_percentage_and_the_sum_must_hold(demo):
    deal = subscribed(offset=1, phone="13700003333")
    with pytest.raises(DomainError) as exc:
        schedule_set(
            actor=user("finance"),
            deal=deal,
            rows=[
                {"kind": "down_payment", "percent": "50", "due_date": "2027-01-01"},
                {"kind": "instalment", "amount": "1.00", "due_date": "2027-06-01"},
            ],
        )
    assert exc.value.code == "schedule_sum"
    items = schedule_set(
        actor=user("finance"),
        deal=deal,
        rows=[
            {"kind": "down_payment", "percent": "30", "due_date": "2027-01-01"},
            {"kind": "instalment", "percent": "30", "due_date": "2027-06-01"},
            {"kind": "instalment", "due_date": "2027-12-01"},
        ],
    )
    assert sum(i.amount for i in items) == deal.total
    # the first item holds the deposit: it may not fall below it
    with pytest.raises(DomainError) as exc:
        schedule_set(
            actor=user("finance"),
            deal=deal,
            rows=[
                {"kind": "down_payment", "amount": "1.00", "due_date": "2027-01-01"},
                {"kind": "instalment", "due_date": "2027-06-01"},
            ],
        )
    assert exc.value.fields.keys() == {"items[0].amount"}


def test_a_loan_schedule_keeps_the_minimum_down_payment(demo):
    deal = subscribed(offset=2, phone="13700004444")
    with pytest.raises(DomainError) as exc:
        schedule_set(
            actor=user("finance"),
            deal=deal,
            rows=[
                {"kind": "down_payment", "percent": "10", "due_date": "2027-01-01"},
                {"kind": "commercial_loan", "due_date": "2027-06-01"},
            ],
        )
    assert exc.value.code == "down_payment_too_low"


def test_only_finance_edits_a_schedule(demo):
    deal = subscribed(offset=3, phone="13700005555")
    with pytest.raises(DomainError) as exc:
        schedule_set(
            actor=user("consultant"), deal=deal, rows=[{"kind": "full", "due_date": "2027-01-01"}]
        )
    assert exc.value.code == "permission_denied"


# --- receipts -------------------------------------------------------------------------------


def test_a_payment_goes_to_the_oldest_item_and_never_beyond_what_is_owed(demo):
    deal = subscribed(offset=4, phone="13700006666")
    first, loan = ScheduleItem.objects.filter(deal=deal).order_by("seq")
    owed = first.amount - Decimal("50000")
    receipt = record(deal, owed, "transfer", bank_reference="BANK-1")
    assert receipt.entries.get().item == first
    with pytest.raises(DomainError) as exc:
        record(deal, "1.00")
    assert exc.value.code == "overpaid" and "amount" in exc.value.fields
    # a disbursement goes to the loan
    r = record(deal, loan.amount, "mortgage", bank_reference="LOAN-1", bank="工商银行")
    assert r.entries.get().item == loan
    assert services.received_of(deal) == deal.total


def test_recording_refuses_bad_input_naming_the_field(demo):
    deal = subscribed(offset=5, phone="13700007777")
    for kwargs, field in (
        ({"amount": "0"}, "amount"),
        ({"amount": "-5"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "100", "method": "bitcoin"}, "method"),
        ({"amount": "100", "method": "transfer"}, "bank_reference"),
        (
            {"amount": "100", "paid_on": timezone.localdate() + datetime.timedelta(days=1)},
            "paid_on",
        ),
    ):
        before = LedgerEntry.objects.count()
        with pytest.raises(DomainError) as exc:
            services.payment_record(
                actor=user("finance"), deal=deal, **{"method": "cash", **kwargs}
            )
        assert field in exc.value.fields, kwargs
        assert LedgerEntry.objects.count() == before


def test_only_finance_records_money(demo):
    deal = subscribed(offset=6, phone="13700008888")
    for name in ("consultant", "manager", "auditor"):
        with pytest.raises(DomainError) as exc:
            record_as = services.payment_record
            record_as(actor=user(name), deal=deal, amount="100", method="cash")
        assert exc.value.code == "permission_denied"


def test_a_receipt_takes_the_next_serial_of_the_cashiers_book(demo):
    deal = subscribed(offset=7, phone="13700009999")
    # the demo's book used up
    ReceiptBook.objects.filter(project=project()).update(next_serial=F("last_serial") + 1)
    book = services.book_issue(
        actor=user("finance"),
        project=project(),
        cashier=user("finance"),
        first_serial=1000,
        last_serial=1001,
    )
    r1 = record(deal, "10")
    spoiled = services.form_spoil(actor=user("finance"), book=book, reason="打印错位")
    r2 = record(deal, "10")
    assert (r1.form_serial, spoiled.serial) == (1000, 1001)
    assert r2.form_serial is None  # the book is used up
    with pytest.raises(DomainError) as exc:
        services.book_issue(
            actor=user("finance"),
            project=project(),
            cashier=user("finance"),
            first_serial=990,
            last_serial=1000,
        )
    assert exc.value.code == "book_overlap"
    assert ReceiptBook.objects.get(pk=book.pk).left == 0


def test_the_invoice_is_recorded_against_the_receipt(demo):
    deal = subscribed(offset=8, phone="13700001212")
    receipt = Receipt.objects.get(deal=deal)
    services.invoice_record(
        actor=user("finance"), receipt=receipt, invoice_number="04400123", invoice_date=None
    )
    receipt.refresh_from_db()
    assert receipt.invoice_number == "04400123" and receipt.invoice_date == timezone.localdate()
    with pytest.raises(DomainError) as exc:
        services.invoice_record(actor=user("consultant"), receipt=receipt, invoice_number="1")
    assert exc.value.code == "permission_denied"


# --- the ledger is append-only -----------------------------------------------------------------


def test_the_database_refuses_to_change_an_entry(demo):
    deal = subscribed(offset=9, phone="13700001313")
    entry = LedgerEntry.objects.filter(deal=deal).first()
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE payments_ledgerentry SET amount = 1 WHERE id = %s", [entry.pk])
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM payments_ledgerentry WHERE id = %s", [entry.pk])
    assert LedgerEntry.objects.get(pk=entry.pk).amount == entry.amount


def test_a_reversal_is_approved_and_both_entries_stay(demo):
    deal = subscribed(offset=10, phone="13700001414")
    receipt = record(deal, "1000")
    with pytest.raises(DomainError) as exc:
        services.reversal_request(actor=user("finance"), receipt=receipt, reason="")
    assert exc.value.fields.keys() == {"reason"}
    request = services.reversal_request(actor=user("finance"), receipt=receipt, reason="金额录错")
    assert services.received_of(deal) == Decimal("51000.00")  # nothing until approved
    with pytest.raises(DomainError):
        approvals.approval_decide(actor=user("finance"), request=request, approve=True)
    approvals.approval_decide(actor=user("manager"), request=request, approve=True)
    red = LedgerEntry.objects.get(reverses__receipt=receipt)
    assert red.kind == EntryKind.REVERSAL and red.amount == Decimal("-1000.00")
    assert LedgerEntry.objects.filter(receipt=receipt).count() == 2
    assert services.received_of(deal) == Decimal("50000.00")
    assert services.receipt_mark(receipt) == "作废"  # reversed on its own day
    with pytest.raises(DomainError) as exc:
        services.reversal_request(actor=user("finance"), receipt=receipt, reason="再冲")
    assert exc.value.code == "already_reversed"


def test_a_rejected_reversal_changes_nothing(demo):
    deal = subscribed(offset=11, phone="13700001515")
    receipt = record(deal, "1000")
    request = services.reversal_request(actor=user("finance"), receipt=receipt, reason="录错")
    approvals.approval_decide(actor=user("manager"), request=request, approve=False, reason="无误")
    assert not LedgerEntry.objects.filter(kind=EntryKind.REVERSAL, deal=deal).exists()


# --- refunds and exchanges -------------------------------------------------------------------


def test_a_cancellation_refunds_what_was_really_received_through_the_ledger(demo):
    deal = subscribed(offset=12, phone="13700001616")
    record(deal, "20000")
    request = changes.cancel_request(
        actor=user("manager"),
        deal=deal,
        cancel_reason="funds",
        detail="资金困难",
        deposit_treatment="forfeit",
    )
    assert request.payload["received"] == "70000.00" and request.payload["refund"] == "20000.00"
    changes.cancellation_refund_paid(
        actor=user("finance"),
        deal=Deal.objects.get(pk=deal.pk),
        method="transfer",
        bank_reference="R-1",
    )
    refund = LedgerEntry.objects.get(deal=deal, kind=EntryKind.REFUND)
    assert refund.amount == Decimal("-20000.00") and refund.bank_reference == "R-1"
    assert services.received_of(deal) == Decimal("50000.00")  # the forfeited deposit


def test_an_exchange_carries_the_receipts_to_the_new_deal(demo):
    deal = subscribed(offset=13, phone="13700001717")
    record(deal, "10000")
    target = free_unit(30)
    changes.exchange_request(actor=user("manager"), deal=deal, unit=target, reason="换大户型")
    new = Deal.objects.get(exchanged_from=deal)
    assert services.received_of(deal) == Decimal("0.00")
    assert services.received_of(new) == Decimal("60000.00")
    assert ScheduleItem.objects.filter(deal=new).exists()
    carry_in = LedgerEntry.objects.filter(deal=new, kind=EntryKind.CARRY)
    assert sum(e.amount for e in carry_in) == Decimal("60000.00")
    assert new.status == DealStatus.SUBSCRIBED


# --- the closed day -------------------------------------------------------------------------


def test_a_closed_day_takes_no_entry_not_even_by_hand(demo):
    deal = subscribed(offset=14, phone="13700001818")
    today = timezone.localdate()
    sheet = closing.day_sheet(project(), today)
    close = closing.day_submit(
        actor=user("finance"), project=project(), day=today, cash_counted=sheet["cash_expected"]
    )
    with pytest.raises(DomainError) as exc:
        record(deal, "100")
    assert exc.value.code == "day_closed" and "paid_on" in exc.value.fields
    entry = LedgerEntry.objects.filter(deal=deal).first()
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO payments_ledgerentry (project_id, deal_id, kind, purpose, method, amount,"
                " paid_on, payer, bank, bank_reference, reason, created_by_id, created_at)"
                " VALUES (%s, %s, 'receipt', 'price', 'cash', 5, %s, '', '', '', '', %s, %s)",
                [entry.project_id, deal.pk, today, user("finance").pk, timezone.now()],
            )
    # the same person may not confirm; the manager does
    with pytest.raises(DomainError) as exc:
        closing.day_review(actor=user("finance"), close=close, approve=True)
    assert exc.value.code == "same_reviewer"
    closing.day_review(actor=user("manager"), close=close, approve=True)
    request = closing.day_reopen_request(actor=user("finance"), close=close, reason="补记银行回单")
    approvals.approval_decide(actor=user("manager"), request=request, approve=True)
    assert record(deal, "100").amount == Decimal("100.00")


def test_the_cash_counted_must_match(demo):
    deal = subscribed(offset=15, phone="13700001919")
    record(deal, "300", "cash")
    with pytest.raises(DomainError) as exc:
        closing.day_submit(
            actor=user("finance"), project=project(), day=timezone.localdate(), cash_counted="299"
        )
    assert exc.value.code == "cash_mismatch" and "cash_counted" in exc.value.fields
    sheet = closing.day_sheet(project(), timezone.localdate())
    assert sheet["cash_expected"] >= Decimal("300")


# --- concurrency (PostgreSQL) ----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_receipts_get_unique_gapless_numbers(demo):
    assert connection.vendor == "postgresql"
    deal = subscribed(offset=16, phone="13700002020")
    start = Receipt.objects.filter(project=project()).count()

    def work(i):
        services.payment_record(
            actor=user("finance"), deal=Deal.objects.get(pk=deal.pk), amount="10", method="cash"
        )

    assert race(16, work) == ["ok"] * 16
    numbers = list(Receipt.objects.filter(project=project()).values_list("number", flat=True))
    serials = sorted(int(n.rsplit("-", 1)[1]) for n in numbers)
    assert serials == list(range(1, start + 17))
    assert len(set(numbers)) == len(numbers)


def test_a_reversed_disbursement_sends_the_mortgage_back_to_approved(demo):
    from loupan.payments.models import Mortgage

    mortgage = Mortgage.objects.get(project=project(), stage="disbursed")
    receipt = Receipt.objects.filter(deal=mortgage.deal, method="mortgage").latest("pk")
    request = services.reversal_request(actor=user("finance"), receipt=receipt, reason="银行退回")
    approvals.approval_decide(actor=user("manager"), request=request, approve=True)
    mortgage.refresh_from_db()
    assert mortgage.stage == "approved" and mortgage.disbursed_on is None
    assert mortgage.events.last().note.endswith("已红冲")
