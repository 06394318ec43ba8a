"""The commission pages and API as the roles that use them: the month's statements (a
consultant sees their own), build and confirm by the manager, the xlsx, the printable
结佣函 with the total in capital numerals, the plan settings and the assist form; the
API's statements, entries and plans with the one error shape."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from loupan.audit.models import AuditEntry
from loupan.core.money import money, rmb_upper
from loupan.payments import commissions as c
from loupan.payments.models import CommissionAssist, CommissionEntry, CommissionStatement
from tests.deals.helpers import client_of, user
from tests.payments.test_commissions import STAGES, make_deal, office, pay_up_to  # noqa: F401
from tests.testing import api_client, assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture
def earned(office):  # noqa: F811 - the fixture imported above
    """A signed deal of ``consultant`` helped by ``consultant2`` at 30% received, its
    entries computed and this month's statements built (drafts)."""
    deal = make_deal()
    c.commission_assist_set(actor=user("manager"), deal=deal, colleague=user("consultant2"))
    pay_up_to(deal, money(deal.total * Decimal("0.3")))
    c.commissions_due()
    month = timezone.localdate().replace(day=1)
    c.statement_build(actor=user("manager"), project=office, month=month)
    statements = {
        s.consultant.username: s for s in CommissionStatement.objects.filter(project=office)
    }
    return {"project": office, "deal": deal, "month": month, **statements}


def url(name, project, *args):
    return reverse(f"payments:{name}", args=[project.pk, *args])


# --- pages --------------------------------------------------------------------------------


def test_the_list_as_consultant_shows_only_their_own(earned):
    project = earned["project"]
    page = client_of("consultant").get(url("commission_list", project))
    assert page.status_code == 200
    body = page.content.decode()
    assert url("commission_statement", project, earned["consultant"].pk) in body
    assert url("commission_statement", project, earned["consultant2"].pk) not in body
    assert 'id="commission-build"' not in body
    page = client_of("manager").get(url("commission_list", project))
    body = page.content.decode()
    assert url("commission_statement", project, earned["consultant2"].pk) in body
    assert 'id="commission-build"' in body
    assert client_of("planner").get(url("commission_list", project)).status_code == 404


def test_the_manager_builds_and_confirms_on_the_pages(office):  # noqa: F811
    deal = make_deal()
    pay_up_to(deal, money(deal.total * Decimal("0.3")))
    c.commissions_due()
    month = timezone.localdate().replace(day=1)
    manager = client_of("manager")
    assert (
        client_of("consultant")
        .post(url("commission_build", office), {"month": f"{month:%Y-%m}"})
        .status_code
        == 403
    )
    response = manager.post(url("commission_build", office), {"month": f"{month:%Y-%m}"})
    assert response.status_code == 302
    statement = CommissionStatement.objects.get(
        project=office, consultant=user("consultant"), month=month
    )
    page = manager.get(url("commission_statement", office, statement.pk))
    assert page.status_code == 200 and 'id="statement-confirm"' in page.content.decode()
    own = client_of("consultant").get(url("commission_statement", office, statement.pk))
    assert own.status_code == 200 and 'id="statement-confirm"' not in own.content.decode()
    assert (
        client_of("consultant").post(url("commission_confirm", office, statement.pk)).status_code
        == 403
    )
    assert (
        client_of("consultant2").get(url("commission_statement", office, statement.pk)).status_code
        == 404
    )
    response = manager.post(url("commission_confirm", office, statement.pk))
    assert response.status_code == 302
    statement.refresh_from_db()
    assert statement.status == "confirmed" and statement.confirmed_by == user("manager")


def test_the_statement_as_xlsx_is_audited(earned):
    project, statement = earned["project"], earned["consultant"]
    response = client_of("consultant").post(
        url("commission_statement", project, statement.pk) + "?format=xlsx"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "合同 / 认购书编号"
    assert rows[1][3] == "回款达30%" and Decimal(str(rows[1][9])) == statement.total
    assert rows[-1][0] == "合计"
    assert AuditEntry.objects.filter(
        action="export", object_type="payments.commissionstatement"
    ).exists()
    # a GET never exports
    page = client_of("consultant").get(
        url("commission_statement", project, statement.pk) + "?format=xlsx"
    )
    assert page["Content-Type"].startswith("text/html")


def test_the_printable_statement_shows_the_total_in_capital_numerals(earned):
    project, statement = earned["project"], earned["consultant2"]
    page = client_of("manager").get(url("commission_print", project, statement.pk))
    assert page.status_code == 200
    body = page.content.decode()
    assert "结佣函" in body and rmb_upper(statement.total) in body
    assert "置业顾问签字" in body and "销售经理审核" in body
    assert project.name in body and "协助分成" in body


def test_the_settings_page_sets_the_plan_and_shows_errors(office):  # noqa: F811
    manager = client_of("manager")
    assert manager.get(url("commission_settings", office)).status_code == 200
    assert client_of("consultant").get(url("commission_settings", office)).status_code == 403
    assert client_of("finance").get(url("commission_settings", office)).status_code == 403
    stages = c.stages_of(office)
    data = {"rate_permille": "2.5", "assist_share_pct": "20", "rows": "5"}
    for i, s in enumerate(stages):
        data.update(
            {
                f"stage_{i}_id": s.pk,
                f"stage_{i}_name": s.name,
                f"stage_{i}_event": s.event,
                f"stage_{i}_threshold_pct": s.threshold_pct or "",
                f"stage_{i}_share_pct": s.share_pct,
            }
        )
    bad = {**data, "stage_1_share_pct": "25"}
    page = manager.post(url("commission_settings", office), bad)
    assert page.status_code == 200 and "100%" in page.content.decode()
    assert c.plan_of(office).rate_permille == Decimal("3")
    bad = {**data, "stage_0_threshold_pct": ""}
    page = manager.post(url("commission_settings", office), bad)
    assert page.status_code == 200 and "回款比例" in page.content.decode()
    response = manager.post(url("commission_settings", office), data)
    assert response.status_code == 302
    plan = c.plan_of(office)
    assert plan.rate_permille == Decimal("2.5") and plan.assist_share_pct == Decimal("20")


def test_the_assist_page(office):  # noqa: F811
    deal = make_deal()
    manager = client_of("manager")
    page = manager.get(url("commission_assist", office) + f"?deal={deal.number}")
    assert page.status_code == 200 and "周顾问" in page.content.decode()
    response = manager.post(
        url("commission_assist", office),
        {"deal": deal.pk, "colleague": user("consultant2").pk},
    )
    assert response.status_code == 302
    assert CommissionAssist.objects.get(deal=deal).colleague == user("consultant2")
    response = manager.post(url("commission_assist", office), {"deal": deal.pk, "colleague": ""})
    assert response.status_code == 302 and not CommissionAssist.objects.filter(deal=deal).exists()
    assert (
        client_of("consultant")
        .post(url("commission_assist", office), {"deal": deal.pk, "colleague": ""})
        .status_code
        == 403
    )


# --- API ----------------------------------------------------------------------------------


def test_api_statements_as_roles(earned):
    project = earned["project"]
    mine = api_client(user("consultant")).get(
        "/api/v1/commission-statements/", {"project": project.pk}
    )
    assert mine.status_code == 200
    ids = {s["id"] for s in mine.json()["results"]}
    assert ids == {earned["consultant"].pk}
    all_ = api_client(user("manager")).get(
        "/api/v1/commission-statements/",
        {"project": project.pk, "month": f"{earned['month']:%Y-%m}"},
    )
    got = {s["id"]: s for s in all_.json()["results"]}
    assert set(got) >= {earned["consultant"].pk, earned["consultant2"].pk}
    row = got[earned["consultant"].pk]
    assert row["month"] == f"{earned['month']:%Y-%m}" and isinstance(row["total"], str)
    detail = api_client(user("consultant")).get(
        f"/api/v1/commission-statements/{earned['consultant'].pk}/"
    )
    assert detail.status_code == 200
    body = detail.json()
    assert body["total_upper"] == rmb_upper(earned["consultant"].total)
    assert [e["stage_name"] for e in body["entries"]] == ["回款达30%"]
    assert_error(
        api_client(user("consultant")).get(
            f"/api/v1/commission-statements/{earned['consultant2'].pk}/"
        ),
        404,
        "not_found",
    )
    assert_error(
        api_client(user("manager")).get("/api/v1/commission-statements/", {"month": "2026-13"}),
        400,
        "invalid",
        fields=["month"],
    )


def test_api_build_and_confirm(office):  # noqa: F811
    deal = make_deal()
    pay_up_to(deal, money(deal.total * Decimal("0.3")))
    c.commissions_due()
    month = f"{timezone.localdate():%Y-%m}"
    body = {"project": office.pk, "month": month, "consultant": user("consultant").pk}
    assert_error(
        api_client(user("consultant")).post(
            "/api/v1/commission-statements/build/", body, format="json"
        ),
        403,
        "permission_denied",
    )
    built = api_client(user("manager")).post(
        "/api/v1/commission-statements/build/", body, format="json"
    )
    assert built.status_code == 200, built.json()
    [statement] = built.json()
    assert statement["status"] == "draft" and Decimal(statement["total"]) > 0
    pk = statement["id"]
    assert_error(
        api_client(user("consultant")).post(f"/api/v1/commission-statements/{pk}/confirm/"),
        403,
        "permission_denied",
    )
    done = api_client(user("manager")).post(f"/api/v1/commission-statements/{pk}/confirm/")
    assert done.status_code == 200 and done.json()["status"] == "confirmed"
    assert_error(
        api_client(user("manager")).post(f"/api/v1/commission-statements/{pk}/confirm/"),
        409,
        "statement_confirmed",
    )
    assert_error(
        api_client(user("manager")).post(
            "/api/v1/commission-statements/build/",
            {"project": office.pk, "month": "2026/01"},
            format="json",
        ),
        400,
        "invalid",
        fields=["month"],
    )


def test_api_entries_are_restricted_and_filtered(earned):
    deal = earned["deal"]
    own = api_client(user("consultant2")).get("/api/v1/commission-entries/", {"deal": deal.pk})
    assert own.status_code == 200
    rows = own.json()["results"]
    assert [r["assist"] for r in rows] == [True]
    assert rows[0]["earner"] == user("consultant2").pk and isinstance(rows[0]["amount"], str)
    every = api_client(user("finance")).get("/api/v1/commission-entries/", {"deal": deal.pk})
    assert len(every.json()["results"]) == 2
    assert sum(Decimal(r["amount"]) for r in every.json()["results"]) == sum(
        e.amount for e in CommissionEntry.objects.filter(deal=deal)
    )
    unsettled = api_client(user("finance")).get(
        "/api/v1/commission-entries/", {"deal": deal.pk, "settled": "false"}
    )
    assert unsettled.json()["results"] == []
    assert_error(
        api_client(user("finance")).post("/api/v1/commission-entries/", {}, format="json"),
        405,
        "method_not_allowed",
    )


def test_api_plan_get_and_put(office):  # noqa: F811
    path = f"/api/v1/commission-plans/{office.pk}/"
    got = api_client(user("consultant")).get(path)
    assert got.status_code == 200
    plan = got.json()
    assert plan["rate_permille"] == "3.000" and len(plan["stages"]) == 3
    assert plan["stages"][0]["threshold_pct"] == "30.00"
    assert_error(api_client(user("planner")).get(path), 404, "not_found")
    new = {
        "rate_permille": "3.5",
        "assist_share_pct": "25",
        "stages": [
            {**plan["stages"][0], "share_pct": "80"},
            {**plan["stages"][1], "share_pct": "20"},
        ],
    }
    assert_error(
        api_client(user("consultant")).put(path, new, format="json"), 403, "permission_denied"
    )
    put = api_client(user("manager")).put(path, new, format="json")
    assert put.status_code == 200, put.json()
    assert put.json()["rate_permille"] == "3.500" and len(put.json()["stages"]) == 2
    bad = {**new, "stages": [{**new["stages"][0], "share_pct": "70"}, new["stages"][1]]}
    assert_error(
        api_client(user("manager")).put(path, bad, format="json"),
        400,
        "stages_sum",
        fields=["stages"],
    )
    bad = {**new, "stages": [{**new["stages"][0], "threshold_pct": None}, new["stages"][1]]}
    assert_error(
        api_client(user("manager")).put(path, bad, format="json"),
        400,
        "invalid",
        fields=["stages[0].threshold_pct"],
    )
    floats = {**new, "rate_permille": 3.5}
    assert_error(
        api_client(user("manager")).put(path, floats, format="json"),
        400,
        "invalid",
        fields=["rate_permille"],
    )


def test_the_list_page_and_api_list_do_not_grow_with_rows(earned, django_assert_max_num_queries):
    project = earned["project"]
    manager = client_of("manager")
    manager.get(url("commission_list", project))  # warm the session and permissions
    with django_assert_max_num_queries(20):
        assert manager.get(url("commission_list", project)).status_code == 200
    client = api_client(user("manager"))
    client.get("/api/v1/commission-entries/")
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/commission-entries/").status_code == 200
