"""The 意向客户登记表 per consultant (seed 002 二.2) and its xlsx export: who sees which
customers, masking as on every customer page, the export permission and its audit entry,
through the real URLs and the API."""

import datetime
import io
import re

import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

from loupan.accounts.models import Membership, Role, User
from loupan.audit.models import AuditAction, AuditEntry
from loupan.customers import services
from loupan.customers.imports import REGISTER_COLUMNS
from loupan.customers.models import Customer

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MASKED = re.compile(r"^\d{3}\*{4}\d{4}$")
FULL = re.compile(r"^1\d{10}$")


def user(name):
    return User.objects.get(username=name)


def url(name, project):
    return reverse(f"customers:{name}", args=[project.pk])


def listed(project, owner=None):
    qs = Customer.objects.filter(project=project, in_pool=False, anonymized_at__isnull=True)
    return qs.filter(owner=owner) if owner else qs


def sheet_rows(content):
    sheet = openpyxl.load_workbook(io.BytesIO(content)).worksheets[0]
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    return values[0], values[1:]


def grant(demo, username, permissions):
    """An extra role of ``username`` on the main project."""
    role = Role.objects.create(code=f"extra-{username}", name="extra", permissions=permissions)
    Membership.objects.create(user=user(username), project=demo["main"], role=role)


@pytest.fixture
def followed(demo):
    """A consultant's customer with two follow-ups, the last one yesterday."""
    customer = services.customer_register(
        actor=user("consultant"),
        project=demo["main"],
        name="跟进测试",
        phone="16688880001",
        wanted_layout="other",
        wanted_layout_other="B1 三室",
        data={"wanted_area": "90-110", "budget_min": "150", "budget_max": "180", "grade": "A"},
    )
    yesterday = timezone.now() - datetime.timedelta(days=1)
    for at in (yesterday - datetime.timedelta(days=3), yesterday):
        services.follow_up_add(
            actor=user("consultant"), customer=customer, way="phone", content="回访", at=at
        )
    return customer, yesterday


def test_a_consultant_sees_only_their_own_customers_with_full_numbers(login, demo, followed):
    response = login("consultant").get(url("intent_register", demo["main"]))
    assert response.status_code == 200
    rows = response.context["rows"]
    page = response.context["page"]
    assert page.paginator.count == listed(demo["main"], user("consultant")).count()
    assert {r["owner"] for r in rows} == {"李顾问"}
    assert all(FULL.match(r["phone"]) for r in rows)
    html = response.content.decode()
    assert "export-link" not in html and "import-link" not in html
    assert 'name="owner"' not in html  # no consultant filter in a consultant's register
    # Asking for another consultant's customers changes nothing.
    other = login("consultant").get(
        url("intent_register", demo["main"]), {"owner": user("consultant2").pk}
    )
    assert other.context["page"].paginator.count == page.paginator.count


def test_the_register_shows_the_follow_ups_budget_and_area(login, demo, followed):
    customer, yesterday = followed
    response = login("consultant").get(url("intent_register", demo["main"]))
    row = next(r for r in response.context["rows"] if r["customer"].pk == customer.pk)
    assert row["follow_ups"] == 2 and row["last_follow_up"] == yesterday
    assert row["phone"] == "16688880001" and row["grade"] == "A" and row["stage"] == "潜在"
    assert row["budget"] == "150–180" and row["wanted_area"] == "90-110"
    assert (
        response.context["rows"][0]["registered_at"]
        >= response.context["rows"][-1]["registered_at"]
    )  # newest first
    assert "150–180" in response.content.decode()


def test_a_supervisor_sees_the_project_or_one_consultant_masked(login, demo):
    client = login("supervisor")
    response = client.get(url("intent_register", demo["main"]))
    assert response.context["page"].paginator.count == listed(demo["main"]).count()
    assert all(MASKED.match(r["phone"]) for r in response.context["rows"])
    html = response.content.decode()
    assert 'name="owner"' in html and "import-link" in html
    assert "export-link" not in html  # a supervisor may not export customer lists
    consultant2 = user("consultant2")
    response = client.get(url("intent_register", demo["main"]), {"owner": consultant2.pk})
    assert response.context["page"].paginator.count == listed(demo["main"], consultant2).count()
    assert {r["owner"] for r in response.context["rows"]} == {"周顾问"}


def test_the_page_query_count_is_flat(login, demo, django_assert_max_num_queries):
    client = login("manager")
    client.get(url("intent_register", demo["main"]))  # warm the session
    # 10: one for the project's export setting (the manager's written consent)
    with django_assert_max_num_queries(10):
        response = client.get(url("intent_register", demo["main"]))
    assert len(response.context["rows"]) == 50


def test_who_sees_no_customers_gets_404(login, demo):
    assert login("planner").get(url("intent_register", demo["main"])).status_code == 404
    assert login("supervisor").get(url("intent_register", demo["second"])).status_code == 404
    assert login("planner").post(url("intent_register_export", demo["main"])).status_code == 404


def test_the_export_is_masked_filtered_and_audited(login, demo):
    client = login("manager")
    page = client.get(url("intent_register", demo["main"]))
    assert "export-link" in page.content.decode()
    consultant = user("consultant")
    before = AuditEntry.objects.count()
    response = client.post(
        url("intent_register_export", demo["main"]), query_params={"owner": consultant.pk}
    )
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    header, rows = sheet_rows(response.content)
    assert header == [c.header for c in REGISTER_COLUMNS]
    assert len(rows) == listed(demo["main"], consultant).count()
    phone = header.index("手机号")
    assert all(MASKED.match(r[phone]) for r in rows)
    assert {r[header.index("置业顾问")] for r in rows} == {"李顾问"}
    entry = AuditEntry.objects.order_by("-id").first()
    assert AuditEntry.objects.count() == before + 1
    assert entry.action == AuditAction.EXPORT and entry.object_type == "customers.customer"
    assert entry.actor == user("manager") and entry.project_id == demo["main"].pk
    assert entry.extra["rows"] == len(rows)
    assert entry.extra["filters"] == {
        "format": "xlsx",
        "report": "intent_register",
        "owner": str(consultant.pk),
    }


@pytest.mark.parametrize("username", ["consultant", "supervisor"])
def test_no_export_without_the_permission(login, demo, username):
    client = login(username)
    before = AuditEntry.objects.count()
    assert client.post(url("intent_register_export", demo["main"])).status_code == 403
    assert AuditEntry.objects.count() == before


def test_consultant2_never_sees_a_full_number_of_consultants_customers(login, demo):
    theirs = {c.phone[3:] for c in listed(demo["main"], user("consultant"))}
    own = {c.phone[3:] for c in listed(demo["main"], user("consultant2"))}
    client = login("consultant2")
    # With the export permission only: their own register, full numbers.
    grant(demo, "consultant2", ["customer.export"])
    header, rows = sheet_rows(client.post(url("intent_register_export", demo["main"])).content)
    phones = {r[header.index("手机号")] for r in rows}
    assert phones == own and not phones & theirs
    # Seeing the whole project too: the other consultant's numbers stay masked.
    Role.objects.filter(code="extra-consultant2").update(
        permissions=["customer.export", "customer.view"]
    )
    header, rows = sheet_rows(client.post(url("intent_register_export", demo["main"])).content)
    phone, owner = header.index("手机号"), header.index("置业顾问")
    assert {r[phone] for r in rows if r[owner] == "周顾问"} == own
    others = [r[phone] for r in rows if r[owner] == "李顾问"]
    assert len(others) == len(theirs) and all(MASKED.match(p) for p in others)
    assert not set(others) & theirs
    page = client.get(url("intent_register", demo["main"]))
    assert all(MASKED.match(r["phone"]) for r in page.context["rows"] if r["owner"] == "李顾问")


# --- the API ------------------------------------------------------------------------


def api_path(project, what="intent-register"):
    return f"/api/v1/projects/{project.pk}/customers/{what}/"


def test_api_register(api, demo, followed):
    customer, _yesterday = followed
    body = api("consultant").get(api_path(demo["main"])).json()
    assert body["count"] == listed(demo["main"], user("consultant")).count()
    assert {r["owner"] for r in body["results"]} == {"李顾问"}
    mine = next(r for r in body["results"] if r["id"] == customer.pk)
    assert mine["phone"] == "16688880001" and mine["follow_ups"] == 2
    body = api("supervisor").get(api_path(demo["main"]), {"owner": user("consultant").pk}).json()
    assert body["count"] == listed(demo["main"], user("consultant")).count()
    assert all(MASKED.match(r["phone"]) for r in body["results"])
    response = api("supervisor").get(api_path(demo["main"]), {"grade": "Z"})
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_api_export(api, demo):
    response = api("salesadmin").post(api_path(demo["main"], "intent-register/export"))
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    header, rows = sheet_rows(response.content)
    assert len(rows) == listed(demo["main"]).count()
    assert all(MASKED.match(r[header.index("手机号")]) for r in rows)
    entry = AuditEntry.objects.order_by("-id").first()
    assert entry.action == AuditAction.EXPORT and entry.actor == user("salesadmin")


def test_api_refusals(api, demo):
    for username in ("consultant", "supervisor"):
        response = api(username).post(api_path(demo["main"], "intent-register/export"))
        assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert api("planner").get(api_path(demo["main"])).status_code == 404
    assert api("supervisor").get(api_path(demo["second"])).status_code == 404
    from rest_framework.test import APIClient

    assert APIClient().get(api_path(demo["main"])).status_code == 401
