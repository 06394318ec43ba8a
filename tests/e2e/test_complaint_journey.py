"""Customer service logs a complaint, assigns it, answers it, resolves it and closes it
with a return visit (issue 14, "Done when")."""

from playwright.sync_api import expect

from loupan.aftersales.models import Complaint, ComplaintCategory
from loupan.deals.models import Deal
from tests.e2e.helpers import log_in


def test_service_logs_assigns_and_closes_a_complaint(page, office):
    project = office["main"]
    deal = Deal.objects.filter(project=project, status="contracted").order_by("pk").first()
    category = ComplaintCategory.objects.filter(project=project).order_by("sort_order").first()
    log_in(page, "service")
    expect(page.locator("#navgroup-aftersales")).to_be_visible()
    page.goto(f"/projects/{project.pk}/aftersales/complaints/")
    page.click("#complaint-new")
    form = page.locator("#complaint-form")
    form.locator("select[name=channel]").select_option("phone")
    form.locator("select[name=category]").select_option(str(category.pk))
    form.locator("select[name=deal]").select_option(str(deal.pk))
    form.locator("input[name=complainant]").fill("王业主")
    form.locator("textarea[name=description]").fill("客厅墙面开裂，要求尽快修复")
    page.click("#complaint-submit")
    expect(page.locator("#complaint-status")).to_have_attribute("data-status", "open")
    complaint = Complaint.objects.filter(project=project).latest("pk")
    assert complaint.description == "客厅墙面开裂，要求尽快修复" and complaint.deal == deal

    page.locator("#assign-form select[name=department]").select_option("construction")
    page.click("#assign-submit")
    page.fill("#answer-form textarea[name=text]", "已安排工程部明日上门查看")
    page.click("#answer-submit")
    expect(page.locator("#complaint-status")).to_have_attribute("data-status", "answered")
    page.fill("#resolve-form textarea[name=resolution]", "已修补墙面并重新粉刷")
    page.click("#resolve-submit")
    expect(page.locator("#complaint-status")).to_have_attribute("data-status", "resolved")
    page.fill("#visit-form input[name=note]", "业主对修复结果满意")
    page.locator("#visit-form select[name=satisfaction]").select_option("5")
    page.click("#visit-submit")
    expect(page.locator("#complaint-status")).to_have_attribute("data-status", "closed")
    complaint.refresh_from_db()
    assert complaint.status == "closed" and complaint.satisfaction == 5
    assert complaint.department == "construction" and complaint.first_answer
