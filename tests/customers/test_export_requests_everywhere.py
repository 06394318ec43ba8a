"""The lists of customers' personal data that are not ``ProjectListView`` pages, and the
money lists, leave by the one mechanism of ``tests/customers/test_export_requests.py``
(seed 002 客户信息管理制度 5.1; issue 12): 入伙通知名单 of a batch, 客户换房、退房一览表,
成交客户档案 and the weekly report that holds it, the money lists (客户交款情况明细表, 收据,
收付款流水) and the opening's lists. With the project's setting on, the list's own export
is refused, and a request (its filters and a reason) approved in the approval engine is
downloaded once by the requester; with the setting off the list exports directly."""

import datetime
import io

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from loupan.aftersales import delivery
from loupan.aftersales.models import Delivery
from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalStatus
from loupan.core.errors import DomainError
from loupan.customers import exports
from loupan.customers.models import CustomerExport, ExportStatus
from loupan.deals.models import Deal, DealStatus
from loupan.opening.models import OpeningEvent

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def batch_of(project, users):
    """A delivery batch with deliveries (the demo office's, else a new one for a building
    with signed deals): its notice list names the owners."""
    existing = Delivery.objects.filter(project=project).order_by("pk").first()
    if existing is not None:
        return existing.batch
    deal = Deal.objects.filter(project=project, status=DealStatus.CONTRACTED).order_by("pk").first()
    today = timezone.localdate()
    return delivery.batch_create(
        actor=users["service"],
        project=project,
        building=deal.unit.building,
        name="测试批次",
        starts_on=today,
        ends_on=today + datetime.timedelta(days=21),
        slots=["09:00-12:00"],
        slot_capacity=5,
        requirements=["身份证"],
        notice="请准时办理",
    )


def event_of(project):
    """The demo office's finished opening (its picks name the buyers)."""
    return OpeningEvent.objects.filter(project=project, name="翠湖湾 首期加推").get()


# code, who asks, the page (url, its query string, the filters stored with the request)
def case(code, project, users):
    p = project.pk
    if code == "aftersales.notices":
        batch = batch_of(project, users)
        url = reverse("aftersales:delivery_batch_detail", args=[p, batch.pk])
        return "service", url, "", f"batch={batch.pk}", {"batch": str(batch.pk)}
    if code == "deals.changes":
        url = reverse("deals:deal_changes", args=[p])
        return "salesadmin", url, "kind=cancel", "kind=cancel", {"kind": "cancel"}
    if code.startswith("reports."):
        url = reverse("reports:report", args=[p, code.split(".", 1)[1]])
        return "manager", url, "period=year", "period=year", {"period": "year"}
    if code.startswith("payments."):
        name = {"detail": "detail_list", "receipts": "receipt_list", "ledger": "ledger"}
        url = reverse(f"payments:{name[code.split('.', 1)[1]]}", args=[p])
        return "finance", url, "", "", {}
    event = event_of(project)
    kind = code.split(".", 1)[1]
    url = reverse(f"opening:event_{kind}", args=[p, event.pk])
    return "manager", url, "", f"event={event.pk}", {"event": str(event.pk)}


CODES = [
    "aftersales.notices",
    "deals.changes",
    "reports.buyers",
    "reports.weekly",
    "payments.detail",
    "payments.receipts",
    "payments.ledger",
    "opening.results",
    "opening.unpicked",
]


def rows_of(content):
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    return [row for row in sheet.iter_rows(min_row=2, values_only=True) if any(row)]


def direct(client, url, query):
    return client.post(f"{url}?{query}{'&' if query else ''}format=xlsx")


def test_every_list_is_registered():
    codes = {spec.code for spec in exports.exportable_lists()}
    assert set(CODES) <= codes
    assert "opening.report" in codes


@pytest.mark.parametrize("code", CODES)
def test_requested_approved_downloaded_once(code, login, demo):
    project, users = demo["main"], demo["users"]
    who, url, query, asked_query, filters = case(code, project, users)
    exports.export_policy_set(actor=users["manager"], project=project, needs_approval=True)
    client = login(who)
    page = client.get(f"{url}?{query}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "export-request-form" in html and f'value="{code}"' in html
    # the list's own export is refused without the consent
    assert "spreadsheetml" not in direct(client, url, query).get("Content-Type", "")
    asked = client.post(
        reverse("customers:export_request", args=[project.pk]),
        {"report": code, "query": asked_query, "reason": "核对", "next": url},
    )
    assert asked.status_code == 302
    assert asked.url == reverse("customers:export_list", args=[project.pk])
    export = CustomerExport.objects.get()
    assert export.report == code and export.filters == filters
    assert export.status == ExportStatus.PENDING
    # never decided by the requester: a manager's own goes to the director
    decider = users["director" if who == "manager" else "manager"]
    request = approvals.requests_of(export).get(status=ApprovalStatus.PENDING)
    assert request.kind == "customer_export"
    approvals.approval_decide(actor=decider, request=request, approve=True)
    download = reverse("customers:export_download", args=[project.pk, export.pk])
    first = login(who).post(download)
    assert first.status_code == 200 and first["Content-Type"] == XLSX
    export.refresh_from_db()
    assert export.status == ExportStatus.DOWNLOADED and export.downloaded_at
    # once
    assert login(who).post(download).status_code == 302
    with pytest.raises(DomainError) as exc:
        exports.export_download(actor=users[who], export=export)
    assert exc.value.code == "export_downloaded"
    # the rows the page's own export gives (the same filters) once the setting is off
    exports.export_policy_set(actor=users["manager"], project=project, needs_approval=False)
    own = direct(login(who), url, query)
    assert own["Content-Type"] == XLSX
    assert rows_of(first.content) == rows_of(own.content) != []


@pytest.mark.parametrize("code", CODES)
def test_setting_off_the_list_exports_directly(code, login, demo):
    project, users = demo["main"], demo["users"]
    who, url, query, _asked, _filters = case(code, project, users)
    client = login(who)
    assert "export-request-form" not in client.get(f"{url}?{query}").content.decode()
    response = direct(client, url, query)
    assert response.status_code == 200 and response["Content-Type"] == XLSX


def test_the_filters_are_checked_when_asked(demo):
    project, users = demo["main"], demo["users"]
    exports.export_policy_set(actor=users["manager"], project=project, needs_approval=True)
    for who, code, filters, field in (
        ("service", "aftersales.notices", {}, "batch"),
        ("service", "aftersales.notices", {"batch": "abc"}, "batch"),
        ("salesadmin", "deals.changes", {"kind": "bogus"}, "kind"),
        ("manager", "reports.buyers", {"period": "decade"}, "period"),
        ("finance", "payments.receipts", {"method": "bogus"}, "method"),
        ("manager", "opening.results", {"event": "999999"}, "event"),
    ):
        with pytest.raises(DomainError) as exc:
            exports.export_request(
                actor=users[who], project=project, report=code, filters=filters, reason="x"
            )
        assert exc.value.code == "invalid" and field in exc.value.fields, (code, exc.value)
    assert not CustomerExport.objects.exists()


def test_only_who_may_export_that_list_asks(demo):
    project, users = demo["main"], demo["users"]
    exports.export_policy_set(actor=users["manager"], project=project, needs_approval=True)
    # (a consultant opens their own weekly report, so may ask for its export)
    for code in [c for c in CODES if c != "reports.weekly"]:
        with pytest.raises(DomainError) as exc:
            exports.export_request(
                actor=users["consultant"], project=project, report=code, filters={}, reason="x"
            )
        assert exc.value.code == "permission_denied", code
    assert not CustomerExport.objects.exists()
