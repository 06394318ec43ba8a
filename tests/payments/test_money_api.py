"""The money API as the roles that use it: one error shape, restricted reads, every
write through a service."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from loupan.payments.models import LedgerEntry, Receipt, ScheduleItem
from tests.deals.helpers import project, subscribed, user
from tests.testing import api_client, assert_error


@pytest.fixture
def deal(demo):
    return subscribed(offset=0, phone="13730000001")


def test_finance_records_a_payment_and_gets_the_receipt(deal):
    api = api_client(user("finance"))
    response = api.post(
        "/api/v1/payments/",
        {"deal": deal.pk, "amount": "1000.05", "method": "transfer", "bank_reference": "B-1"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["amount"] == "1000.05" and body["amount_upper"] == "壹仟元零伍分"
    assert body["number"].startswith("SJ-CHW-") and len(body["entries"]) == 1


def test_bad_payments_are_refused_in_the_error_shape(deal):
    api = api_client(user("finance"))
    before = LedgerEntry.objects.count()
    assert_error(
        api.post(
            "/api/v1/payments/", {"deal": deal.pk, "amount": 10.5, "method": "cash"}, format="json"
        ),
        400,
        "invalid",
        fields=["amount"],
    )
    assert_error(
        api.post(
            "/api/v1/payments/",
            {"deal": deal.pk, "amount": "99999999", "method": "cash"},
            format="json",
        ),
        400,
        "overpaid",
        fields=["amount"],
    )
    assert_error(
        api.post(
            "/api/v1/payments/", {"deal": 999999, "amount": "1", "method": "cash"}, format="json"
        ),
        404,
        "not_found",
    )
    assert_error(
        api_client(user("consultant")).post(
            "/api/v1/payments/", {"deal": deal.pk, "amount": "1", "method": "cash"}, format="json"
        ),
        403,
        "permission_denied",
    )
    assert LedgerEntry.objects.count() == before


def test_receipts_and_the_ledger_are_restricted(deal):
    mine = api_client(user("consultant")).get("/api/v1/receipts/", {"project": project().pk})
    assert mine.status_code == 200
    numbers = {r["number"] for r in mine.json()["results"]}
    assert Receipt.objects.get(deal=deal).number in numbers
    other = api_client(user("consultant2")).get("/api/v1/receipts/", {"deal": deal.pk})
    assert other.json()["results"] == []
    receipt = Receipt.objects.get(deal=deal)
    assert api_client(user("consultant2")).get(f"/api/v1/receipts/{receipt.pk}/").status_code == 404
    entries = api_client(user("auditor")).get("/api/v1/ledger-entries/", {"deal": deal.pk})
    assert entries.status_code == 200 and len(entries.json()["results"]) == 1


def test_the_schedule_is_read_and_replaced(deal):
    api = api_client(user("finance"))
    body = api.get(f"/api/v1/payment-schedules/{deal.pk}/").json()
    assert Decimal(body["received"]) == Decimal("50000.00")
    assert sum(Decimal(i["amount"]) for i in body["items"]) == deal.total
    response = api.put(
        f"/api/v1/payment-schedules/{deal.pk}/",
        {
            "items": [
                {"kind": "down_payment", "percent": "30", "due_date": "2027-01-01"},
                {"kind": "commercial_loan", "due_date": "2027-03-01"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    assert_error(
        api.put(
            f"/api/v1/payment-schedules/{deal.pk}/",
            {"items": [{"kind": "full", "amount": "1.00", "due_date": "2027-01-01"}]},
            format="json",
        ),
        400,
        "schedule_sum",
    )
    assert (
        api_client(user("consultant2")).get(f"/api/v1/payment-schedules/{deal.pk}/").status_code
        == 404
    )


def test_the_detail_list_and_collection(deal):
    item = ScheduleItem.objects.filter(deal=deal).order_by("seq").first()
    item.due_date = timezone.localdate() - datetime.timedelta(days=3)
    item.save()
    api = api_client(user("manager"))
    rows = api.get("/api/v1/payment-details/", {"project": project().pk, "overdue": "true"}).json()[
        "results"
    ]
    row = next(r for r in rows if r["deal"] == deal.pk)
    assert Decimal(row["overdue"]) == item.amount - Decimal("50000")
    overdue = api.get("/api/v1/collection/", {"project": project().pk}).json()["results"]
    assert any(r["item"] == item.pk and r["days_overdue"] == 3 for r in overdue)
    assert_error(
        api.get("/api/v1/payment-details/", {"project": "abc"}), 400, "invalid", fields=["project"]
    )
    response = api_client(user("consultant")).post(
        "/api/v1/collection-records/",
        {
            "deal": deal.pk,
            "item": item.pk,
            "channel": "sms",
            "contact": "买房人",
            "note": "短信提醒",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    response = api_client(user("consultant")).post(
        "/api/v1/deferrals/",
        {"deal": deal.pk, "item": item.pk, "new_due_date": "2027-06-01", "reason": "资金周转"},
        format="json",
    )
    assert response.status_code == 201 and response.json()["status"] == "pending"


def test_the_day_sheet_by_api(deal):
    finance = api_client(user("finance"))
    today = timezone.localdate().isoformat()
    sheet = finance.get("/api/v1/day-closes/sheet/", {"project": project().pk, "day": today}).json()
    response = finance.post(
        "/api/v1/day-closes/",
        {"project": project().pk, "day": today, "cash_counted": sheet["cash_expected"]},
        format="json",
    )
    assert response.status_code == 201, response.content
    close = response.json()
    assert_error(
        finance.post(f"/api/v1/day-closes/{close['id']}/review/", {"approve": True}, format="json"),
        403,
        "same_reviewer",
    )
    response = api_client(user("manager")).post(
        f"/api/v1/day-closes/{close['id']}/review/", {"approve": True}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "closed"
    assert_error(
        finance.post(
            "/api/v1/payments/", {"deal": deal.pk, "amount": "1", "method": "cash"}, format="json"
        ),
        409,
        "day_closed",
        fields=["paid_on"],
    )
    assert (
        api_client(user("consultant")).get(f"/api/v1/day-closes/{close['id']}/").status_code == 404
    )


def test_receipt_books_and_reversal_by_api(deal):
    finance = api_client(user("finance"))
    response = finance.post(
        "/api/v1/receipt-books/",
        {
            "project": project().pk,
            "cashier": user("finance").pk,
            "first_serial": 7000,
            "last_serial": 7009,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    book = response.json()
    assert (
        finance.post(
            f"/api/v1/receipt-books/{book['id']}/spoil/", {"reason": "污损"}, format="json"
        ).status_code
        == 201
    )
    receipt = Receipt.objects.get(deal=deal)
    response = finance.post(
        f"/api/v1/receipts/{receipt.pk}/reverse/", {"reason": "录错"}, format="json"
    )
    assert response.status_code == 201 and response.json()["kind"] == "reversal"
    response = finance.post(
        f"/api/v1/receipts/{receipt.pk}/invoice/", {"invoice_number": "FP-1"}, format="json"
    )
    assert response.status_code == 200 and response.json()["invoice_number"] == "FP-1"


def test_confirm_deposit_and_refund_take_the_payment_fields(demo):
    from loupan.deals import services as ds
    from tests.deals.helpers import customer_of, free_unit

    buyer = customer_of(phone="13730000009")
    deal = ds.deal_reserve(actor=user("consultant"), unit=free_unit(3), customer=buyer)
    deal = ds.deal_subscribe(
        actor=user("consultant"),
        deal=deal,
        buyers=[(buyer, "100")],
        payment_method="one_off",
        deposit="20000",
    )
    api = api_client(user("finance"))
    assert_error(
        api.post(f"/api/v1/deals/{deal.pk}/confirm-deposit/", {"method": "bitcoin"}, format="json"),
        400,
        "invalid",
        fields=["method"],
    )
    response = api.post(
        f"/api/v1/deals/{deal.pk}/confirm-deposit/",
        {"method": "pos", "bank_reference": "POS-9"},
        format="json",
    )
    assert response.status_code == 200, response.content
    receipt = Receipt.objects.get(deal=deal)
    assert receipt.method == "pos" and receipt.entries.get().bank_reference == "POS-9"


def test_payment_approvals_are_decided_by_api(deal):
    receipt = Receipt.objects.get(deal=deal)
    finance, manager = api_client(user("finance")), api_client(user("manager"))
    request = finance.post(
        f"/api/v1/receipts/{receipt.pk}/reverse/", {"reason": "录错"}, format="json"
    ).json()
    waiting = manager.get(
        "/api/v1/payment-approvals/", {"mine": "pending", "project": project().pk}
    ).json()["results"]
    assert request["id"] in [r["id"] for r in waiting]
    assert_error(
        finance.post(f"/api/v1/payment-approvals/{request['id']}/approve/", {}, format="json"),
        403,
        "permission_denied",
    )
    assert_error(
        manager.post(f"/api/v1/payment-approvals/{request['id']}/reject/", {}, format="json"),
        400,
        "invalid",
        fields=["reason"],
    )
    response = manager.post(
        f"/api/v1/payment-approvals/{request['id']}/approve/", {}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "approved"
    assert LedgerEntry.objects.filter(reverses__receipt=receipt).count() == 1
    assert (
        api_client(user("consultant2"))
        .get(f"/api/v1/payment-approvals/{request['id']}/")
        .status_code
        == 404
    )
