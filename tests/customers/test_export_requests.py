"""Every list of customers' personal data leaves under the manager's written consent by
one mechanism (seed 002 客户信息管理制度 5.1; issue 12): with the project's setting on, a
deal list or an after-sales list is requested with its filters and a reason (its own
export permission checked), approved in the approval engine, and downloaded once by the
requester, holding only the filtered rows; by page and by API."""

import io
from collections import Counter

import openpyxl
import pytest

from loupan.aftersales import delivery as aftersales
from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalStatus
from loupan.core.errors import DomainError
from loupan.customers import exports
from loupan.customers.models import CustomerExport, ExportStatus
from loupan.deals.models import Deal, DealStatus
from tests.testing import assert_error

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def consent(demo):
    exports.export_policy_set(
        actor=demo["users"]["manager"], project=demo["main"], needs_approval=True
    )
    return demo


def approve(export, manager):
    request = approvals.requests_of(export).get(status=ApprovalStatus.PENDING)
    assert request.kind == "customer_export"
    approvals.approval_decide(actor=manager, request=request, approve=True)


def rows_of(content):
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    return [row for row in sheet.iter_rows(min_row=2, values_only=True) if any(row)]


def common_status(project):
    counts = Counter(Deal.objects.filter(project=project).values_list("status", flat=True))
    return counts.most_common(1)[0][0]


def repairs(project, service):
    deal = Deal.objects.filter(project=project, status=DealStatus.CONTRACTED).order_by("pk").first()
    for text in ("厨房漏水甲", "门锁松动乙"):
        aftersales.repair_create(actor=service, project=project, deal=deal, description=text)


def test_a_deal_list_by_page_requested_approved_downloaded_once(login, consent):
    project, users = consent["main"], consent["users"]
    status = common_status(project)
    client = login("salesadmin")
    page = client.get(f"/projects/{project.pk}/deals/?status={status}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "export-request-form" in html and 'value="deals.all"' in html
    # the list's own export is still refused without the consent
    direct = client.post(f"/projects/{project.pk}/deals/?status={status}&format=xlsx")
    assert "spreadsheetml" not in direct.get("Content-Type", "")
    asked = client.post(
        f"/projects/{project.pk}/customers/exports/request/",
        {"report": "deals.all", "query": f"status={status}", "reason": "给银行核对"},
    )
    assert asked.status_code == 302
    export = CustomerExport.objects.get()
    assert export.report == "deals.all" and export.filters == {"status": status}
    assert export.status == ExportStatus.PENDING
    approve(export, users["manager"])
    download = f"/projects/{project.pk}/customers/exports/{export.pk}/download/"
    first = login("salesadmin").post(download)
    assert first.status_code == 200 and first["Content-Type"] == XLSX
    rows = rows_of(first.content)
    label = DealStatus(status).label
    assert rows and {row[3] for row in rows} == {label}
    assert len(rows) == Deal.objects.filter(project=project, status=status).count()
    assert len(rows) < Deal.objects.filter(project=project).count()
    export.refresh_from_db()
    assert export.status == ExportStatus.DOWNLOADED
    second = login("salesadmin").post(download)
    assert second.status_code == 302
    with pytest.raises(DomainError) as exc:
        exports.export_download(actor=users["salesadmin"], export=export)
    assert exc.value.code == "export_downloaded"


def test_an_after_sales_list_by_page_filtered(login, consent):
    project, users = consent["main"], consent["users"]
    repairs(project, users["service"])
    client = login("service")
    page = client.get(f"/projects/{project.pk}/aftersales/repairs/")
    assert 'value="aftersales.repairs"' in page.content.decode()
    client.post(
        f"/projects/{project.pk}/customers/exports/request/",
        {"report": "aftersales.repairs", "query": "q=厨房漏水甲", "reason": "交维修公司"},
    )
    export = CustomerExport.objects.get()
    assert export.report == "aftersales.repairs" and export.filters == {"q": "厨房漏水甲"}
    approve(export, users["manager"])
    download = f"/projects/{project.pk}/customers/exports/{export.pk}/download/"
    first = login("service").post(download)
    assert first.status_code == 200 and first["Content-Type"] == XLSX
    rows = rows_of(first.content)
    assert [row[4] for row in rows] == ["厨房漏水甲"]
    assert login("service").post(download).status_code == 302
    export.refresh_from_db()
    assert export.status == ExportStatus.DOWNLOADED


def test_by_api_a_deal_list_and_an_after_sales_list(api, consent):
    project = consent["main"]
    repairs(project, consent["users"]["service"])
    status = common_status(project)
    for who, report, filters, check in (
        ("salesadmin", "deals.all", {"status": status}, lambda r: r[3] == DealStatus(status).label),
        ("service", "aftersales.repairs", {"q": "门锁松动乙"}, lambda r: r[4] == "门锁松动乙"),
    ):
        url = "/api/v1/customer-exports/"
        body = {"project": project.pk, "report": report, "filters": filters}
        assert_error(api(who).post(url, body, format="json"), 400, "invalid", fields=["reason"])
        asked = api(who).post(url, {**body, "reason": "核对"}, format="json")
        assert asked.status_code == 202, asked.content
        data = asked.json()
        assert data["report"] == report and data["filters"] == filters
        pk = data["id"]
        download = f"{url}{pk}/download/"
        assert_error(api(who).post(download), 409, "export_not_approved")
        decided = api("manager").post(f"{url}{pk}/approve/", {}, format="json")
        assert decided.status_code == 200 and decided.json()["status"] == "approved"
        first = api(who).post(download)
        assert first.status_code == 200 and first["Content-Type"] == XLSX
        rows = rows_of(first.content)
        assert rows and all(check(row) for row in rows)
        assert_error(api(who).post(download), 409, "export_downloaded")


def test_only_who_may_export_that_list_asks(api, consent):
    project, users = consent["main"], consent["users"]
    for report in ("deals.all", "aftersales.repairs"):
        with pytest.raises(DomainError) as exc:
            exports.export_request(
                actor=users["consultant"], project=project, report=report, filters={}, reason="x"
            )
        assert exc.value.code == "permission_denied"
    assert_error(
        api("consultant").post(
            "/api/v1/customer-exports/",
            {"project": project.pk, "report": "deals.all", "reason": "x"},
            format="json",
        ),
        403,
        "permission_denied",
    )
    with pytest.raises(DomainError) as exc:
        exports.export_request(
            actor=users["salesadmin"], project=project, report="nope", filters={}, reason="x"
        )
    assert exc.value.code == "invalid"
    # the filters are checked when asked, as the list page reads them
    with pytest.raises(DomainError) as exc:
        exports.export_request(
            actor=users["salesadmin"],
            project=project,
            report="deals.all",
            filters={"status": "bogus"},
            reason="x",
        )
    assert exc.value.code == "invalid" and "status" in exc.value.fields
    assert not CustomerExport.objects.exists()


def test_setting_off_the_lists_export_directly(login, demo):
    page = login("salesadmin").get(f"/projects/{demo['main'].pk}/deals/")
    assert "export-request-form" not in page.content.decode()
    direct = login("salesadmin").post(f"/projects/{demo['main'].pk}/deals/?format=xlsx")
    assert direct["Content-Type"] == XLSX
