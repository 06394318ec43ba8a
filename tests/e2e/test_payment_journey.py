"""Finance records a payment on a signed deal from the payments menu and prints its
receipt: amount in digits and in capital numerals, the payer's ID number masked
(issue 13, "Done when")."""

from decimal import Decimal

from playwright.sync_api import expect

from loupan.core.money import rmb_upper
from loupan.deals.models import Deal
from loupan.payments.models import Receipt
from tests.e2e.helpers import log_in


def test_finance_records_a_payment_and_prints_the_receipt(page, office):
    project = office["main"]
    deal = (
        Deal.objects.filter(project=project, status="subscribed", payment_method="commercial")
        .order_by("pk")
        .first()
    )
    log_in(page, "finance")
    expect(page.locator("#navgroup-payments")).to_be_visible()
    # finance works on both projects: the main one's list
    page.goto(f"/projects/{project.pk}/payments/")
    expect(page.locator("h1")).to_contain_text("客户交款情况明细表")
    page.click(f"tr[data-deal='{deal.pk}'] a")
    expect(page.locator("#schedule-table")).to_be_visible()
    page.fill("#record-form input[name=amount]", "12345.60")
    page.select_option("#record-form select[name=method]", "pos")
    page.fill("#record-form input[name=bank_reference]", "POS-0001")
    with page.expect_popup() as popup_info:
        page.evaluate("document.getElementById('record-form').target = '_blank'")
        page.click("#record-print")
    receipt_page = popup_info.value
    receipt = Receipt.objects.filter(deal=deal).latest("pk")
    assert receipt.amount == Decimal("12345.60") and receipt.method == "pos"
    expect(receipt_page.locator("#receipt-number")).to_have_text(receipt.number)
    expect(receipt_page.locator("#receipt-upper")).to_have_text(rmb_upper("12345.60"))
    expect(receipt_page.locator("#receipt-amount")).to_contain_text("12,345.60")
    id_number = deal.customer.id_number
    if id_number:
        expect(receipt_page.locator("#receipt-id")).not_to_contain_text(id_number)
    # back on the deal's money page the payment is in the ledger
    page.goto(f"/projects/{project.pk}/payments/deals/{deal.pk}/")
    expect(page.locator("#entry-table")).to_contain_text("12,345.60")
