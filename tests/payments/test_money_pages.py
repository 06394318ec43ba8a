"""The money pages through their real URLs, as the roles that use them."""

import datetime
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from loupan.payments import services
from loupan.payments.models import DayClose, LedgerEntry, Receipt, ReceiptBook, ScheduleItem
from tests.deals.helpers import client_of, project, subscribed, user


def url(tail=""):
    return f"/projects/{project().pk}/payments/{tail}"


@pytest.fixture
def deal(demo):
    return subscribed(offset=0, phone="13720000001")


LISTS = ["", "receipts/", "ledger/", "collection/", "deferrals/"]


@pytest.mark.parametrize("tail", LISTS)
def test_the_lists_open_for_finance_and_the_consultant(deal, tail):
    for name in ("finance", "consultant", "manager", "auditor"):
        response = client_of(name).get(url(tail))
        assert response.status_code == 200, (name, tail)


@pytest.mark.parametrize("tail", [*LISTS, "days/", "books/"])
def test_the_lists_are_404_for_roles_without_money(deal, tail):
    assert client_of("planner").get(url(tail)).status_code == 404


def test_finance_only_pages(deal):
    assert client_of("finance").get(url("days/")).status_code == 200
    assert client_of("finance").get(url("books/")).status_code == 200
    assert client_of("consultant").get(url("days/")).status_code == 404


def test_the_detail_list_shows_received_and_overdue_by_method(deal):
    body = client_of("finance").get(url()).content.decode()
    assert deal.number in body and "商业贷款" in body
    # the consultant's own deals only
    other = subscribed(offset=1, phone="13720000002")
    other.consultant = user("consultant2")
    other.save()
    body = client_of("consultant").get(url()).content.decode()
    assert deal.number in body and other.number not in body
    body = client_of("finance").get(url() + "?print=1").content.decode()
    assert "客户交款情况明细表" in body and deal.number in body


def test_the_detail_list_exports_for_finance_only(deal):
    response = client_of("finance").post(url() + "?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    response = client_of("consultant").post(url() + "?format=xlsx")
    assert response.status_code in (302, 403)


def test_the_detail_list_query_count_does_not_grow_with_rows(deal, django_assert_max_num_queries):
    for i in range(1, 4):
        subscribed(offset=i, phone=f"1372000100{i}")
    client = client_of("finance")
    client.get(url())
    with django_assert_max_num_queries(12):
        assert client.get(url()).status_code == 200


def test_finance_records_a_payment_and_prints_the_receipt(deal):
    item = ScheduleItem.objects.filter(deal=deal).order_by("seq").first()
    client = client_of("finance")
    page = client.get(url(f"deals/{deal.pk}/"))
    assert page.status_code == 200 and "record-form" in page.content.decode()
    response = client.post(
        url(f"deals/{deal.pk}/record/"),
        {"amount": "12345.60", "method": "cash", "payer": "买房人", "print": "1"},
    )
    receipt = Receipt.objects.filter(deal=deal).latest("pk")
    assert response.status_code == 302 and response["Location"].endswith(
        f"receipts/{receipt.pk}/print/"
    )
    body = client.get(response["Location"]).content.decode()
    assert "壹万贰仟叁佰肆拾伍元陆角整" in body and receipt.number in body
    assert deal.customer.id_number[-4:] in body or not deal.customer.id_number
    assert LedgerEntry.objects.get(receipt=receipt).item == item


def test_a_refused_payment_shows_the_reason_next_to_the_field(deal):
    client = client_of("finance")
    before = LedgerEntry.objects.count()
    response = client.post(
        url(f"deals/{deal.pk}/record/"), {"amount": "999999999", "method": "cash"}
    )
    assert response.status_code == 400
    assert "超过" in response.content.decode()
    assert LedgerEntry.objects.count() == before


def test_the_consultant_cannot_record_but_follows_up(deal):
    client = client_of("consultant")
    page = client.get(url(f"deals/{deal.pk}/")).content.decode()
    assert "record-form" not in page and "collect-form" in page
    response = client.post(url(f"deals/{deal.pk}/record/"), {"amount": "1", "method": "cash"})
    assert response.status_code == 403
    response = client.post(
        url(f"deals/{deal.pk}/collect/"),
        {"channel": "phone", "contact": "买房人", "note": "已提醒"},
    )
    assert response.status_code == 302
    assert deal.collections.count() == 1
    assert client_of("consultant2").get(url(f"deals/{deal.pk}/")).status_code == 404


def test_a_deferral_request_from_the_page(deal):
    item = ScheduleItem.objects.filter(deal=deal).order_by("seq").first()
    new = (item.due_date + datetime.timedelta(days=20)).isoformat()
    response = client_of("consultant").post(
        url(f"deals/{deal.pk}/defer/"), {"item": item.pk, "new_due_date": new, "reason": "资金周转"}
    )
    assert response.status_code == 302
    assert "资金周转" in client_of("manager").get(url("deferrals/")).content.decode()


def test_finance_edits_the_schedule_page(deal):
    client = client_of("finance")
    assert client.get(url(f"deals/{deal.pk}/schedule/")).status_code == 200
    response = client.post(
        url(f"deals/{deal.pk}/schedule/"),
        {
            "kind": ["down_payment", "commercial_loan"],
            "name": ["首付款", "商业贷款"],
            "amount": [str(deal.total * Decimal("0.3")), ""],
            "percent": ["", ""],
            "due_date": ["2027-01-10", "2027-03-01"],
        },
    )
    assert response.status_code == 302
    assert ScheduleItem.objects.filter(deal=deal, live=True).count() == 2
    assert client_of("consultant").get(url(f"deals/{deal.pk}/schedule/")).status_code == 403


def test_a_receipt_page_asks_for_reversal_and_records_the_invoice(deal):
    receipt = Receipt.objects.get(deal=deal)
    client = client_of("finance")
    assert client.get(url(f"receipts/{receipt.pk}/")).status_code == 200
    response = client.post(url(f"receipts/{receipt.pk}/reverse/"), {"reason": "交款人写错"})
    assert response.status_code == 302
    response = client.post(url(f"receipts/{receipt.pk}/invoice/"), {"invoice_number": "NO.123"})
    assert response.status_code == 302
    assert Receipt.objects.get(pk=receipt.pk).invoice_number == "NO.123"
    assert (
        client_of("consultant")
        .post(url(f"receipts/{receipt.pk}/invoice/"), {"invoice_number": "1"})
        .status_code
        == 403
    )


def test_the_day_is_submitted_and_confirmed_by_a_second_person(deal):
    today = timezone.localdate().isoformat()
    sheet = client_of("finance").get(url(f"days/{today}/")).content.decode()
    assert "submit-form" in sheet
    expected = LedgerEntry.objects.filter(project=project(), paid_on=today, method="cash")
    cash = sum((e.amount for e in expected), Decimal("0"))
    response = client_of("finance").post(url(f"days/{today}/submit/"), {"cash_counted": str(cash)})
    assert response.status_code == 302
    assert "confirm-close" not in client_of("finance").get(url(f"days/{today}/")).content.decode()
    response = client_of("manager").post(url(f"days/{today}/confirm/"))
    assert response.status_code == 302
    assert DayClose.objects.get(project=project(), day=today).status == "closed"


def test_receipt_books_from_the_page(deal):
    ReceiptBook.objects.filter(project=project()).update(next_serial=F("last_serial") + 1)
    client = client_of("finance")
    response = client.post(
        url("books/issue/"),
        {"cashier": user("finance").pk, "first_serial": "500", "last_serial": "549"},
    )
    assert response.status_code == 302
    book = ReceiptBook.objects.get(first_serial=500)
    response = client.post(url(f"books/{book.pk}/spoil/"), {"reason": "撕坏"})
    assert response.status_code == 302
    assert ReceiptBook.objects.get(pk=book.pk).next_serial == 501
    services.payment_record(actor=user("finance"), deal=deal, amount="10", method="cash")
    assert Receipt.objects.filter(deal=deal).latest("pk").form_serial == 501


def _collection_card(body: str) -> str:
    return body.split('id="home-collection"')[1].split("</div></div>")[0]


def test_the_consultants_home_page_lists_their_overdue_buyers(deal):
    item = ScheduleItem.objects.filter(deal=deal).order_by("seq").first()
    item.due_date = timezone.localdate() - datetime.timedelta(days=4)
    item.save()
    body = client_of("consultant").get("/").content.decode()
    assert deal.unit.number in _collection_card(body)
    assert deal.unit.number not in _collection_card(
        client_of("consultant2").get("/").content.decode()
    )
    assert "nav-payments" in body
    assert "nav-payments" not in client_of("planner").get("/").content.decode()


def test_a_payment_to_a_chosen_item(deal):
    loan = ScheduleItem.objects.filter(deal=deal).order_by("seq").last()
    response = client_of("finance").post(
        url(f"deals/{deal.pk}/record/"),
        {"amount": "1000.00", "method": "mortgage", "bank_reference": "L-1", "item": loan.pk},
    )
    assert response.status_code == 302
    assert LedgerEntry.objects.filter(deal=deal, item=loan).get().amount == Decimal("1000.00")


@pytest.mark.parametrize("tail", ["receipts/", "ledger/", "collection/", "deferrals/"])
def test_the_money_lists_do_not_grow_queries_with_rows(deal, tail, django_assert_max_num_queries):
    for i in range(1, 4):
        extra = subscribed(offset=i, phone=f"1372000200{i}")
        services.payment_record(actor=user("finance"), deal=extra, amount="10", method="cash")
    client = client_of("finance")
    client.get(url(tail))
    with django_assert_max_num_queries(12):
        assert client.get(url(tail)).status_code == 200
