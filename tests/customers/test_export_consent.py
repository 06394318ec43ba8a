"""Customer exports under the manager's written consent (seed 002 客户信息管理制度 5.1):
with the project's setting on, asking for the 意向客户登记表's export files an approval
request with the filters and a reason; the manager approves or rejects in 待我审批; the
requester downloads an approved export exactly once. Setting off: the export as before."""

import io

import openpyxl
import pytest

from loupan.approvals import services as approvals
from loupan.approvals.models import ApprovalStatus
from loupan.audit.models import AuditEntry
from loupan.core.errors import DomainError
from loupan.customers import exports
from loupan.customers.models import CustomerExport, ExportStatus
from tests.testing import assert_error

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def consent(demo):
    exports.export_policy_set(
        actor=demo["users"]["manager"], project=demo["main"], needs_approval=True
    )
    return demo


def export_url(project):
    return f"/projects/{project.pk}/customers/intent-register/export/"


def open_request(export):
    return approvals.requests_of(export).get(status=ApprovalStatus.PENDING)


def test_setting_off_keeps_the_direct_export(login, demo):
    response = login("salesadmin").post(export_url(demo["main"]))
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert not CustomerExport.objects.exists()


def test_request_approve_download_once_then_refused(login, consent):
    project, users = consent["main"], consent["users"]
    client = login("salesadmin")
    response = client.post(export_url(project) + "?grade=A", {"reason": "给代理公司核对"})
    assert response.status_code == 302
    export = CustomerExport.objects.get()
    assert export.filters == {"grade": "A"} and export.status == ExportStatus.PENDING
    request = open_request(export)
    assert request.kind == "customer_export" and request.reason == "给代理公司核对"
    # the manager sees it in 待我审批
    inbox = login("manager").get(f"/projects/{project.pk}/approvals/")
    assert request in inbox.context["pending"]
    approvals.approval_decide(actor=users["manager"], request=request, approve=True)
    export.refresh_from_db()
    assert export.status == ExportStatus.APPROVED
    client = login("salesadmin")
    download = f"/projects/{project.pk}/customers/exports/{export.pk}/download/"
    first = client.post(download)
    assert first.status_code == 200 and first["Content-Type"] == XLSX
    sheet = openpyxl.load_workbook(io.BytesIO(first.content)).worksheets[0]
    grades = {row[3] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]}
    assert grades <= {"A"}
    export.refresh_from_db()
    assert export.status == ExportStatus.DOWNLOADED and export.downloaded_at
    second = client.post(download)
    assert second.status_code == 302
    with pytest.raises(DomainError) as exc:
        exports.export_download(actor=users["salesadmin"], export=export)
    assert exc.value.code == "export_downloaded"
    assert AuditEntry.objects.filter(object_type="customers.customerexport").count() >= 3


def test_no_reason_no_request_and_no_direct_download(login, consent):
    project, users = consent["main"], consent["users"]
    with pytest.raises(DomainError) as exc:
        exports.export_request(actor=users["salesadmin"], project=project, filters={}, reason=" ")
    assert exc.value.code == "invalid" and "reason" in exc.value.fields
    response = login("salesadmin").post(export_url(project))
    assert response.status_code == 302 and not CustomerExport.objects.exists()


def test_rejected_is_never_downloaded_and_the_requester_never_decides(consent):
    project, users = consent["main"], consent["users"]
    export = exports.export_request(
        actor=users["manager"], project=project, filters={}, reason="月度备份"
    )
    with pytest.raises(DomainError) as exc:
        approvals.approval_decide(
            actor=users["manager"], request=open_request(export), approve=True
        )
    assert exc.value.code == "permission_denied"
    approvals.approval_decide(
        actor=users["director"], request=open_request(export), approve=False, reason="不必导出"
    )
    export.refresh_from_db()
    assert export.status == ExportStatus.REJECTED
    with pytest.raises(DomainError) as exc:
        exports.export_download(actor=users["manager"], export=export)
    assert exc.value.code == "export_not_approved"


def test_only_the_requester_downloads_and_only_who_may_export_asks(consent):
    project, users = consent["main"], consent["users"]
    with pytest.raises(DomainError) as exc:
        exports.export_request(actor=users["consultant"], project=project, filters={}, reason="x")
    assert exc.value.code == "permission_denied"
    export = exports.export_request(
        actor=users["salesadmin"], project=project, filters={}, reason="核对"
    )
    approvals.approval_decide(actor=users["manager"], request=open_request(export), approve=True)
    with pytest.raises(DomainError) as exc:
        exports.export_download(actor=users["manager"], export=export)
    assert exc.value.code == "permission_denied"
    with pytest.raises(DomainError) as exc:
        exports.export_policy_set(actor=users["salesadmin"], project=project, needs_approval=False)
    assert exc.value.code == "permission_denied"


def test_api_request_approve_download_once(api, consent):
    project = consent["main"]
    url = f"/api/v1/projects/{project.pk}/customers/intent-register/export/"
    assert_error(api("salesadmin").post(url, {}, format="json"), 400, "invalid", fields=["reason"])
    asked = api("salesadmin").post(url + "?grade=B", {"reason": "核对"}, format="json")
    assert asked.status_code == 202, asked.content
    pk = asked.json()["id"]
    assert asked.json()["status"] == "pending" and asked.json()["filters"] == {"grade": "B"}
    assert_error(
        api("salesadmin").post(f"/api/v1/customer-exports/{pk}/download/"),
        409,
        "export_not_approved",
    )
    assert_error(
        api("salesadmin").post(f"/api/v1/customer-exports/{pk}/approve/", {}, format="json"),
        403,
        "permission_denied",
    )
    approved = api("manager").post(f"/api/v1/customer-exports/{pk}/approve/", {}, format="json")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    first = api("salesadmin").post(f"/api/v1/customer-exports/{pk}/download/")
    assert first.status_code == 200 and first["Content-Type"] == XLSX
    assert_error(
        api("salesadmin").post(f"/api/v1/customer-exports/{pk}/download/"),
        409,
        "export_downloaded",
    )
    listed = api("salesadmin").get(f"/api/v1/customer-exports/?project={project.pk}")
    assert [e["status"] for e in listed.json()["results"]] == ["downloaded"]


def test_api_reject_and_policy(api, consent):
    project = consent["main"]
    url = f"/api/v1/projects/{project.pk}/customers/intent-register/export/"
    pk = api("salesadmin").post(url, {"reason": "核对"}, format="json").json()["id"]
    assert_error(
        api("manager").post(f"/api/v1/customer-exports/{pk}/reject/", {}, format="json"),
        400,
        "invalid",
        fields=["reason"],
    )
    rejected = api("manager").post(
        f"/api/v1/customer-exports/{pk}/reject/", {"reason": "不同意"}, format="json"
    )
    assert rejected.json()["status"] == "rejected"
    assert_error(
        api("salesadmin").post(
            "/api/v1/customer-exports/policy/",
            {"project": project.pk, "export_needs_approval": False},
            format="json",
        ),
        403,
        "permission_denied",
    )
    off = api("manager").post(
        "/api/v1/customer-exports/policy/",
        {"project": project.pk, "export_needs_approval": False},
        format="json",
    )
    assert off.json()["export_needs_approval"] is False
    direct = api("salesadmin").post(url, {}, format="json")
    assert direct.status_code == 200 and direct["Content-Type"] == XLSX
