"""The audit trail in words (issue 12, ``audit.presenting``): after real services
changed a deal's filing status, a customer, a unit's status and exported a list, the
auditor's page, a history tab, the export and the API show labels, choice labels, local
time, names with links, masked numbers; never ``deals.deal#18`` or a UTC ISO stamp."""

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from loupan.accounts.models import User
from loupan.audit.models import AuditEntry
from loupan.audit.presenting import present
from loupan.customers import services as customer_services
from loupan.customers.models import Customer
from loupan.deals import reports as deal_reports
from loupan.deals import services as deal_services
from loupan.deals.models import Deal, DealStatus, FilingStatus
from loupan.inventory import services as inventory_services
from loupan.inventory.models import Unit, UnitStatus

ISO_STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
RAW_TYPES = ("deals.deal#", "customers.customer#", "inventory.unit#", "deals.deal")


def _user(name):
    return User.objects.get(username=name)


@pytest.fixture
def changed(demo):
    """What the office did a moment ago, through the services."""
    project = demo["main"]
    deal = (
        Deal.objects.filter(
            project=project, status=DealStatus.CONTRACTED, filing_status=FilingStatus.NONE
        )
        .order_by("pk")
        .first()
    )
    deal = deal_services.contract_update_filing(
        actor=_user("salesadmin"), deal=deal, filing_status="signed", filing_number="WQ-2026-0001"
    )
    consultant = _user("consultant")
    customer = Customer.objects.filter(project=project, owner=consultant).order_by("pk").first()
    new_grade = "B" if customer.grade != "B" else "A"
    customer = customer_services.customer_update(
        actor=consultant, customer=customer, data={"grade": new_grade, "phone2": "13912345678"}
    )
    unit = Unit.objects.filter(project=project, status=UnitStatus.AVAILABLE).order_by("pk")[0]
    until = timezone.now() + timezone.timedelta(days=3)
    inventory_services.units_hold(
        actor=_user("manager"), project=project, unit_ids=[unit.pk], reason="领导预留", until=until
    )
    deal_reports.export(
        actor=_user("manager"),
        project=project,
        report="全部交易",
        columns=deal_reports.CHANGE_COLUMNS[:1],
        rows=iter([]),
        filters={"status": "contracted", "consultant": str(consultant.pk), "q": "13812345678"},
    )
    entries = {
        "deal": AuditEntry.objects.filter(object_type="deals.deal", object_id=str(deal.pk))
        .order_by("-id")
        .first(),
        "customer": AuditEntry.objects.filter(
            object_type="customers.customer", object_id=str(customer.pk)
        )
        .order_by("-id")
        .first(),
        "unit": AuditEntry.objects.filter(object_type="inventory.unit", object_id=str(unit.pk))
        .order_by("-id")
        .first(),
        "export": AuditEntry.objects.filter(action="export").order_by("-id").first(),
    }
    return {
        "project": project,
        "deal": deal,
        "customer": customer,
        "grade": new_grade,
        "unit": Unit.objects.get(pk=unit.pk),
        "until": until,
        "consultant": consultant,
        "entries": entries,
    }


def _local(moment, fmt="%Y-%m-%d %H:%M:%S"):
    return timezone.localtime(moment, timezone.get_default_timezone()).strftime(fmt)


def _assert_no_raw(html):
    for raw in RAW_TYPES[:3]:
        assert raw not in html
    assert not ISO_STAMP.search(html), ISO_STAMP.search(html).group(0)


def test_the_audit_page_reads_in_words(login, changed):
    html = login("auditor").get("/audit/").content.decode()
    deal, customer, unit = changed["deal"], changed["customer"], changed["unit"]
    # a deal's filing status by its field's and choices' labels, the deal named and linked
    assert "网签备案</span>: 未网签 → 已网签" in html
    assert f'<a href="{deal.get_absolute_url()}">{deal}</a>' in html
    # a customer's grade by its choice labels, the new second phone masked
    grades = dict(Customer._meta.get_field("grade").flatchoices)
    before = changed["entries"]["customer"].changes["grade"][0]
    assert f"等级</span>: {grades[before]} → {grades[changed['grade']]}" in html
    assert f'<a href="{customer.get_absolute_url()}">{customer.name}</a>' in html
    assert "139****5678" in html and "13912345678" not in html
    # a unit's status, the hold's end in local time, the one who held it by name
    assert "状态</span>: 可售 → 销控保留" in html
    assert f'<a href="{unit.get_absolute_url()}">{unit.number}</a>' in html
    assert _local(changed["until"], "%Y-%m-%d %H:%M") in html
    assert "钱经理（manager）" in html
    # the export: what, how many rows, its filters as label: value lines
    assert "筛选条件:" in html
    assert "<li>状态: 签约</li>" in html
    assert f'<li>置业顾问: <a href="/users/{changed["consultant"].pk}/">' in html
    assert "<li>单号 / 房号 / 客户姓名: 138****5678</li>" in html
    assert "13812345678" not in html
    assert "<li>报表: 全部交易</li>" in html
    # the entry's time in the office's time zone
    assert _local(changed["entries"]["deal"].created_at) in html
    _assert_no_raw(html)


def test_a_history_tab_reads_in_words(login, changed):
    unit = changed["unit"]
    response = login("auditor").get(f"{unit.get_absolute_url()}history/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "状态</span>: 可售 → 销控保留" in html
    assert "保留原因" in html or "领导预留" in html
    assert _local(changed["entries"]["unit"].created_at) in html
    assert f'<a href="{unit.get_absolute_url()}">{unit.number}</a>' in html
    _assert_no_raw(html)
    # the project's history too (its objects' own entries only)
    html = login("auditor").get(f"/projects/{changed['project'].pk}/history/").content.decode()
    assert "inventory.project#" not in html
    assert not ISO_STAMP.search(html)


def test_english_shows_english_labels(client, changed):
    auditor = _user("auditor")
    auditor.language = "en"
    auditor.save(update_fields=["language"])
    client.force_login(auditor, backend="loupan.accounts.backends.ProjectRoleBackend")
    html = client.get("/audit/").content.decode()
    with translation.override("en"):
        filing = str(Deal._meta.get_field("filing_status").verbose_name)
        signed, none = str(FilingStatus.SIGNED.label), str(FilingStatus.NONE.label)
        status = str(Unit._meta.get_field("status").verbose_name)
        held, available = str(UnitStatus.HELD.label), str(UnitStatus.AVAILABLE.label)
        deal_kind = str(Deal._meta.verbose_name)
        filters = "Filters"
    assert filing != "网签备案" and signed != "已网签"  # the catalogue has them
    assert f"{filing}</span>: {none} → {signed}" in html
    assert f"{status}</span>: {available} → {held}" in html
    assert deal_kind in html
    assert f"{filters}:" in html
    assert "网签备案" not in html and "销控保留" not in html
    _assert_no_raw(html)


def test_the_export_reads_like_the_page(login, changed):
    response = login("auditor").post("/audit/export/", query_params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))[1:]
    by_id = {int(row[0]): row for row in rows}
    deal_row = by_id[changed["entries"]["deal"].pk]
    assert deal_row[1] == _local(changed["entries"]["deal"].created_at)
    assert deal_row[6] == "交易"
    assert deal_row[8] == str(changed["deal"])
    assert "网签备案: 未网签 → 已网签" in deal_row[9]
    export_row = by_id[changed["entries"]["export"].pk]
    assert export_row[6] == "交易" and export_row[5] == "导出"
    assert "状态: 签约" in export_row[10] and "138****5678" in export_row[10]
    text = response.content.decode("utf-8-sig")
    assert "13812345678" not in text and "13912345678" not in text
    assert not ISO_STAMP.search(text)


def test_the_api_adds_the_words_to_the_raw_values(api, changed):
    entry = changed["entries"]["deal"]
    body = api("auditor").get(f"/api/v1/audit-entries/{entry.pk}/").json()
    assert body["object_type"] == "deals.deal"  # raw values stay
    assert body["changes"]["filing_status"] == ["none", "signed"]
    shown = body["display"]
    assert shown["kind"] == "交易"
    assert shown["object"] == {
        "text": str(changed["deal"]),
        "url": changed["deal"].get_absolute_url(),
    }
    filing = next(c for c in shown["changes"] if c["field"] == "filing_status")
    assert (filing["label"], filing["before"]["text"], filing["after"]["text"]) == (
        "网签备案",
        "未网签",
        "已网签",
    )
    assert shown["at"].endswith("+08:00")
    listed = api("auditor").get("/api/v1/audit-entries/", {"action": "export"}).json()
    lines = listed["results"][0]["display"]["extra"]
    filters = next(line for line in lines if line["key"] == "filters")
    assert {f["label"]: f["value"]["text"] for f in filters["lines"]}["状态"] == "签约"


def test_stored_personal_numbers_are_masked_for_the_auditor(login, demo):
    """A complaint's contact and a user's mobile are stored as typed: shown masked."""
    complaint = AuditEntry.objects.filter(object_type="aftersales.complaint", action="create")
    raw = complaint.order_by("id").first().changes["contact"][1]
    assert raw  # stored as typed
    html = login("auditor").get("/audit/", {"object_type": "aftersales.complaint"}).content
    html = html.decode()
    assert raw not in html and raw.removeprefix("+86") not in html
    assert raw.removeprefix("+86")[:3] + "****" in html
    mobile = demo["users"]["consultant"].mobile
    html = login("auditor").get(f"/users/{demo['users']['consultant'].pk}/history/").content
    assert mobile and mobile not in html.decode()


def test_a_deleted_object_keeps_its_stored_name_without_a_link(login, demo):
    from loupan.audit import services as audit_services

    project = demo["main"]
    audit_services.audit_record(
        actor=_user("sysadmin"),
        action="delete",
        object_type="deals.deal",
        object_id="987654",
        object_repr="RG-GONE-000001",
        project_id=project.pk,
        changes={"customer_id": [999999, None], "status": ["reserved", None]},
    )
    html = login("auditor").get("/audit/").content.decode()
    assert "RG-GONE-000001" in html
    assert f'href="/projects/{project.pk}/deals/987654/"' not in html
    assert "#999999 → —" in html
    assert "预留 → —" in html


def test_presenting_a_page_costs_one_query_per_model(demo):
    """No query per entry: a page of 50 costs what a page of 5 of the same kinds costs."""
    auditor = _user("auditor")
    kinds = ["deals.deal", "customers.customer", "inventory.unit", "payments.receipt"]

    def entries(n):
        rows = []
        for kind in kinds:
            rows += list(AuditEntry.objects.filter(object_type=kind).order_by("-id")[:n])
        return rows

    few, many = entries(2), entries(25)
    assert len(many) >= 80
    with CaptureQueriesContext(connection) as small:
        present(few, auditor)
    with CaptureQueriesContext(connection) as large:
        shown = present(many, auditor)
    assert len(shown) == len(many)
    # the objects' and the referenced objects' models, each read once
    assert len(large) <= len(small) + 4
    assert len(large) <= 20
    # and drawing them reads nothing more
    with CaptureQueriesContext(connection) as drawn:
        for s in shown:
            str(s.object), [str(c) for c in s.changes], [str(x) for x in s.extra]
    assert len(drawn) == 0


def test_the_audit_page_query_count_does_not_grow_with_entries(login, demo):
    client = login("auditor")
    client.get("/audit/")  # warm the session and the grants
    with CaptureQueriesContext(connection) as few:
        client.get("/audit/", {"object_type": "deals.deal", "object_id": "1"})
    with CaptureQueriesContext(connection) as page:
        response = client.get("/audit/", {"object_type": "deals.deal"})
    assert len(response.context["rows"]) == 50
    assert len(page) <= len(few) + 6
