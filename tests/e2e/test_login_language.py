"""A consultant logs in (Chinese), switches to English, and logs out (Foundation issue)."""

import re

from playwright.sync_api import expect

from loupan.audit.models import AuditEntry
from tests.e2e.helpers import log_in


def test_consultant_logs_in_in_chinese_switches_to_english_and_logs_out(page):
    # The demo office was built in the consultant's name (customers, follow-ups): only
    # what this session writes counts.
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("h1")).to_contain_text("售楼处销售管理系统")

    log_in(page, "consultant", home=False)
    expect(page.locator("h1")).to_contain_text("您好，李顾问")
    expect(page.locator("#current-project-name")).to_have_text("锦城·翠湖湾")
    expect(page.locator(".badge", has_text="演示账号").first).to_be_visible()
    # A consultant's navigation offers no user or audit pages, and only its own project.
    nav = page.locator("#mainnav")
    expect(nav).not_to_contain_text("用户")
    expect(nav).not_to_contain_text("审计日志")
    expect(page.locator("#project-select option")).to_have_count(1)

    page.click("#user-menu")
    page.click("#language-form button[data-lang=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_contain_text("Hello, 李顾问")
    page.click("#user-menu")
    expect(page.locator("#logout-button")).to_have_text("Log out")
    page.click("#logout-button")

    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    assert list(
        AuditEntry.objects.filter(actor_username="consultant", id__gt=before)
        .values_list("action", flat=True)
        .order_by("id")
    ) == ["login", "update", "logout"]


def test_wrong_password_shows_chinese_error_and_is_audited(page):
    page.goto("/accounts/login/")
    page.fill("input[name=username]", "consultant")
    page.fill("input[name=password]", "wrong-password-1")
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-form")).to_contain_text("用户名或密码错误")
    assert (
        AuditEntry.objects.filter(action="login_failed", actor_username="consultant").count() == 1
    )


def test_phone_layout_collapses_the_navigation(phone):
    log_in(phone, "sysadmin")
    toggler = phone.locator(".navbar-toggler")
    expect(toggler).to_be_visible()
    expect(phone.locator("#mainnav")).not_to_be_visible()
    toggler.click()
    expect(phone.locator("#mainnav")).to_be_visible()
    phone.locator("#navgroup-system").click()
    phone.locator("#mainnav a.dropdown-item", has_text="用户").first.click()
    expect(phone.locator("h1")).to_have_text("用户")
    # Nothing overflows a 375 px screen horizontally except inside scrollable tables.
    overflow = phone.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0
