"""A consultant registers a visitor, is refused a duplicate, adds a follow-up, and sees
it on the home page (issue Customers)."""

import re

from django.utils import timezone
from playwright.sync_api import expect

from loupan.customers.models import Customer
from tests.e2e.helpers import log_in


def test_consultant_registers_is_refused_a_duplicate_and_follows_up(page, office):
    log_in(page, "consultant")
    page.click("#navgroup-customers")
    page.click("#nav-customers")
    expect(page.locator("h1")).to_contain_text("意向客户登记表")
    page.click("#register-link")

    # Missing the layout: refused, with the reason next to the field.
    page.fill("#register-form input[name=name]", "沈先生")
    page.fill("#register-form input[name=phone]", "136 0000 1234")
    page.click("#register-form button.btn-primary")
    expect(page.locator("#register-form")).to_contain_text("请填写意向户型")
    page.select_option("#register-form select[name=wanted_layout]", "C1")
    page.select_option("#register-form select[name=grade]", "A")
    page.click("#register-form button.btn-primary")
    expect(page.locator("h1")).to_contain_text("沈先生")
    expect(page.locator("#customer-phone")).to_contain_text("13600001234")

    # The same number again (typed differently): no second customer, the owner is named.
    page.goto(page.url.split("/customers/")[0] + "/customers/register/")
    page.fill("#register-form input[name=name]", "沈总")
    page.fill("#register-form input[name=phone]", "+86 136-0000-1234")
    page.select_option("#register-form select[name=wanted_layout]", "C1")
    page.click("#register-form button.btn-primary")
    expect(page.locator("#customer-exists")).to_contain_text("李顾问")
    assert Customer.objects.filter(phone="+8613600001234").count() == 1

    # A follow-up planned for today shows on the home page.
    customer = Customer.objects.get(phone="+8613600001234")
    page.goto(customer.get_absolute_url())
    page.select_option("#follow-up-form select[name=way]", "phone")
    page.fill("#follow-up-form textarea[name=content]", "介绍二期洋房，客户满意")
    page.fill("#follow-up-form input[name=next_step]", "今晚发送户型图")
    page.fill("#follow-up-form input[name=next_date]", timezone.localdate().isoformat())
    page.click("#follow-up-form button")
    expect(page.locator("#follow-ups")).to_contain_text("介绍二期洋房")
    page.click("a.navbar-brand")
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.locator("#due-follow-ups")).to_contain_text("沈先生")
    expect(page.locator("#due-follow-ups")).to_contain_text("今晚发送户型图")
