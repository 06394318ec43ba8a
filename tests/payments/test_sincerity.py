"""Sincerity deposits 诚意金 in the one ledger (issue 16): money held for a customer
before there is a deal — received with a receipt, refunded in full, or carried into the
deal as its deposit — without touching what a deal has received until it is carried in."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from loupan.core.errors import DomainError
from loupan.deals import services as deals
from loupan.deals.models import DealStatus
from loupan.inventory.models import PresalePermit
from loupan.payments import closing, selectors, services
from loupan.payments.models import EntryKind, LedgerEntry, Purpose, Receipt, ScheduleItem
from loupan.payments.schedule import paid_by_item
from loupan.payments.sincerity import (
    sincerity_held,
    sincerity_receive,
    sincerity_refund,
    sincerity_return,
    sincerity_to_deposit,
)
from tests.deals.helpers import customer_of, free_unit, project, subscribed, user

REF = "认筹 一期开盘 0007"


def receive(customer, amount="20000", method="cash", reference=REF, **kw):
    return sincerity_receive(
        actor=user("finance"),
        project=project(),
        customer=customer,
        amount=amount,
        method=method,
        reference=reference,
        **kw,
    )


def pending_deal(buyer, offset, deposit="50000"):
    """A subscription whose deposit finance has not confirmed yet (待确认定金)."""
    deal = deals.deal_reserve(actor=user("consultant"), unit=free_unit(offset), customer=buyer)
    return deals.deal_subscribe(
        actor=user("consultant"),
        deal=deal,
        buyers=[(buyer, "100")],
        payment_method="commercial",
        deposit=deposit,
    )


def test_a_sincerity_deposit_is_received_with_a_receipt_and_held(demo):
    buyer = customer_of(phone="13711110001")
    entry = receive(buyer, "20000.004", payer="买房人之母")
    assert entry.amount == Decimal("20000.00")  # to the fen
    assert entry.deal is None and entry.customer == buyer and entry.reference == REF
    assert (entry.kind, entry.purpose) == (EntryKind.RECEIPT, Purpose.SINCERITY)
    receipt = entry.receipt
    assert receipt.deal is None and receipt.customer == buyer and receipt.reference == REF
    assert receipt.number.startswith("SJ-CHW-") and receipt.amount == Decimal("20000.00")
    assert receipt.payer == "买房人之母"
    assert sincerity_held(buyer, REF) == Decimal("20000.00")
    assert sincerity_held(buyer, "认筹 二期开盘 0001") == Decimal("0.00")


def test_receiving_refuses_bad_input_naming_the_field(demo):
    buyer = customer_of(phone="13711110002")
    other = customer_of("consultant2", phone="13711110003", where=demo["second"])
    for kwargs, field in (
        ({"amount": "0"}, "amount"),
        ({"amount": "-1"}, "amount"),
        ({"method": "mortgage"}, "method"),
        ({"method": "carry"}, "method"),
        ({"method": "transfer"}, "bank_reference"),
        ({"reference": "  "}, "reference"),
        ({"reference": "认" * 41}, "reference"),
        ({"customer": other}, "customer"),
    ):
        before = LedgerEntry.objects.count()
        with pytest.raises(DomainError) as exc:
            receive(**{"customer": buyer, **kwargs})
        assert field in exc.value.fields, kwargs
        assert LedgerEntry.objects.count() == before


def test_no_money_is_taken_before_a_presale_permit(demo):
    buyer = customer_of(phone="13711110004")
    PresalePermit.objects.filter(project=project()).delete()
    with pytest.raises(DomainError) as exc:
        receive(buyer)
    assert exc.value.code == "no_presale_permit"
    assert sincerity_held(buyer, REF) == 0


def test_only_finance_holds_sincerity(demo):
    buyer = customer_of(phone="13711110005")
    for name in ("consultant", "manager", "auditor"):
        with pytest.raises(DomainError) as exc:
            sincerity_receive(
                actor=user(name),
                project=project(),
                customer=buyer,
                amount="100",
                method="cash",
                reference=REF,
            )
        assert exc.value.code == "permission_denied"
    receive(buyer, "100")
    with pytest.raises(DomainError) as exc:
        sincerity_refund(actor=user("consultant"), customer=buyer, reference=REF, method="cash")
    assert exc.value.code == "permission_denied"
    deal = pending_deal(buyer, offset=20)
    with pytest.raises(DomainError) as exc:
        sincerity_to_deposit(actor=user("consultant"), customer=buyer, reference=REF, deal=deal)
    assert exc.value.code == "permission_denied"
    assert sincerity_held(buyer, REF) == Decimal("100.00")


def test_a_refund_pays_back_in_full_once(demo):
    buyer = customer_of(phone="13711110006")
    receive(buyer, "15000")
    receive(buyer, "5000", "transfer", bank_reference="BANK-S1")
    refund = sincerity_refund(
        actor=user("finance"), customer=buyer, reference=REF, method="transfer"
    )
    assert (refund.kind, refund.purpose, refund.amount) == (
        EntryKind.REFUND,
        Purpose.SINCERITY,
        Decimal("-20000.00"),
    )
    assert refund.deal is None and refund.customer == buyer
    assert sincerity_held(buyer, REF) == Decimal("0.00")
    with pytest.raises(DomainError) as exc:
        sincerity_refund(actor=user("finance"), customer=buyer, reference=REF, method="cash")
    assert exc.value.code == "nothing_held" and exc.value.status == 409
    assert "reference" in exc.value.fields


def test_held_money_never_counts_for_a_deal_until_carried_in(demo):
    buyer = customer_of(phone="13711110007")
    deal = pending_deal(buyer, offset=21)
    receive(buyer, "20000")
    assert services.received_of(deal) == Decimal("0.00")
    row = selectors.with_money(type(deal).objects.filter(pk=deal.pk)).get()
    assert row.received == Decimal("0.00")


def test_carried_into_a_pending_deal_the_deposit_receipt_is_for_the_rest(demo):
    buyer = customer_of(phone="13711110008")
    deal = pending_deal(buyer, offset=22, deposit="50000")
    receive(buyer, "20000")
    out, into = sincerity_to_deposit(
        actor=user("finance"), customer=buyer, reference=REF, deal=deal
    )
    assert (out.kind, out.purpose, out.amount, out.deal) == (
        EntryKind.CARRY,
        Purpose.SINCERITY,
        Decimal("-20000.00"),
        None,
    )
    assert (into.kind, into.purpose, into.amount, into.deal) == (
        EntryKind.CARRY,
        Purpose.DEPOSIT,
        Decimal("20000.00"),
        deal,
    )
    assert into.counterpart == out and into.customer == buyer
    assert sincerity_held(buyer, REF) == Decimal("0.00")
    assert services.received_of(deal) == Decimal("20000.00")
    # nothing held any more: nothing to carry
    assert (
        sincerity_to_deposit(actor=user("finance"), customer=buyer, reference=REF, deal=deal)
        is None
    )
    # finance confirms the deposit: the receipt is for the rest, the whole deposit sits on
    # the first item of the schedule
    deals.deal_confirm_deposit(actor=user("finance"), deal=deal)
    deal.refresh_from_db()
    assert deal.status == DealStatus.SUBSCRIBED
    receipt = Receipt.objects.get(deal=deal)
    assert receipt.amount == Decimal("30000.00")
    first = ScheduleItem.objects.filter(deal=deal).order_by("seq").first()
    assert paid_by_item(deal)[first.pk] == Decimal("50000.00")
    assert services.received_of(deal) == Decimal("50000.00")
    assert services.carried_deposit(deal) == []


def test_carried_into_a_subscribed_deal_the_schedule_takes_it(demo):
    deal = subscribed(offset=23, phone="13711110009")
    buyer = deal.customer
    before = services.received_of(deal)
    paid_before = sum(paid_by_item(deal).values())
    receive(buyer, "20000")
    out, into = sincerity_to_deposit(
        actor=user("finance"), customer=buyer, reference=REF, deal=deal
    )
    assert into.counterpart == out
    assert services.received_of(deal) == before + Decimal("20000.00")
    assert sum(paid_by_item(deal).values()) == paid_before + Decimal("20000.00")
    assert sincerity_held(buyer, REF) == Decimal("0.00")
    row = selectors.with_money(type(deal).objects.filter(pk=deal.pk)).get()
    assert row.received == before + Decimal("20000.00")


def test_only_the_buyer_carries_into_a_live_deal(demo):
    deal = subscribed(offset=24, phone="13711110010")
    stranger = customer_of(phone="13711110011")
    receive(stranger, "1000")
    with pytest.raises(DomainError) as exc:
        sincerity_to_deposit(actor=user("finance"), customer=stranger, reference=REF, deal=deal)
    assert "customer" in exc.value.fields
    assert sincerity_held(stranger, REF) == Decimal("1000.00")


def test_a_deal_that_never_took_effect_gives_the_sincerity_back(demo):
    buyer = customer_of(phone="13711110012")
    deal = pending_deal(buyer, offset=25)
    receive(buyer, "20000")
    sincerity_to_deposit(actor=user("finance"), customer=buyer, reference=REF, deal=deal)
    with pytest.raises(DomainError):
        sincerity_return(actor=user("consultant"), deal=deal)
    deals.deal_release(actor=user("consultant"), deal=deal, reason="客户改主意")
    ((out, back),) = sincerity_return(actor=user("finance"), deal=deal)
    assert back.counterpart == out and back.deal is None and back.reference == REF
    assert services.received_of(deal) == Decimal("0.00")
    assert sincerity_held(buyer, REF) == Decimal("20000.00")
    assert sincerity_return(actor=user("finance"), deal=deal) == []
    sincerity_refund(actor=user("finance"), customer=buyer, reference=REF, method="cash")
    assert sincerity_held(buyer, REF) == Decimal("0.00")


def test_a_consultant_sees_the_sincerity_of_their_own_customers_only(demo):
    mine = customer_of(phone="13711110013")
    theirs = customer_of("consultant2", phone="13711110014")
    e1, e2 = receive(mine, "100"), receive(theirs, "200")
    for name, sees in (("consultant", {e1.pk}), ("consultant2", {e2.pk})):
        visible = set(
            selectors.entries_for(user(name), project())
            .filter(pk__in=[e1.pk, e2.pk])
            .values_list("pk", flat=True)
        )
        assert visible == sees, name
        receipts = set(
            selectors.receipts_for(user(name), project())
            .filter(pk__in=[e1.receipt_id, e2.receipt_id])
            .values_list("pk", flat=True)
        )
        assert receipts == {LedgerEntry.objects.get(pk=pk).receipt_id for pk in sees}
    # the project's view sees both; the own-deals rule still holds for deal money
    assert (
        selectors.entries_for(user("auditor"), project()).filter(pk__in=[e1.pk, e2.pk]).count() == 2
    )
    deal = subscribed(offset=26, phone="13711110015")
    assert selectors.entries_for(user("consultant"), project()).filter(deal=deal).exists()
    assert not selectors.entries_for(user("consultant2"), project()).filter(deal=deal).exists()


def test_the_day_sheet_counts_sincerity_received_and_refunded(demo):
    today = timezone.localdate()
    before = closing.day_sheet(project(), today)
    buyer = customer_of(phone="13711110016")
    receive(buyer, "20000")
    after = closing.day_sheet(project(), today)
    assert after["total"] == before["total"] + Decimal("20000.00")
    assert after["cash_expected"] == before["cash_expected"] + Decimal("20000.00")
    # a carry is no cash: the sheet does not move
    deal = pending_deal(buyer, offset=27)
    sincerity_to_deposit(actor=user("finance"), customer=buyer, reference=REF, deal=deal)
    assert closing.day_sheet(project(), today)["total"] == after["total"]
    other = customer_of(phone="13711110017")
    receive(other, "3000")
    sincerity_refund(actor=user("finance"), customer=other, reference=REF, method="cash")
    assert closing.day_sheet(project(), today)["cash_expected"] == after["cash_expected"]


def test_the_database_refuses_to_change_a_sincerity_entry(demo):
    buyer = customer_of(phone="13711110018")
    entry = receive(buyer, "20000")
    with pytest.raises((IntegrityError, DatabaseError)), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE payments_ledgerentry SET amount = 1 WHERE id = %s", [entry.pk])
    if connection.vendor == "postgresql":
        with pytest.raises(DatabaseError), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM payments_ledgerentry WHERE id = %s", [entry.pk])
    assert LedgerEntry.objects.get(pk=entry.pk).amount == Decimal("20000.00")


def test_the_database_refuses_an_entry_with_neither_deal_nor_customer(demo):
    buyer = customer_of(phone="13711110019")
    entry = receive(buyer, "100")
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            project=project(),
            kind=EntryKind.RECEIPT,
            purpose=Purpose.PRICE,
            method="cash",
            amount=Decimal("1"),
            paid_on=entry.paid_on,
            created_by=user("finance"),
        )
    # held money names the customer and what it is held for
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerEntry.objects.create(
            project=project(),
            customer=buyer,
            kind=EntryKind.RECEIPT,
            purpose=Purpose.SINCERITY,
            method="cash",
            amount=Decimal("1"),
            paid_on=entry.paid_on,
            created_by=user("finance"),
        )


def test_a_sincerity_receipt_prints_and_lists_with_its_reference(demo, login, api):
    buyer = customer_of(phone="13711110020")
    entry = receive(buyer, "20000")
    client = login("finance")
    base = f"/projects/{project().pk}/payments/"
    receipt = entry.receipt
    for page in (
        f"receipts/{receipt.pk}/",
        f"receipts/{receipt.pk}/print/",
        "receipts/",
        "ledger/",
        f"days/{entry.paid_on:%Y-%m-%d}/",
    ):
        response = client.get(base + page)
        assert response.status_code == 200, page
        assert REF in response.content.decode(), page
    data = api("finance").get(f"/api/v1/receipts/{receipt.pk}/").json()
    assert (data["deal"], data["unit"], data["reference"]) == (None, "", REF)
    assert data["customer"] == buyer.pk and data["entries"][0]["purpose"] == "sincerity"


def test_a_sincerity_receipt_is_reversed_only_while_its_money_is_held(demo):
    from loupan.approvals import services as approvals

    buyer = customer_of(phone="13711110021")
    entry = receive(buyer, "20000")
    request = services.reversal_request(
        actor=user("finance"), receipt=entry.receipt, reason="录错客户"
    )
    assert request.payload["deal"] == REF
    approvals.approval_decide(actor=user("manager"), request=request, approve=True)
    red = LedgerEntry.objects.get(reverses=entry)
    assert (red.deal, red.customer, red.reference, red.amount) == (
        None,
        buyer,
        REF,
        Decimal("-20000.00"),
    )
    assert sincerity_held(buyer, REF) == Decimal("0.00")
    # refunded money has left: its receipt can no longer be reversed
    other = customer_of(phone="13711110022")
    paid = receive(other, "500")
    sincerity_refund(actor=user("finance"), customer=other, reference=REF, method="cash")
    with pytest.raises(DomainError) as exc:
        services.reversal_request(actor=user("finance"), receipt=paid.receipt, reason="录错")
    assert exc.value.code == "nothing_held"
