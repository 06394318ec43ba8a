"""A consultant reserves a unit from the board and subscribes it with a discount (the
price preview follows the ticked discount), finance confirms the deposit, and the board
shows the unit as 认购 (issue Deals, "Done when")."""

from decimal import Decimal

from playwright.sync_api import expect

from loupan.customers.models import Customer
from loupan.deals.models import Deal, DealStatus, DiscountType
from loupan.inventory.models import Unit, UnitStatus
from tests.e2e.helpers import log_in


def test_reserve_subscribe_confirm_and_the_board_turns_subscribed(browser, live_server, office):
    project = office["main"]
    building = project.buildings.get(name="2栋")
    unit = (
        Unit.objects.filter(
            building=building, status=UnitStatus.AVAILABLE, sellable=True, use="residential"
        )
        .exclude(list_price=None)
        .order_by("-floor", "room")
        .first()
    )
    customer = (
        Customer.objects.filter(project=project, owner__username="consultant", in_pool=False)
        .order_by("pk")
        .first()
    )
    one_off = DiscountType.objects.get(project=project, name="一次性付款")
    expected = (unit.list_price * Decimal("0.99")).quantize(Decimal("0.01"))
    board = f"/projects/{project.pk}/board/?building={building.pk}"

    consultant = browser.new_context(
        base_url=live_server.url, viewport={"width": 1280, "height": 900}
    )
    consultant.set_default_timeout(15_000)
    page = consultant.new_page()
    log_in(page, "consultant")
    page.goto(board)
    page.click(f"#unit-{unit.pk}")
    expect(page.locator("#unit-card")).to_contain_text(unit.number)
    page.click("#reserve-link")
    page.fill("#customer-q", customer.name)
    page.click("#customer-search button")
    page.check(f"#cust-{customer.pk}")
    page.click("#reserve-button")
    expect(page.locator("h1")).to_contain_text("BL-")
    deal = Deal.objects.get(unit=unit, status=DealStatus.RESERVED)

    # the preview follows the discount before anything is saved
    page.check(f"#id_sub-discount_{one_off.pk}")
    expect(page.locator("#quote-total")).to_have_text(f"{expected:,.2f}")
    page.select_option("#id_sub-payment_method", "one_off")
    page.fill("#id_sub-deposit", "30000")
    page.click("#subscribe-button")
    expect(page.locator(".alert-success")).to_contain_text("RG-")
    deal.refresh_from_db()
    assert deal.status == DealStatus.PENDING and deal.total == expected
    consultant.close()

    finance = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    finance.set_default_timeout(15_000)
    page = finance.new_page()
    log_in(page, "finance")
    page.goto(deal.get_absolute_url())
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#confirm-form button")
    expect(page.locator(".alert-success")).to_contain_text("定金已确认")
    page.goto(board)
    expect(page.locator(f"#unit-{unit.pk}")).to_have_attribute("data-status", "subscribed")
    finance.close()
