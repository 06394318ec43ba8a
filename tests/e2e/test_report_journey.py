"""The supervisor opens the day's 销售日报 from the home page, reviews an unconfirmed
past day and confirms it; the manager reads the month's report with its charts and
filters it by consultant (issue 15)."""

import datetime
import re

from django.utils import timezone
from playwright.sync_api import expect

from loupan.reports.models import DailyReport
from tests.e2e.helpers import log_in


def test_supervisor_confirms_a_day_and_manager_reads_the_month(page, office):
    project = office["main"]
    day = timezone.localdate() - datetime.timedelta(days=2)
    DailyReport.objects.filter(project=project, day=day).delete()
    log_in(page, "supervisor")
    expect(page.locator("#dash-today")).to_be_visible()
    page.click("#navgroup-reports")
    page.click("#nav-reports")
    expect(page.locator("#report-catalogue")).to_contain_text("销售日报")
    page.goto(f"/projects/{project.pk}/reports/daily/?period=day&date={day:%Y-%m-%d}")
    expect(page.locator("#report-figures")).to_contain_text("来电")
    page.fill("#daily-confirm input[name=note]", "已核对来电来访登记")
    page.click("#daily-confirm button")
    expect(page.locator("#daily-status")).to_contain_text("已由 孙主管")
    confirmed = DailyReport.objects.get(project=project, day=day)
    assert confirmed.note == "已核对来电来访登记" and len(confirmed.digest) == 64

    page.context.clear_cookies()
    log_in(page, "manager")
    expect(page.locator("#dash-month")).to_contain_text("本月项目数据")
    expect(page.locator(".report-chart svg").first).to_be_visible()
    page.goto(f"/projects/{project.pk}/reports/monthly/")
    expect(page.locator("#report-title")).to_have_text("销售月报")
    expect(page.locator(".report-chart svg").first).to_be_visible()
    page.locator("#f-consultant").select_option(label="李顾问")
    page.click("#report-filter button")
    expect(page).to_have_url(re.compile(r"consultant=\d+"))
    people = page.locator(".card", has=page.locator("h2", has_text="置业顾问")).first
    expect(people).to_contain_text("李顾问")
    expect(people).not_to_contain_text("周顾问")
